/** The piece grid: edge sizes, runs that cover every piece once, segment labels, content identity. */
import { createHash } from 'node:crypto';
import { contentIdentity, digestAt, PieceGrid } from './piece-grid';

const P = 1024 * 1024;

function checkGrid(size: number, pieceSize: number): void {
  const g = new PieceGrid(size, pieceSize);
  expect(g.count).toBe(Math.ceil(size / pieceSize));
  let next = 0;
  for (let p = 0; p < g.count; p++) {
    expect(g.start(p)).toBe(next);
    expect(g.length(p)).toBeGreaterThan(0);
    expect(g.length(p)).toBeLessThanOrEqual(pieceSize);
    if (p < g.count - 1) expect(g.length(p)).toBe(pieceSize);
    expect(g.end(p)).toBe(g.start(p) + g.length(p));
    next = g.end(p);
  }
  expect(next).toBe(size);
}

describe('PieceGrid', () => {
  it.each([
    ['empty', 0, 0],
    ['one byte', 1, 1],
    ['piece - 1', P - 1, 1],
    ['one piece', P, 1],
    ['piece + 1', P + 1, 2],
    ['two pieces', 2 * P, 2],
    ['1 GiB', 1024 * P, 1024],
  ])('%s: %d bytes -> %d pieces covering the file exactly', (_what, size, count) => {
    expect(new PieceGrid(size, P).count).toBe(count);
    checkGrid(size, P);
  });

  it('handles offsets above 2^32 without 32-bit wrap-around', () => {
    const size = 5 * 2 ** 32 + 12345;
    const g = new PieceGrid(size, P);
    expect(g.count).toBe(5 * 4096 + 1);
    const last = g.count - 1;
    expect(g.start(last)).toBe(5 * 2 ** 32);
    expect(g.length(last)).toBe(12345);
    expect(g.end(last)).toBe(size);
    expect(g.start(4096)).toBe(2 ** 32);
  });

  it('works for sizes near 2^53 with large pieces', () => {
    const size = 2 ** 53 - 1;
    const g = new PieceGrid(size, 64 * P);
    expect(g.end(g.count - 1)).toBe(size);
    expect(g.length(g.count - 1)).toBe(size - (g.count - 1) * 64 * P);
  });

  it('covers exactly for many odd piece sizes', () => {
    for (const ps of [1, 3, 7, 4096, 16384, 65537]) for (const size of [0, 1, ps - 1, ps, ps + 1, 10 * ps + 3]) checkGrid(size, ps);
  });

  it.each([[-1, P], [1.5, P], [Number.NaN, P], [2 ** 53, P], [10, 0], [10, -1], [10, 0.5]])('rejects size %d with piece size %d', (size, ps) => {
    expect(() => new PieceGrid(size, ps)).toThrow(RangeError);
  });

  it('runs of N workers partition the pieces in order, for any count', () => {
    for (const count of [0, 1, 2, 3, 4, 5, 7, 100, 1001]) {
      const g = new PieceGrid(count * 16384, 16384);
      for (const n of [1, 2, 3, 4, 8, 13]) {
        let next = 0;
        for (let i = 0; i < n; i++) {
          const r = g.run(i, n);
          expect(r.first).toBe(next);
          expect(r.end).toBeGreaterThanOrEqual(r.first);
          const len = r.end - r.first;
          expect(len === Math.floor(count / n) || len === Math.ceil(count / n)).toBe(true);
          next = r.end;
        }
        expect(next).toBe(count);
      }
    }
  });

  it('segmentOf is the run a piece starts in, bounded by the segment count', () => {
    for (const count of [1, 2, 3, 10, 1000]) {
      const g = new PieceGrid(count * 100, 100);
      for (const n of [1, 2, 4, 7]) {
        for (let i = 0; i < n; i++) {
          const r = g.run(i, n);
          for (let p = r.first; p < r.end; p++) expect(g.segmentOf(p, n)).toBe(i);
        }
      }
    }
    expect(new PieceGrid(0, 100).segmentOf(0, 4)).toBe(0);
  });
});

describe('content identity', () => {
  const digests = Buffer.concat([0, 1, 2].map((i) => createHash('sha256').update(String(i)).digest()));

  it('is SHA-256 over (u64 size, u32 piece size, digests)', () => {
    const head = Buffer.from('000000010000000500100000', 'hex');
    const want = createHash('sha256').update(head).update(digests).digest();
    expect(contentIdentity(2 ** 32 + 5, P, digests)).toEqual(want);
  });

  it('changes with size, piece size, or any digest', () => {
    const base = contentIdentity(3 * P, P, digests);
    expect(contentIdentity(3 * P - 1, P, digests)).not.toEqual(base);
    expect(contentIdentity(3 * P, P / 2, digests)).not.toEqual(base);
    const other = Buffer.from(digests);
    other[40] ^= 1;
    expect(contentIdentity(3 * P, P, other)).not.toEqual(base);
    expect(contentIdentity(3 * P, P, digests)).toEqual(base);
  });

  it('of an empty file is well defined', () => {
    expect(contentIdentity(0, P, Buffer.alloc(0))).toEqual(createHash('sha256').update(Buffer.from('000000000000000000100000', 'hex')).digest());
  });

  it('digestAt slices piece digests without copying', () => {
    expect(digestAt(digests, 1)).toEqual(digests.subarray(32, 64));
    expect(digestAt(digests, 2).buffer).toBe(digests.buffer);
  });
});
