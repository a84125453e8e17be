/** ResumedCheck: every kept piece hashed once, bad ones handed back, bounded concurrency, errors stop it. */
import { ResumedCheck } from './resumed-check';

function controlled(): { check: (p: number) => Promise<boolean>; settle: (p: number, ok: boolean | Error) => Promise<void>; asked: number[]; open: () => number } {
  const waiting = new Map<number, { resolve: (ok: boolean) => void; reject: (e: Error) => void }>();
  const asked: number[] = [];
  return {
    asked,
    check: (p) => new Promise((resolve, reject) => { asked.push(p); waiting.set(p, { resolve, reject }); }),
    settle: async (p, r) => {
      const w = waiting.get(p)!;
      waiting.delete(p);
      if (r instanceof Error) w.reject(r);
      else w.resolve(r);
      await new Promise((r2) => setImmediate(r2));
    },
    open: () => waiting.size,
  };
}

describe('ResumedCheck', () => {
  it('checks every piece, at most `concurrency` at once, hands back the bad ones, then finishes', async () => {
    const c = controlled();
    const bad: number[] = [];
    let finished = 0;
    const rc = new ResumedCheck([1, 2, 3, 4, 5], { check: c.check, bad: (p) => bad.push(p), finished: () => finished++, failed: () => { throw new Error('no failure expected'); } }, 2);
    rc.start();
    expect(c.asked).toEqual([1, 2]);
    await c.settle(1, true);
    expect(c.asked).toEqual([1, 2, 3]);
    await c.settle(2, false);
    await c.settle(3, true);
    await c.settle(4, true);
    expect(finished).toBe(0);
    expect(c.open()).toBe(1);
    await c.settle(5, false);
    expect(bad).toEqual([2, 5]);
    expect(rc.badPieces).toBe(2);
    expect(finished).toBe(1);
    expect(rc.done).toBe(true);
  });

  it('finishes at once when there is nothing to check', () => {
    let finished = 0;
    const rc = new ResumedCheck([], { check: () => Promise.resolve(true), bad: () => undefined, finished: () => finished++, failed: () => undefined });
    rc.start();
    expect(finished).toBe(1);
    expect(rc.done).toBe(true);
  });

  it('stops at the first read error and reports it, never as a bad piece', async () => {
    const c = controlled();
    const bad: number[] = [];
    const errors: Error[] = [];
    const rc = new ResumedCheck([1, 2, 3], { check: c.check, bad: (p) => bad.push(p), finished: () => undefined, failed: (e) => errors.push(e) }, 1);
    rc.start();
    await c.settle(1, new Error('EIO'));
    expect(errors.map((e) => e.message)).toEqual(['EIO']);
    expect(bad).toEqual([]);
    expect(c.asked).toEqual([1]); // nothing more is asked
    expect(rc.done).toBe(false);
  });

  it('ignores answers that come after stop()', async () => {
    const c = controlled();
    const bad: number[] = [];
    const rc = new ResumedCheck([1, 2], { check: c.check, bad: (p) => bad.push(p), finished: () => undefined, failed: () => undefined }, 2);
    rc.start();
    rc.stop();
    await c.settle(1, false);
    expect(bad).toEqual([]);
  });
});
