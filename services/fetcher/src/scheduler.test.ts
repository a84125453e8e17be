/**
 * The scheduler, step by step: initial runs, orphans, stealing by estimated time left, blame,
 * end game, static mode. (scheduler-simulation.test.ts drives it to completion with simulated speeds.)
 */
import { PieceGrid } from '@msd/common';
import { Assignment, Scheduler, SchedulerOptions } from './scheduler';

const all = (): boolean => true;

/** Calls next() until it returns undefined (at most `max` times). */
function drain(s: Scheduler, w: number, max = 10_000): Assignment[] {
  const out: Assignment[] = [];
  for (let i = 0; i < max; i++) {
    const a = s.next(w);
    if (!a) break;
    out.push(a);
  }
  return out;
}

/** Takes and completes every piece still queued for the worker (its own run), like a connection running dry. */
function finishOwn(s: Scheduler, w: number): number[] {
  const got: number[] = [];
  for (let n = s.remaining(w); n > 0; n--) {
    const a = s.next(w)!;
    expect(a.reason).toBe('own');
    s.finished(a.piece, w);
    s.completed(a.piece);
    got.push(a.piece);
  }
  return got;
}

/** Takes the worker's own pieces, in order, leaving them in flight (not completed). */
function takeOwn(s: Scheduler, w: number, n: number): number[] {
  const got: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = s.next(w)!;
    expect(a.reason).toBe('own');
    got.push(a.piece);
  }
  return got;
}

/** Reports measured speeds for workers 0, 1, ... in order. */
function setSpeeds(s: Scheduler, ...speeds: number[]): void {
  speeds.forEach((v, w) => s.setSpeed(w, v));
}

function make(count: number, workers: number, opts: SchedulerOptions = { steal: true }, pending: (p: number) => boolean = all): Scheduler {
  return new Scheduler(new PieceGrid(count, 1), Array.from({ length: workers }, (_, i) => i), pending, opts);
}

describe('initial runs', () => {
  it.each([
    [0, 4], [1, 4], [3, 4], [4, 4], [10, 3], [100, 4], [1001, 7], [5, 1],
  ])('%d pieces over %d workers: contiguous runs in worker order, every piece exactly once', (count, n) => {
    const s = make(count, n, { steal: false });
    const seen = new Set<number>();
    let next = 0;
    for (let w = 0; w < n; w++) {
      const got = drain(s, w).map((a) => { expect(a.reason).toBe('own'); return a.piece; });
      // the i-th contiguous run, in ascending order
      expect(got).toEqual(Array.from({ length: got.length }, (_, i) => next + i));
      expect(Math.abs(got.length - count / n)).toBeLessThan(1);
      next += got.length;
      for (const p of got) {
        expect(seen.has(p)).toBe(false);
        seen.add(p);
      }
    }
    expect(seen.size).toBe(count);
  });

  it('skips pieces already verified (resume) and keeps the runs where they were', () => {
    const done = new Set([0, 1, 2, 5, 9, 10, 11]);
    const s = make(12, 3, { steal: false }, (p) => !done.has(p));
    expect(drain(s, 0).map((a) => a.piece)).toEqual([3]);
    expect(drain(s, 1).map((a) => a.piece)).toEqual([4, 6, 7]);
    expect(drain(s, 2).map((a) => a.piece)).toEqual([8]);
    expect(s.remaining(0) + s.remaining(1) + s.remaining(2)).toBe(0);
  });

  it('counts what is still queued per worker', () => {
    const s = make(10, 2);
    expect([s.remaining(0), s.remaining(1)]).toEqual([5, 5]);
    s.next(0);
    expect(s.remaining(0)).toBe(4);
    expect(s.remaining(99)).toBe(0);
  });

  it('a worker with no run still gets work (fewer pieces than workers)', () => {
    const s = make(2, 4);
    const got = [0, 1, 2, 3].map((w) => s.next(w));
    expect(got.filter((a) => a?.reason === 'own').map((a) => a!.piece).sort()).toEqual([0, 1]);
  });

  it('knows nothing about unknown or dead workers', () => {
    const s = make(10, 2);
    expect(s.next(7)).toBeUndefined();
    s.down(1);
    expect(s.next(1)).toBeUndefined();
    expect(s.isAlive(1)).toBe(false);
    expect(s.isAlive(7)).toBe(false);
  });
});

