import { DIGEST_SIZE } from '@msd/common';
import { SetFiles } from './set-files';
import { SetLayout } from './set-layout';

const P = 10;
const layout = new SetLayout([25, 0, 10, 5].map((size, i) => ({ name: `f${i}`, size, contentId: Buffer.alloc(32), digests: Buffer.alloc(Math.ceil(size / P) * DIGEST_SIZE) })), P);
// pieces: f0 = 0,1,2; f1 none; f2 = 3; f3 = 4

describe('SetFiles', () => {
  test('a file is ready when its last piece is verified; 0-byte files are ready at once', () => {
    const s = new SetFiles(layout, () => false);
    expect([...s.ready()]).toEqual([1]);
    expect(s.done(0)).toBeUndefined();
    expect(s.done(1)).toBeUndefined();
    expect(s.done(2)).toBe(0);
    expect(s.done(4)).toBe(3);
    expect([...s.ready()]).toEqual([0, 1, 3]);
  });

  test('placing then placed, once each; all placed at the end', () => {
    const s = new SetFiles(layout, (p) => p !== 3);
    expect([...s.ready()]).toEqual([0, 1, 3]);
    for (const f of [0, 1, 3]) { s.placing(f); s.placed(f); }
    expect(s.allPlaced).toBe(false);
    expect(() => s.placing(2)).toThrow(/not ready/);
    expect(s.done(3)).toBe(2);
    s.placing(2);
    expect(() => s.placing(2)).toThrow(/not ready/);
    s.placed(2);
    expect(() => s.placed(2)).toThrow(/not being put into place/);
    expect(s.allPlaced).toBe(true);
    expect(s.complete).toBe(4);
  });

  test('a piece taken back makes its file wait again, and drops its read-back verdict; never after the file went', () => {
    const s = new SetFiles(layout, () => true);
    s.readBackDone(0);
    s.undone(1);
    expect(s.isReady(0)).toBe(false);
    expect(s.readBack(0)).toBe(false);
    expect(s.done(1)).toBe(0);
    s.placing(3);
    expect(() => s.undone(4)).toThrow(/after the file went into place/);
  });

  test('progress: files, complete, and the files in flight with their bytes', () => {
    const s = new SetFiles(layout, (p) => p === 0);
    s.placing(1);
    s.placed(1);
    const v = s.progress([0, 2], (p) => (p === 0 ? 10 : p === 1 ? 4 : 0));
    expect(v).toEqual({ files: 4, filesComplete: 1, inFlight: [{ name: 'f0', size: 25, bytesDone: 14 }, { name: 'f2', size: 10, bytesDone: 0 }] });
  });
});
