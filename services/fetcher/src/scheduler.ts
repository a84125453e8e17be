/**
 * Which piece each connection (a "worker") fetches next. Pure: no I/O, no clock.
 *
 * Worker i starts on the i-th contiguous run of pieces, like the original program. When its run
 * is exhausted it takes orphaned pieces (from failed or dead workers), then steals the tail of
 * the run with the longest estimated time left (remaining bytes / measured speed), split so both
 * should finish together; at the very end it duplicates the in-flight piece held by the slowest
 * worker (end game) and the caller cancels the loser. With stealing off, runs stay static and
 * only orphans move (a dead server's work must still flow to the living).
 */
import type { PieceGrid } from '@msd/common';

export type Reason = 'own' | 'orphan' | 'steal' | 'hedge';
export interface Assignment { piece: number; reason: Reason }

interface Interval { a: number; b: number } // [a, b)

interface WorkerState {
  id: number;
  queue: Interval[];
  alive: boolean;
  speed: number; // bytes/s, 0 = unknown
}

export interface SchedulerOptions {
  steal: boolean;
  /** At most this many workers on one piece at once (end game). */
  maxCopies?: number;
}

export class Scheduler {
  private readonly workers = new Map<number, WorkerState>();
  private readonly orphans = new Set<number>();
  private readonly assigned = new Map<number, Set<number>>();
  private readonly avoid = new Map<number, Set<number>>();
  private readonly maxCopies: number;

  /**
   * @param grid the piece grid: its `run(i, n)` is worker i's starting run
   * @param workerIds workers in run order (server-major)
   * @param pending pieces still to fetch, ascending
   */
  constructor(grid: Pick<PieceGrid, 'count' | 'run'>, workerIds: number[], pending: (p: number) => boolean, private readonly opts: SchedulerOptions) {
    this.maxCopies = opts.maxCopies ?? 2;
    const n = workerIds.length;
    workerIds.forEach((id, i) => {
      const { first, end } = grid.run(i, n);
      const queue: Interval[] = [];
      for (let p = first; p < end; p++) {
        if (!pending(p)) continue;
        const last = queue[queue.length - 1];
        if (last && last.b === p) last.b = p + 1;
        else queue.push({ a: p, b: p + 1 });
      }
      this.workers.set(id, { id, queue, alive: true, speed: 0 });
    });
  }

  /** Pieces not yet handed out in worker queues or the orphan pool. */
  remaining(workerId: number): number {
    const w = this.workers.get(workerId);
    return w ? w.queue.reduce((s, iv) => s + iv.b - iv.a, 0) : 0;
  }
  copies(piece: number): number {
    return this.assigned.get(piece)?.size ?? 0;
  }
  holders(piece: number): number[] {
    return [...(this.assigned.get(piece) ?? [])];
  }
  get orphanCount(): number {
    return this.orphans.size;
  }

  setSpeed(workerId: number, bytesPerSecond: number): void {
    const w = this.workers.get(workerId);
    if (w && w.speed !== bytesPerSecond) {
      w.speed = bytesPerSecond;
      this.median = undefined;
    }
  }
  speedOf(workerId: number): number {
    return this.workers.get(workerId)?.speed ?? 0;
  }

  /** Median speed of live workers with a measurement (0 when none); cached until a speed or liveness changes. */
  medianSpeed(): number {
    if (this.median !== undefined) return this.median;
    const s = [...this.workers.values()].filter((w) => w.alive && w.speed > 0).map((w) => w.speed).sort((a, b) => a - b);
    const m = s.length >> 1;
    this.median = s.length === 0 ? 0 : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    return this.median;
  }
  private median: number | undefined;

  next(workerId: number): Assignment | undefined {
    const w = this.workers.get(workerId);
    if (!w || !w.alive) return undefined;
    const own = this.popOwn(w);
    if (own !== undefined) return this.give(w, own, 'own');
    const orphan = this.takeOrphan(w);
    if (orphan !== undefined) return this.give(w, orphan, 'orphan');
    if (!this.opts.steal) return undefined;
    if (this.steal(w)) {
      const p = this.popOwn(w);
      if (p !== undefined) return this.give(w, p, 'steal');
    }
    const hedge = this.pickHedge(w);
    return hedge === undefined ? undefined : this.give(w, hedge, 'hedge');
  }

  /** The worker finished with the piece (verified, or handed back by `release`). */
  finished(piece: number, workerId: number): void {
    const s = this.assigned.get(piece);
    if (!s) return;
    s.delete(workerId);
    if (s.size === 0) this.assigned.delete(piece);
  }

  /** The piece is verified: forget every holder. */
  completed(piece: number): void {
    this.assigned.delete(piece);
    this.orphans.delete(piece);
    this.avoid.delete(piece);
  }