describe('holders', () => {
  it('tracks who holds a piece, and forgets on finished/completed', () => {
    const s = make(4, 2);
    const a = s.next(0)!;
    expect(s.copies(a.piece)).toBe(1);
    expect(s.holders(a.piece)).toEqual([0]);
    s.finished(a.piece, 0);
    expect(s.copies(a.piece)).toBe(0);
    s.finished(a.piece, 0); // twice is harmless
    s.finished(3, 1); // never held: harmless
    const b = s.next(1)!;
    s.completed(b.piece);
    expect(s.copies(b.piece)).toBe(0);
  });
});

describe('speeds', () => {
  it('median of live, measured workers', () => {
    const s = make(10, 5);
    expect(s.medianSpeed()).toBe(0);
    s.setSpeed(0, 10);
    expect(s.medianSpeed()).toBe(10);
    s.setSpeed(1, 30);
    expect(s.medianSpeed()).toBe(20);
    s.setSpeed(2, 100);
    expect(s.medianSpeed()).toBe(30);
    s.down(2);
    expect(s.medianSpeed()).toBe(20);
    expect(s.speedOf(2)).toBe(0); // a dead worker's speed is forgotten
    s.setSpeed(99, 5); // unknown worker: ignored
    expect(s.medianSpeed()).toBe(20);
  });
});

describe('orphans', () => {
  it('a dead worker\'s queued pieces are re-served, lowest first, to the living', () => {
    const s = make(12, 3);
    const inFlight = takeOwn(s, 0, 2); // 0, 1 on the wire
    s.down(0);
    expect(s.orphanCount).toBe(2); // 2 and 3
    // its in-flight pieces come back when the connection reports them failed
    for (const p of inFlight) s.release(p, 0);
    expect(s.orphanCount).toBe(4);
    expect(finishOwn(s, 1)).toEqual([4, 5, 6, 7]);
    expect([0, 1, 2, 3].map(() => s.next(1))).toEqual([0, 1, 2, 3].map((piece) => ({ piece, reason: 'orphan' })));
    expect(s.orphanCount).toBe(0);
    expect(s.next(0)).toBeUndefined();
  });

  it('the orphaned pieces appear in the right order and nothing is lost', () => {
    const s = make(12, 3);
    takeOwn(s, 0, 1);
    s.down(0);
    s.release(0, 0);
    const own1 = takeOwn(s, 1, 4);
    expect(own1).toEqual([4, 5, 6, 7]);
    const rest = drain(s, 1);
    expect(rest.slice(0, 4)).toEqual([0, 1, 2, 3].map((piece) => ({ piece, reason: 'orphan' })));
  });

  it('a released piece still held by another worker (a hedge) is not orphaned', () => {
    const s = make(2, 2);
    setSpeeds(s, 1, 10);
    takeOwn(s, 0, 1); // 0
    finishOwn(s, 1); // 1 done
    const h = s.next(1)!;
    expect(h).toEqual({ piece: 0, reason: 'hedge' });
    expect(s.copies(0)).toBe(2);
    s.release(0, 0);
    expect(s.orphanCount).toBe(0);
    expect(s.holders(0)).toEqual([1]);
    s.release(0, 1);
    expect(s.orphanCount).toBe(1);
  });

  it('a completed piece leaves the orphan pool', () => {
    const s = make(4, 2);
    takeOwn(s, 0, 1);
    s.release(0, 0);
    expect(s.orphanCount).toBe(1);
    s.completed(0);
    expect(s.orphanCount).toBe(0);
  });

  it('a worker that comes back up gets work again', () => {
    const s = make(8, 2);
    s.down(0);
    expect(s.next(0)).toBeUndefined();
    s.up(0);
    expect(s.isAlive(0)).toBe(true);
    expect(s.next(0)).toEqual({ piece: 0, reason: 'orphan' });
  });
});

