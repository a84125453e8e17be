/** PieceMap: contiguous progress per piece, generations that fence off stale writers, verification states. */
import { Bitfield, PieceGrid } from '@msd/common';
import { PieceMap } from './piece-map';

const grid = new PieceGrid(10 * 100 + 30, 100); // 11 pieces, the last one 30 bytes

describe('PieceMap', () => {
  it('starts empty', () => {
    const m = new PieceMap(grid);
    expect(m.complete).toBe(false);
    expect(m.doneBytes).toBe(0);
    expect(m.pendingBytes).toBe(0);
    expect(m.partials().size).toBe(0);
    expect(m.generation(0)).toBe(0);
  });

  it('advance grows have only by contiguous writes of the current generation', () => {
    const m = new PieceMap(grid);
    m.advance(0, 0, 0, 40);
    expect(m.haveBytes(0)).toBe(40);
    m.advance(0, 0, 60, 80); // a gap: not counted
    expect(m.haveBytes(0)).toBe(40);
    m.advance(0, 0, 20, 30); // behind: not counted, never shrinks
    expect(m.haveBytes(0)).toBe(40);
    m.advance(0, 0, 30, 70); // overlapping and beyond: counted up to its end
    expect(m.haveBytes(0)).toBe(70);
    m.advance(0, 1, 70, 100); // a writer of another generation: ignored
    expect(m.haveBytes(0)).toBe(70);
    m.advance(0, 0, 70, 100);
    expect(m.isWhole(0)).toBe(true);
    expect(m.pendingBytes).toBe(100);
  });

  it('reset starts the piece over and fences off writers of the old generation', () => {
    const m = new PieceMap(grid);
    m.advance(3, 0, 0, 100);
    expect(m.beginVerify(3)).toBe(true);
    m.reset(3);
    expect(m.generation(3)).toBe(1);
    expect(m.haveBytes(3)).toBe(0);
    expect(m.isVerifying(3)).toBe(false);
    m.advance(3, 0, 0, 50); // a late writer from the failed attempt
    expect(m.haveBytes(3)).toBe(0);
    m.advance(3, 1, 0, 50);
    expect(m.haveBytes(3)).toBe(50);
    m.reset(3);
    m.reset(3);
    expect(m.generation(3)).toBe(3);
  });

  it('verification: begins once, not for a done piece; markDone counts bytes once', () => {
    const m = new PieceMap(grid);
    m.advance(10, 0, 0, 30);
    expect(m.isWhole(10)).toBe(true); // the short last piece
    expect(m.beginVerify(10)).toBe(true);
    expect(m.beginVerify(10)).toBe(false);
    expect(m.isVerifying(10)).toBe(true);
    m.markDone(10);
    expect(m.isVerifying(10)).toBe(false);
    expect(m.isDone(10)).toBe(true);
    expect(m.doneBytes).toBe(30);
    expect(m.haveBytes(10)).toBe(0);
    expect(m.beginVerify(10)).toBe(false);
    m.markDone(10);
    expect(m.doneBytes).toBe(30);
    expect(m.pendingBytes).toBe(0);
  });

  it('is complete when every piece is done, and doneBytes is the file size', () => {
    const m = new PieceMap(grid);
    for (let p = 0; p < grid.count; p++) m.markDone(p);
    expect(m.complete).toBe(true);
    expect(m.doneBytes).toBe(grid.size);
  });

  it('an empty file is complete from the start', () => {
    const m = new PieceMap(new PieceGrid(0, 100));
    expect(m.complete).toBe(true);
    expect(m.doneBytes).toBe(0);
  });

  it('restores done pieces and partial progress from a resume state, defensively', () => {
    const done = new Bitfield(grid.count);
    done.set(0);
    done.set(10);
    const partial = new Map([[1, 40], [2, 1000], [0, 50], [99, 10], [10, 5], [4, 100]]);
    const m = new PieceMap(grid, done, partial);
    expect(m.doneBytes).toBe(130);
    expect(m.haveBytes(1)).toBe(40);
    expect(m.haveBytes(2)).toBe(100); // clamped to the piece
    expect(m.haveBytes(0)).toBe(0); // done pieces keep no partial
    expect(m.haveBytes(4)).toBe(100);
    expect(m.isWhole(4)).toBe(true); // written but not verified before the crash: only the check is missing
    expect(m.partials()).toEqual(new Map([[1, 40], [2, 100], [4, 100]]));
    expect(m.pendingBytes).toBe(240);
  });

  it('does not share the bitfield it was given', () => {
    const done = new Bitfield(grid.count);
    const m = new PieceMap(grid, done);
    m.markDone(5);
    expect(done.has(5)).toBe(false);
  });

  it('partials lists unverified progress only, sorted by piece', () => {
    const m = new PieceMap(grid);
    m.advance(7, 0, 0, 10);
    m.advance(2, 0, 0, 20);
    m.advance(5, 0, 0, 100);
    m.markDone(5);
    expect([...m.partials()]).toEqual([[2, 20], [7, 10]]);
  });
});