  /**
   * The worker's attempt failed (connection lost, bad digest, cancelled). If no other worker holds
   * the piece it becomes an orphan. `blame` marks the worker as a bad source for that piece.
   */
  release(piece: number, workerId: number, blame = false): void {
    this.finished(piece, workerId);
    if (blame) {
      let s = this.avoid.get(piece);
      if (!s) this.avoid.set(piece, (s = new Set()));
      s.add(workerId);
    }
    if (this.copies(piece) === 0) this.orphans.add(piece);
  }

  /** A piece thought done must be fetched again (a resumed piece that no longer matches on disk). */
  requeue(piece: number): void {
    this.avoid.delete(piece);
    if (this.copies(piece) === 0) this.orphans.add(piece);
  }

  /** The worker's connection is gone: its queued pieces become orphans. In-flight ones come back via release. */
  down(workerId: number): void {
    const w = this.workers.get(workerId);
    if (!w) return;
    w.alive = false;
    w.speed = 0;
    this.median = undefined;
    for (const iv of w.queue) for (let p = iv.a; p < iv.b; p++) this.orphans.add(p);
    w.queue = [];
  }
  up(workerId: number): void {
    const w = this.workers.get(workerId);
    if (w) w.alive = true;
    this.median = undefined;
  }
  isAlive(workerId: number): boolean {
    return this.workers.get(workerId)?.alive ?? false;
  }

  private give(w: WorkerState, piece: number, reason: Reason): Assignment {
    let s = this.assigned.get(piece);
    if (!s) this.assigned.set(piece, (s = new Set()));
    s.add(w.id);
    return { piece, reason };
  }

  private popOwn(w: WorkerState): number | undefined {
    while (w.queue.length) {
      const iv = w.queue[0];
      if (iv.a >= iv.b) { w.queue.shift(); continue; }
      return iv.a++;
    }
    return undefined;
  }

  private takeOrphan(w: WorkerState): number | undefined {
    let fallback: number | undefined;
    let best: number | undefined;
    for (const p of this.orphans) {
      if (this.copies(p) > 0) { this.orphans.delete(p); continue; }
      if (this.avoid.get(p)?.has(w.id)) {
        if (fallback === undefined || p < fallback) fallback = p;
        continue;
      }
      if (best === undefined || p < best) best = p;
    }
    // a piece this worker served badly goes to it only when no other live worker could take it
    if (best === undefined && fallback !== undefined) {
      const others = [...this.workers.values()].some((o) => o.alive && o.id !== w.id && !this.avoid.get(fallback!)?.has(o.id));
      if (!others) best = fallback;
    }
    if (best !== undefined) this.orphans.delete(best);
    return best;
  }

  private effectiveSpeed(w: WorkerState, median: number): number {
    if (w.speed > 0) return w.speed;
    return median > 0 ? median : 1;
  }

  /** Moves the tail of the slowest-to-finish run to w's queue; false when nothing is worth taking. */
  private steal(w: WorkerState): boolean {
    const median = this.medianSpeed();
    const sw = this.effectiveSpeed(w, median);
    let victim: WorkerState | undefined;
    let worst = 0;
    for (const v of this.workers.values()) {
      if (v === w) continue;
      const r = this.remaining(v.id);
      if (r === 0) continue;
      const eta = r / this.effectiveSpeed(v, median);
      if (eta > worst) { worst = eta; victim = v; }
    }
    if (!victim) return false;
    const r = this.remaining(victim.id);
    const sv = this.effectiveSpeed(victim, median);
    let k = Math.floor((r * sw) / (sw + sv));
    if (k === 0 && sw > 2 * sv) k = 1; // one piece, but only to a clearly faster worker
    if (k === 0) return false;
    // take k pieces from the victim's tail
    const taken: Interval[] = [];
    while (k > 0) {
      const iv = victim.queue[victim.queue.length - 1];
      const n = Math.min(k, iv.b - iv.a);
      taken.unshift({ a: iv.b - n, b: iv.b });
      iv.b -= n;
      if (iv.a >= iv.b) victim.queue.pop();
      k -= n;
    }
    w.queue.push(...taken);
    return true;
  }

  /** End game: duplicate the in-flight piece whose best holder is slowest, if w is clearly faster. */
  private pickHedge(w: WorkerState): number | undefined {
    const median = this.medianSpeed();
    const sw = this.effectiveSpeed(w, median);
    let pick: number | undefined;
    let slowest = Infinity;
    for (const [p, holders] of this.assigned) {
      if (holders.has(w.id) || holders.size >= this.maxCopies) continue;
      if (this.avoid.get(p)?.has(w.id)) continue; // w sent a copy that failed verification
      // the piece arrives with its fastest holder: another copy helps only if w beats that one
      let s = 0;
      for (const h of holders) s = Math.max(s, this.effectiveSpeed(this.workers.get(h)!, median));
      if (s < slowest && sw > 1.5 * s) { slowest = s; pick = p; }
    }
    return pick;
  }
}
