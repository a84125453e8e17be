/** The index cache codec: a cache is used only for the very file and piece size it was made for. */
import { randomBytes } from 'node:crypto';
import { fileIndexOf, PieceGrid } from '@msd/common';
import { decodeIndexCache, encodeIndexCache, FileStamp } from './index-cache-codec';

const P = 4096;
const stamp: FileStamp = { size: BigInt(10 * P + 5), mtimeNs: 1_764_581_400_123_456_789n, dev: 2049n, ino: 131_073n };
const index = fileIndexOf(new PieceGrid(10 * P + 5, P), randomBytes(11 * 32));
const bytes = encodeIndexCache(stamp, index);

function reason(b: Buffer, s: FileStamp = stamp, pieceSize = P): string {
  const r = decodeIndexCache(b, s, pieceSize);
  if (!('reason' in r)) throw new Error('the cache was accepted');
  return r.reason;
}

describe('index cache codec', () => {
  it('gives back the index it saved, for the same file', () => {
    const r = decodeIndexCache(bytes, { ...stamp }, P);
    expect('index' in r && r.index.digests.equals(index.digests) && r.index.contentId.equals(index.contentId)).toBe(true);
  });

  it.each([
    ['size', { ...stamp, size: stamp.size + 1n }, /size 40965 -> 40966/],
    ['mtime', { ...stamp, mtimeNs: stamp.mtimeNs + 1n }, /modified 2025-12-01T09:30:00\.123456789Z -> 2025-12-01T09:30:00\.123456790Z/],
    ['inode', { ...stamp, ino: 7n }, /another file \(device:inode 2049:131073, this file is 2049:7\)/],
    ['device', { ...stamp, dev: 5n }, /another file/],
  ])('is refused when the %s differs', (_what, s, why) => {
    expect(reason(bytes, s)).toMatch(why);
  });

  it('is refused for another piece size', () => {
    expect(reason(bytes, stamp, 2 * P)).toBe('it was made for piece size 4096 (this server uses 8192)');
  });

  it('is refused when any byte is damaged, truncated, or not a cache at all', () => {
    for (const at of [9, 20, 60, 100, bytes.length - 1]) {
      const d = Buffer.from(bytes);
      d[at] ^= 1;
      expect(reason(d)).toMatch(/damaged|format version/);
    }
    expect(reason(bytes.subarray(0, bytes.length - 32))).toMatch(/damaged/);
    expect(reason(Buffer.from('hello'))).toMatch(/not an index cache/);
    expect(reason(Buffer.alloc(200))).toMatch(/not an index cache/);
  });
});
