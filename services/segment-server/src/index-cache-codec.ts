/**
 * The index cache file: a file's piece digests saved with what identifies the file they were made
 * from, so a restart can serve at once. Pure encoding, no I/O. Layout (big-endian):
 *
 *   0  8  magic "MSDINDEX"          48 32  content identity
 *   8  4  format version (1)        80 32N piece digests
 *  12  4  piece size              end 32  SHA-256 of all bytes before it
 *  16  8  file size
 *  24  8  modification time, ns since the epoch
 *  32  8  device      40  8  inode
 *
 * Bound to size, mtime, device and inode, not to ctime: Kubernetes changes ownership and mode of
 * every file of a volume at mount (fsGroup), which moves ctime at each pod start, not the bytes.
 */
import { createHash } from 'node:crypto';
import { DIGEST_SIZE, FileIndex, fileIndexOf, PieceGrid } from '@msd/common';

const MAGIC = Buffer.from('MSDINDEX', 'latin1');
export const INDEX_CACHE_VERSION = 1;
const HEADER = 80;

/** What identifies the bytes of a file on one host: fstat with bigint fields. */
export interface FileStamp {
  size: bigint;
  mtimeNs: bigint;
  dev: bigint;
  ino: bigint;
}

export function encodeIndexCache(stamp: FileStamp, index: FileIndex): Buffer {
  const b = Buffer.alloc(HEADER + index.digests.length + DIGEST_SIZE);
  MAGIC.copy(b, 0);
  b.writeUInt32BE(INDEX_CACHE_VERSION, 8);
  b.writeUInt32BE(index.pieceSize, 12);
  b.writeBigUInt64BE(stamp.size, 16);
  b.writeBigUInt64BE(stamp.mtimeNs, 24);
  b.writeBigUInt64BE(stamp.dev, 32);
  b.writeBigUInt64BE(stamp.ino, 40);
  index.contentId.copy(b, 48);
  index.digests.copy(b, HEADER);
  createHash('sha256').update(b.subarray(0, b.length - DIGEST_SIZE)).digest().copy(b, b.length - DIGEST_SIZE);
  return b;
}

/** The index the cache holds for this file and piece size, or why it cannot be used (one line). */
export function decodeIndexCache(b: Buffer, stamp: FileStamp, pieceSize: number): { index: FileIndex } | { reason: string } {
  if (b.length < HEADER + DIGEST_SIZE || !b.subarray(0, 8).equals(MAGIC)) return { reason: 'it is not an index cache (too short or no MSDINDEX magic)' };
  const version = b.readUInt32BE(8);
  if (version !== INDEX_CACHE_VERSION) return { reason: `it has format version ${version} (this build reads ${INDEX_CACHE_VERSION})` };
  const sum = createHash('sha256').update(b.subarray(0, b.length - DIGEST_SIZE)).digest();
  if (!sum.equals(b.subarray(b.length - DIGEST_SIZE))) return { reason: 'it is damaged (its checksum does not match its bytes)' };
  const cachedPiece = b.readUInt32BE(12);
  if (cachedPiece !== pieceSize) return { reason: `it was made for piece size ${cachedPiece} (this server uses ${pieceSize})` };
  const dev = b.readBigUInt64BE(32);
  const ino = b.readBigUInt64BE(40);
  if (dev !== stamp.dev || ino !== stamp.ino) return { reason: `it was made for another file (device:inode ${dev}:${ino}, this file is ${stamp.dev}:${stamp.ino})` };
  const size = b.readBigUInt64BE(16);
  if (size !== stamp.size) return { reason: `the file changed since it was indexed (size ${size} -> ${stamp.size})` };
  const mtimeNs = b.readBigUInt64BE(24);
  if (mtimeNs !== stamp.mtimeNs) return { reason: `the file changed since it was indexed (modified ${isoNs(mtimeNs)} -> ${isoNs(stamp.mtimeNs)})` };
  const grid = new PieceGrid(Number(size), pieceSize);
  if (b.length !== HEADER + grid.count * DIGEST_SIZE + DIGEST_SIZE) return { reason: `it holds ${(b.length - HEADER - DIGEST_SIZE) / DIGEST_SIZE} digests, not the ${grid.count} of the file` };
  // a copy: the index outlives the buffer it was read into, and must not pin it
  const digests = Buffer.from(b.subarray(HEADER, HEADER + grid.count * DIGEST_SIZE));
  const index = fileIndexOf(grid, digests);
  if (!index.contentId.equals(b.subarray(48, 80))) return { reason: 'its content identity is not that of its digests' };
  return { index };
}

function isoNs(ns: bigint): string {
  return `${new Date(Number(ns / 1_000_000n)).toISOString().replace('Z', '')}${String(ns % 1_000_000n).padStart(6, '0')}Z`;
}
