'use strict';
/*
 * Writes the demo file of the zero-config install (source.type=demo), with the node of the
 * segment-server image and nothing but node's own modules:
 *
 *   node generate-demo.js --out=/data/demo.bin --size=BYTES --seed=TEXT
 *
 * The bytes are the AES-256-CTR keystream under the key SHA-256(seed), so the same seed and size
 * give the same file on every replica, on every node, every time: the servers agree about the
 * content identity without sharing a volume. The file is written beside its name and renamed
 * into place, so the server never sees half of it.
 * Exit 0: written; 2: bad arguments; 1: could not write (the reason is printed).
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const CHUNK = 1 << 20;

function parseArgs(argv) {
  const opts = { out: '', size: -1, seed: '' };
  for (const arg of argv) {
    const m = /^--(out|size|seed)=(.*)$/s.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)} (use --out=, --size=, --seed=)`);
    if (m[1] === 'size') {
      if (!/^\d+$/.test(m[2])) throw new Error(`--size must be a whole number of bytes, got ${JSON.stringify(m[2])}`);
      opts.size = Number(m[2]);
    } else opts[m[1]] = m[2];
  }
  if (!opts.out.startsWith('/')) throw new Error('--out=/absolute/path is required');
  if (opts.size < 0) throw new Error('--size=BYTES is required');
  if (!opts.seed) throw new Error('--seed=TEXT is required (source.demo.seed)');
  return opts;
}

function generate({ out, size, seed }) {
  const key = crypto.createHash('sha256').update(seed, 'utf8').digest();
  const cipher = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  const temp = path.join(path.dirname(out), `.${path.basename(out)}.generating`);
  const fd = fs.openSync(temp, 'w', 0o644);
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(CHUNK, size - written);
      const bytes = cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
      fs.writeSync(fd, bytes, 0, bytes.length, written);
      written += n;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, out);
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`generate-demo: ${err.message}`);
    return 2;
  }
  try {
    const started = Date.now();
    generate(opts);
    console.log(`generate-demo: wrote ${opts.out} (${opts.size} bytes from seed ${JSON.stringify(opts.seed)}) in ${Date.now() - started} ms`);
    return 0;
  } catch (err) {
    console.error(`generate-demo: cannot write ${opts.out}: ${err.message} (is source.demo.size within the volume's sizeLimit?)`);
    return 1;
  }
}

process.exitCode = main();
