'use strict';
/**
 * The file every case downloads: random bytes written to disk (or a sparse file of zeros,
 * for sizes larger than the disk should hold), its SHA-256, and a read that leaves it warm
 * in the page cache.
 */
const fs = require('node:fs');
const crypto = require('node:crypto');

const CHUNK = 8 * 1024 * 1024;

/** @param {string} file @param {number} size writes `size` random bytes */
function writeRandomFile(file, size) {
  const buf = Buffer.allocUnsafe(CHUNK);
  const fd = fs.openSync(file, 'w', 0o644);
  try {
    for (let off = 0; off < size; off += CHUNK) {
      const n = Math.min(CHUNK, size - off);
      crypto.randomFillSync(buf, 0, n);
      fs.writeSync(fd, buf, 0, n, off);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** @param {string} file @param {number} size a file of `size` zero bytes taking no disk space */
function writeSparseFile(file, size) {
  const fd = fs.openSync(file, 'w', 0o644);
  try {
    fs.ftruncateSync(fd, size);
  } finally {
    fs.closeSync(fd);
  }
}

/** @param {string} file @returns {Promise<string>} hex SHA-256; reading it also warms the page cache */
async function sha256File(file) {
  const hash = crypto.createHash('sha256');
  const stream = fs.createReadStream(file, { highWaterMark: CHUNK });
  for await (const chunk of stream) hash.update(/** @type {Buffer} */ (chunk));
  return hash.digest('hex');
}

/**
 * @param {{file: string, size: number, sparse: boolean}} o
 * @returns {Promise<{file: string, size: number, sparse: boolean, sha256: string}>}
 */
async function makeTestFile(o) {
  if (o.sparse) writeSparseFile(o.file, o.size);
  else writeRandomFile(o.file, o.size);
  const sha256 = await sha256File(o.file); // reads it once: warm in the page cache
  return { file: o.file, size: o.size, sparse: o.sparse, sha256 };
}

module.exports = { makeTestFile, sha256File };