describe('blame (a piece that failed verification)', () => {
  function setup(): Scheduler {
    const s = make(2, 2);
    takeOwn(s, 0, 1); // piece 0 on worker 0
    takeOwn(s, 1, 1); // piece 1 on worker 1
    s.release(0, 0, true); // worker 0 sent a bad piece 0
    return s;
  }

  it('goes to another live worker, not back to the one that sent it bad', () => {
    const s = setup();
    expect(s.next(0)).toBeUndefined();
    expect(s.next(1)).toEqual({ piece: 0, reason: 'orphan' });
  });

  it('goes back to the blamed worker only when no other live worker could take it', () => {
    const s = setup();
    s.down(1);
    s.release(1, 1);
    const got = drain(s, 0).map((a) => a.piece).sort();
    expect(got).toEqual([0, 1]);
  });

  it('a piece blamed on every live worker is still served (never stuck)', () => {
    const s = setup();
    s.next(1); // worker 1 takes 0...
    s.release(0, 1, true); // ...and it is bad again
    const a = s.next(0) ?? s.next(1);
    expect(a?.piece).toBe(0);
  });

  it('blame is forgotten once the piece is verified', () => {
    const s = setup();
    s.completed(0);
    expect(s.orphanCount).toBe(0);
  });
});

describe('stealing by estimated time left', () => {
  it('a slow worker loses most of its run to a fast one', () => {
    const s = make(90, 3);
    setSpeeds(s, 1, 4, 4);
    finishOwn(s, 1);
    // worker 1 is dry: the victim is worker 0 (30 pieces at speed 1 = 30 s) not worker 2 (30 at 4 = 7.5 s)
    const a = s.next(1)!;
    expect(a.reason).toBe('steal');
    // split so both finish together: the fast one takes 4/5 of the 30, from the tail
    expect(a.piece).toBe(6);
    expect(s.remaining(0)).toBe(6);
    expect(s.remaining(1)).toBe(23);
    expect(s.remaining(2)).toBe(30);
  });

  it('chooses the victim by time left, not by pieces left', () => {
    const s = make(60, 3);
    setSpeeds(s, 1, 10, 10);
    takeOwn(s, 0, 10); // worker 0 has 10 queued left (10 s); worker 2 has 20 queued (2 s)
    finishOwn(s, 1);
    const a = s.next(1)!;
    expect(a.reason).toBe('steal');
    expect(a.piece).toBeLessThan(20); // from worker 0's run [0, 20), not worker 2's [40, 60)
    expect(s.remaining(2)).toBe(20);
  });

  it('a stolen range is contiguous (one ranged GET can serve it) and comes from the victim\'s tail', () => {
    const s = make(40, 2);
    finishOwn(s, 1);
    const first = s.next(1)!;
    expect(first.reason).toBe('steal');
    // the rest of the stolen range is now worker 1's own queue
    const got = [first.piece, ...finishOwn(s, 1)];
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => got[0] + i));
    expect(got).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    // worker 0 keeps the head of its run
    expect(finishOwn(s, 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('with no measurements yet, splits the longest run in half', () => {
    const s = make(40, 2);
    finishOwn(s, 1);
    s.next(1);
    expect(s.remaining(0)).toBe(10);
    expect(s.remaining(1)).toBe(9);
  });

  it('an unknown-speed worker counts as median: it is neither starved as a thief nor robbed as a victim', () => {
    // thief of unknown speed among measured workers
    const s = make(90, 3);
    s.setSpeed(1, 4);
    s.setSpeed(2, 4);
    finishOwn(s, 0);
    const a = s.next(0)!;
    expect(a.reason).toBe('steal');
    expect(s.remaining(0) + 1).toBeGreaterThanOrEqual(14); // half of a 30-piece run at equal (median) speed
    // victim of unknown speed: treated as median, so its run is split evenly, not as if it were stalled
    const t = make(90, 3);
    t.setSpeed(0, 4);
    t.setSpeed(2, 4);
    finishOwn(t, 0);
    t.next(0);
    expect(t.remaining(1) + t.remaining(2)).toBeGreaterThan(30);
    expect(t.remaining(0) + 1).toBe(15);
  });

  it('a slow thief does not take work from a fast worker\'s short tail', () => {
    const s = make(10, 2);
    setSpeeds(s, 1, 100);
    finishOwn(s, 0);
    // worker 1 has 5 queued at 100/s: floor(5 * 1 / 101) = 0 pieces are worth moving to worker 0
    expect(s.next(0)).toBeUndefined();
    expect(s.remaining(1)).toBe(5);
  });

  it('the very last queued piece moves only to a clearly faster worker', () => {
    const s = make(4, 2);
    setSpeeds(s, 10, 10);
    takeOwn(s, 0, 1); // worker 0 has one piece queued
    finishOwn(s, 1);
    expect(s.next(1)?.reason).not.toBe('steal'); // equal speed: no steal of a single piece (hedge or nothing)
    const t = make(4, 2);
    setSpeeds(t, 1, 10);
    takeOwn(t, 0, 1);
    finishOwn(t, 1);
    expect(t.next(1)).toEqual({ piece: 1, reason: 'steal' });
  });

  it('never steals from a dead worker (its work is already orphaned)', () => {
    const s = make(20, 2);
    s.down(0);
    expect(s.remaining(0)).toBe(0);
    finishOwn(s, 1);
    // worker 1 takes worker 0's pieces as orphans, never as a steal
    const rest = drain(s, 1);
    expect(rest.map((a) => a.reason)).toEqual(Array(10).fill('orphan'));
    expect(s.orphanCount).toBe(0);
  });
});

describe('end game', () => {
  it('duplicates the slowest holder\'s in-flight piece onto a clearly faster worker, once', () => {
    const s = make(4, 2);
    setSpeeds(s, 1, 4);
    takeOwn(s, 0, 2); // 0 and 1 in flight on the slow worker
    finishOwn(s, 1);
    const h1 = s.next(1)!;
    const h2 = s.next(1)!;
    expect([h1.reason, h2.reason]).toEqual(['hedge', 'hedge']);
    expect([h1.piece, h2.piece].sort()).toEqual([0, 1]);
    expect(s.next(1)).toBeUndefined(); // it holds both already
    expect(s.holders(0).sort()).toEqual([0, 1]);
  });

  it('does not hedge onto an equal or only slightly faster worker', () => {
    for (const fast of [4, 5, 6]) {
      const s = make(4, 2);
      s.setSpeed(0, 4);
      s.setSpeed(1, fast);
      takeOwn(s, 0, 2);
      finishOwn(s, 1);
      expect(s.next(1)).toBeUndefined();
    }
  });

  it('does not hedge when nobody has a measurement (all look equal)', () => {
    const s = make(4, 2);
    takeOwn(s, 0, 2);
    finishOwn(s, 1);
    expect(s.next(1)).toBeUndefined();
  });

  it('at most maxCopies workers hold one piece (default 2)', () => {
    const s = make(3, 3);
    setSpeeds(s, 1, 10, 10);
    takeOwn(s, 0, 1);
    finishOwn(s, 1);
    finishOwn(s, 2);
    expect(s.next(1)).toEqual({ piece: 0, reason: 'hedge' });
    expect(s.next(2)).toBeUndefined();
    expect(s.copies(0)).toBe(2);
  });

  it('with maxCopies 3, a third copy goes only to a worker clearly faster than the best holder', () => {
    const s = make(4, 4, { steal: true, maxCopies: 3 });
    setSpeeds(s, 1, 10, 10, 100);
    takeOwn(s, 0, 1);
    for (const w of [1, 2, 3]) finishOwn(s, w);
    expect(s.next(1)).toEqual({ piece: 0, reason: 'hedge' });
    expect(s.next(2)).toBeUndefined(); // a worker as fast as the fast holder adds nothing
    expect(s.next(3)).toEqual({ piece: 0, reason: 'hedge' });
    expect(s.copies(0)).toBe(3);
  });

  it('picks the piece whose holder is slowest', () => {
    const s = make(6, 3);
    setSpeeds(s, 1, 3, 20);
    takeOwn(s, 0, 2); // 0, 1 at speed 1
    takeOwn(s, 1, 2); // 2, 3 at speed 3
    finishOwn(s, 2);
    const h = s.next(2)!;
    expect(h.reason).toBe('hedge');
    expect([0, 1]).toContain(h.piece);
  });

  it('the loser is cancelled: finished() on it, completed() on the piece, nothing left over', () => {
    const s = make(2, 2);
    setSpeeds(s, 1, 10);
    takeOwn(s, 0, 1);
    finishOwn(s, 1);
    s.next(1); // hedge piece 0
    // worker 1 wins: the caller cancels worker 0's copy and marks the piece done
    s.finished(0, 0);
    s.completed(0);
    expect(s.copies(0)).toBe(0);
    expect(s.orphanCount).toBe(0);
    expect(s.next(0)).toBeUndefined();
    expect(s.next(1)).toBeUndefined();
  });
});

describe('static mode (steal: false)', () => {
  it('never steals or hedges: a fast worker idles while a slow one works', () => {
    const s = make(40, 2, { steal: false });
    setSpeeds(s, 1, 100);
    takeOwn(s, 0, 1);
    finishOwn(s, 1);
    expect(s.next(1)).toBeUndefined();
    expect(s.remaining(0)).toBe(19);
    expect(drain(s, 0).every((a) => a.reason === 'own')).toBe(true);
  });

  it('still moves a dead worker\'s pieces (queued and in flight) to the living', () => {
    const s = make(40, 2, { steal: false });
    const inFlight = takeOwn(s, 0, 3);
    s.down(0);
    for (const p of inFlight) s.release(p, 0);
    const got = drain(s, 1);
    expect(got.filter((a) => a.reason === 'own')).toHaveLength(20);
    expect(got.filter((a) => a.reason === 'orphan').map((a) => a.piece)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(got.some((a) => a.reason === 'steal' || a.reason === 'hedge')).toBe(false);
  });

  it('re-serves a piece released after a failed check', () => {
    const s = make(4, 2, { steal: false });
    takeOwn(s, 0, 1);
    finishOwn(s, 1);
    s.release(0, 0, true);
    expect(s.next(1)).toEqual({ piece: 0, reason: 'orphan' });
  });
});

describe('invariants under random events', () => {
  it('every pending piece is completed, none is handed out twice except as a hedge, whatever happens', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    for (let round = 0; round < 40; round++) {
      const count = 1 + Math.floor(rnd() * 200);
      const n = 1 + Math.floor(rnd() * 6);
      const steal = rnd() < 0.7;
      const doneAtStart = new Set<number>();
      for (let p = 0; p < count; p++) if (rnd() < 0.2) doneAtStart.add(p);
      const s = make(count, n, { steal }, (p) => !doneAtStart.has(p));
      for (let w = 0; w < n; w++) s.setSpeed(w, rnd() < 0.3 ? 0 : 1 + rnd() * 100);
      const done = new Set(doneAtStart);
      const held = new Map<number, Set<number>>(); // worker -> pieces
      for (let w = 0; w < n; w++) held.set(w, new Set());
      let steps = 0;
      while (done.size < count) {
        if (++steps > 200_000) throw new Error(`stuck: ${done.size}/${count} done, orphans ${s.orphanCount}`);
        const w = Math.floor(rnd() * n);
        const r = rnd();
        const mine = held.get(w)!;
        if (!s.isAlive(w)) {
          if (r < 0.3) s.up(w);
          continue;
        }
        if (r < 0.45) {
          const a = s.next(w);
          if (a) {
            expect(done.has(a.piece)).toBe(false);
            expect(mine.has(a.piece)).toBe(false);
            if (a.reason !== 'hedge') {
              // a non-hedge assignment: nobody else may be holding it
              for (const [o, ps] of held) if (o !== w) expect(ps.has(a.piece)).toBe(false);
            }
            mine.add(a.piece);
          }
        } else if (r < 0.8 && mine.size) {
          const p = [...mine][Math.floor(rnd() * mine.size)];
          mine.delete(p);
          // the piece is verified: cancel the other copies, like the fetcher does
          for (const [o, ps] of held) if (ps.delete(p)) s.finished(p, o);
          s.finished(p, w);
          s.completed(p);
          done.add(p);
        } else if (r < 0.9 && mine.size) {
          const p = [...mine][0];
          mine.delete(p);
          s.release(p, w, rnd() < 0.3);
        } else if (r < 0.93) {
          // connection lost: queued work orphaned, in-flight work released
          s.down(w);
          for (const p of mine) s.release(p, w);
          mine.clear();
          // keep at least one worker alive, like reconnects eventually do
          if (![...Array(n).keys()].some((o) => s.isAlive(o))) s.up(w);
        }
      }
      expect(done.size).toBe(count);
    }
  });
});
