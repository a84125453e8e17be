/**
 * Drives the scheduler to completion against simulated servers, the way the fetcher uses it:
 * each worker is a connection that receives its pipelined pieces one after another at its speed;
 * a cancelled (hedged-out) request still occupies the connection until its bytes have arrived, as
 * on the wire. Speeds are reported after the first piece, like the fetcher's periodic measurement,
 * and the pipeline depth follows the fetcher's rule (1 for a worker below a quarter of the median).
 * Time is simulated: the test runs in milliseconds and measures scheduling, not the machine.
 */
import { PieceGrid } from '@msd/common';
import { Scheduler } from './scheduler';

interface Job { piece: number; left: number; cancelled: boolean }
interface SimWorker { id: number; speed: number; jobs: Job[]; alive: boolean; measured: boolean; dieAt: number }

interface SimResult {
  time: number;
  ideal: number;
  /** pieces each worker delivered first (the copy that counted) */
  won: number[];
  /** pieces each worker received in full, counted or not */
  received: number[];
  hedges: number;
  steals: number;
}

interface SimOptions {
  pieces: number;
  speeds: number[]; // pieces per simulated second
  steal: boolean;
  pipeline?: number;
  /** worker id -> simulated time at which its connection dies for good */
  deaths?: Map<number, number>;
  /** pieces verified before the start (resume) */
  done?: Set<number>;
}

function simulate(o: SimOptions): SimResult {
  const pipeline = o.pipeline ?? 4;
  const done = new Set(o.done ?? []);
  const workers: SimWorker[] = o.speeds.map((speed, id) => ({ id, speed, jobs: [], alive: true, measured: false, dieAt: o.deaths?.get(id) ?? Infinity }));
  const s = new Scheduler(new PieceGrid(o.pieces, 1), workers.map((w) => w.id), (p) => !done.has(p), { steal: o.steal });
  const won = workers.map(() => 0);
  const received = workers.map(() => 0);
  let hedges = 0;
  let steals = 0;
  let now = 0;

  const depth = (w: SimWorker): number => {
    const median = s.medianSpeed();
    return w.measured && median > 0 && w.speed < 0.25 * median ? 1 : pipeline;
  };
  const fill = (w: SimWorker): void => {
    if (!w.alive) return;
    while (w.jobs.length < depth(w)) {
      const a = s.next(w.id);
      if (!a) break;
      expect(done.has(a.piece)).toBe(false);
      if (a.reason === 'hedge') hedges++;
      if (a.reason === 'steal') steals++;
      w.jobs.push({ piece: a.piece, left: 1, cancelled: false });
    }
  };
  const fillAll = (): void => workers.forEach(fill);

  fillAll();
  const remainingPieces = (): number => o.pieces - done.size;
  let guard = 0;
  while (remainingPieces() > 0) {
    if (++guard > 1_000_000) throw new Error('simulation does not finish');
    // the next event: a head job finishing, or a worker dying
    let dt = Infinity;
    for (const w of workers) {
      if (!w.alive) continue;
      if (w.jobs.length) dt = Math.min(dt, w.jobs[0].left / w.speed);
      dt = Math.min(dt, w.dieAt - now);
    }
    if (dt === Infinity) throw new Error(`idle with ${remainingPieces()} pieces left and ${s.orphanCount} orphans`);
    now += dt;
    for (const w of workers) if (w.alive && w.jobs.length) w.jobs[0].left -= dt * w.speed;
    for (const w of workers) {
      if (!w.alive) continue;
      if (now >= w.dieAt) {
        w.alive = false;
        s.down(w.id);
        for (const j of w.jobs) if (j.cancelled) s.finished(j.piece, w.id); else s.release(j.piece, w.id);
        w.jobs = [];
        fillAll();
        continue;
      }
      const head = w.jobs[0];
      if (!head || head.left > 1e-9) continue;
      w.jobs.shift();
      received[w.id]++;
      if (!w.measured) {
        w.measured = true;
        s.setSpeed(w.id, w.speed);
      }
      if (head.cancelled || done.has(head.piece)) {
        s.finished(head.piece, w.id);
      } else {
        // verified: cancel the other copies (they keep arriving but no longer count)
        for (const o2 of workers) for (const j of o2.jobs) if (j.piece === head.piece && o2 !== w && !j.cancelled) { j.cancelled = true; s.finished(j.piece, o2.id); }
        done.add(head.piece);
        s.finished(head.piece, w.id);
        s.completed(head.piece);
        won[w.id]++;
      }
      fillAll();
    }
  }
  const total = o.pieces - (o.done?.size ?? 0);
  const aliveRate = o.speeds.reduce((a, v, i) => a + (o.deaths?.has(i) ? 0 : v), 0);
  return { time: now, ideal: total / aliveRate, won, received, hedges, steals };
}

