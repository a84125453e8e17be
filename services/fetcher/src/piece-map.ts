/**
 * What the fetcher knows about each piece: verified (a bitfield), bytes written from the piece's
 * start that are not yet verified (`have`), and a generation that invalidates writers of an
 * attempt that failed verification. Pure state, no I/O.
 */
import { Bitfield, type PieceLayout } from '@msd/common';

export class PieceMap {
  readonly done: Bitfield;
  private readonly have: Float64Array;
  private readonly gen: Uint32Array;
  private readonly verifying: Uint8Array;
  private doneBytesTotal = 0;

  constructor(readonly grid: PieceLayout, done?: Bitfield, partial?: ReadonlyMap<number, number>) {
    this.done = done ? done.clone() : new Bitfield(grid.count);
    this.have = new Float64Array(grid.count);
    this.gen = new Uint32Array(grid.count);
    this.verifying = new Uint8Array(grid.count);
    for (let p = 0; p < grid.count; p++) if (this.done.has(p)) this.doneBytesTotal += grid.length(p);
    if (partial) for (const [p, n] of partial) if (p < grid.count && !this.done.has(p)) this.have[p] = Math.min(n, grid.length(p));
  }

  get complete(): boolean {
    return this.done.complete;
  }
  get doneBytes(): number {
    return this.doneBytesTotal;
  }
  isDone(p: number): boolean {
    return this.done.has(p);
  }
  haveBytes(p: number): number {
    return this.have[p];
  }
  generation(p: number): number {
    return this.gen[p];
  }
  isVerifying(p: number): boolean {
    return this.verifying[p] === 1;
  }
  /** Bytes on disk but not yet verified: partial pieces plus complete pieces awaiting their digest check. */
  get pendingBytes(): number {
    let n = 0;
    for (let p = 0; p < this.have.length; p++) if (!this.done.has(p)) n += this.have[p];
    return n;
  }

  /** A writer of generation `gen` wrote [from, to) (piece-relative) contiguously; have only grows. */
  advance(p: number, gen: number, from: number, to: number): void {
    if (gen === this.gen[p] && from <= this.have[p] && to > this.have[p]) this.have[p] = to;
  }
  isWhole(p: number): boolean {
    return this.have[p] >= this.grid.length(p);
  }
  beginVerify(p: number): boolean {
    if (this.verifying[p] || this.done.has(p)) return false;
    this.verifying[p] = 1;
    return true;
  }
  markDone(p: number): void {
    this.verifying[p] = 0;
    if (!this.done.has(p)) {
      this.done.set(p);
      this.doneBytesTotal += this.grid.length(p);
    }
    this.have[p] = 0;
  }
  /** The piece failed verification (or its bytes cannot be trusted): start it over. */
  reset(p: number): void {
    this.verifying[p] = 0;
    this.have[p] = 0;
    this.gen[p]++;
  }
  /** A piece counted as done (kept from an earlier run) no longer matches on disk: fetch it again. */
  unmark(p: number): void {
    if (this.done.has(p)) {
      this.done.clear(p);
      this.doneBytesTotal -= this.grid.length(p);
    }
    this.reset(p);
  }

  /** Snapshot of partial progress, for the resume state. */
  partials(): Map<number, number> {
    const m = new Map<number, number>();
    for (let p = 0; p < this.have.length; p++) if (!this.done.has(p) && this.have[p] > 0) m.set(p, this.have[p]);
    return m;
  }
}
