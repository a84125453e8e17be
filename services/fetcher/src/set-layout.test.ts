import { randomBytes } from 'node:crypto';
import { DIGEST_SIZE, digestAt, PieceGrid } from '@msd/common';
import { SetEntry, SetLayout } from './set-layout';

const P = 100;
const entry = (name: string, size: number): SetEntry => ({ name, size, contentId: randomBytes(32), digests: randomBytes(Math.ceil(size / P) * DIGEST_SIZE) });

describe('SetLayout', () => {
  // sizes: 250 (3 pieces, last 50), 0 (none), 100 (1 full), 0, 1 (1 of 1 byte), 0 at the end
  const files = [entry('a', 250), entry('b', 0), entry('c', 100), entry('d', 0), entry('e', 1), entry('f', 0)];
  const l = new SetLayout(files, P);

  test('lays the files end to end: counts, sizes, each piece in exactly one file', () => {
    expect(l.count).toBe(5);
    expect(l.size).toBe(351);
    expect([0, 1, 2, 3, 4].map((p) => l.fileOf(p))).toEqual([0, 0, 0, 2, 4]);
    expect([0, 1, 2, 3, 4].map((p) => l.length(p))).toEqual([100, 100, 50, 100, 1]);
    expect([0, 1, 2, 3, 4].map((p) => l.offsetInFile(p))).toEqual([0, 100, 200, 0, 0]);
    expect(files.map((_, f) => l.piecesOf(f))).toEqual([{ first: 0, end: 3 }, { first: 3, end: 3 }, { first: 3, end: 4 }, { first: 4, end: 4 }, { first: 4, end: 5 }, { first: 5, end: 5 }]);
    let bytes = 0;
    for (let p = 0; p < l.count; p++) bytes += l.length(p);
    expect(bytes).toBe(l.size);
  });

  test('digests in set order: piece g of the set has its file piece\'s digest', () => {
    expect(digestAt(l.digests, 3).equals(digestAt(files[2].digests, 0))).toBe(true);
    expect(digestAt(l.digests, 4).equals(digestAt(files[4].digests, 0))).toBe(true);
    expect(digestAt(l.digests, 2).equals(digestAt(files[0].digests, 2))).toBe(true);
  });

  test('one file is exactly that file\'s PieceGrid', () => {
    const one = new SetLayout([entry('x', 1030)], P);
    const grid = new PieceGrid(1030, P);
    expect(one.count).toBe(grid.count);
    for (let p = 0; p < grid.count; p++) {
      expect([one.start(p), one.length(p), one.end(p), one.offsetInFile(p), one.fileOf(p)]).toEqual([grid.start(p), grid.length(p), grid.end(p), grid.start(p), 0]);
    }
    for (let k = 0; k < 4; k++) expect(one.run(k, 4)).toEqual(grid.run(k, 4));
  });

  test('1,000 one-piece files split across 4 workers as evenly as one 1,000-piece file', () => {
    const many = new SetLayout(Array.from({ length: 1000 }, (_, i) => entry(`f${i}`, P)), P);
    const big = new SetLayout([entry('big', 1000 * P)], P);
    for (let k = 0; k < 4; k++) expect(many.run(k, 4)).toEqual(big.run(k, 4));
    expect(many.fileOf(999)).toBe(999);
    expect(many.fileOf(500)).toBe(500);
  });

  test('the identity changes with any name, size or content, and not otherwise', () => {
    const same = new SetLayout(files.map((f) => ({ ...f })), P);
    expect(same.identity().equals(l.identity())).toBe(true);
    const renamed = new SetLayout(files.map((f, i) => (i === 2 ? { ...f, name: 'c2' } : f)), P);
    expect(renamed.identity().equals(l.identity())).toBe(false);
    const other = new SetLayout(files.map((f, i) => (i === 0 ? { ...f, contentId: randomBytes(32) } : f)), P);
    expect(other.identity().equals(l.identity())).toBe(false);
  });

  test('refuses digests that do not fit the size', () => {
    expect(() => new SetLayout([{ ...entry('a', 250), digests: Buffer.alloc(2 * DIGEST_SIZE) }], P)).toThrow(/2 digests for 3 pieces/);
  });
});