describe('scheduler simulation', () => {
  it('one server at a quarter of the others\' speed: it serves clearly less than 1/N, and the download ends within 1.15x of ideal', () => {
    const pieces = 1024; // 1 GiB in 1 MiB pieces
    const r = simulate({ pieces, speeds: [4, 4, 4, 1], steal: true });
    const slowShare = r.won[3] / pieces;
    expect(r.won.reduce((a, b) => a + b, 0)).toBe(pieces);
    // ideal share of the slow one is 1/13 of the bytes; equal split would be 1/4
    expect(slowShare).toBeLessThan(0.5 / 4);
    expect(r.time / r.ideal).toBeLessThan(1.15);
    // hedging is for the very end only: little data is fetched twice
    const wasted = r.received.reduce((a, b) => a + b, 0) - pieces;
    expect(wasted).toBeLessThan(0.02 * pieces);
    expect(r.steals).toBeGreaterThan(0);
  });

  it('the same with the slow server first and last in the run order, and with 8 servers', () => {
    for (const speeds of [[1, 4, 4, 4], [4, 4, 1, 4], [4, 4, 4, 4, 4, 4, 4, 1], [4, 1, 4, 1]]) {
      const pieces = 1000;
      const r = simulate({ pieces, speeds, steal: true });
      expect(r.time / r.ideal).toBeLessThan(1.15);
      for (let i = 0; i < speeds.length; i++) if (speeds[i] === 1) expect(r.won[i] / pieces).toBeLessThan(0.5 / speeds.length);
    }
  });

  it('equal servers: stealing changes nothing, nothing is fetched twice', () => {
    const r = simulate({ pieces: 1000, speeds: [4, 4, 4, 4], steal: true });
    expect(r.time / r.ideal).toBeLessThan(1.01);
    expect(r.won).toEqual([250, 250, 250, 250]);
    expect(r.hedges).toBe(0);
  });

  it('static split (stealing off) waits for the slow server: that is the baseline stealing beats', () => {
    const pieces = 1000;
    const staticRun = simulate({ pieces, speeds: [4, 4, 4, 1], steal: false });
    const stealing = simulate({ pieces, speeds: [4, 4, 4, 1], steal: true });
    expect(staticRun.won).toEqual([250, 250, 250, 250]);
    expect(staticRun.hedges + staticRun.steals).toBe(0);
    expect(staticRun.time).toBeCloseTo(250, 5); // the slow server's whole segment at 1 piece/s
    expect(stealing.time).toBeLessThan(staticRun.time / 2.5);
  });

  it('a very slow server (1/20) ends up with almost nothing and does not hold the tail', () => {
    const pieces = 1000;
    const r = simulate({ pieces, speeds: [20, 20, 20, 1], steal: true });
    expect(r.won[3] / pieces).toBeLessThan(0.03);
    expect(r.time / r.ideal).toBeLessThan(1.15);
  });

  it('a server that dies mid-download: its work flows to the living, every piece exactly once', () => {
    for (const steal of [true, false]) {
      const pieces = 800;
      const r = simulate({ pieces, speeds: [4, 4, 4, 4], steal, deaths: new Map([[1, 20]]) });
      expect(r.won.reduce((a, b) => a + b, 0)).toBe(pieces);
      expect(r.won[1]).toBeLessThanOrEqual(80); // at most what it finished before dying
      // the three survivors carry the rest; without stealing they still take the orphans
      expect(r.time).toBeLessThan(steal ? 1.1 * (pieces / 12 + 20 / 3) : 250);
    }
  });

  it('all but one server die: the last one finishes alone', () => {
    const pieces = 200;
    const r = simulate({ pieces, speeds: [4, 4, 4, 4], steal: true, deaths: new Map([[0, 5], [1, 6], [2, 7]]) });
    expect(r.won.reduce((a, b) => a + b, 0)).toBe(pieces);
    expect(r.won[3]).toBeGreaterThan(pieces / 2);
  });

  it('resume: only the missing pieces are fetched, still balanced', () => {
    const done = new Set<number>();
    for (let p = 0; p < 1000; p++) if (p % 3 === 0 || p < 300) done.add(p);
    const r = simulate({ pieces: 1000, speeds: [4, 4, 4, 1], steal: true, done });
    expect(r.won.reduce((a, b) => a + b, 0)).toBe(1000 - done.size);
    expect(r.time / r.ideal).toBeLessThan(1.15);
  });
});
