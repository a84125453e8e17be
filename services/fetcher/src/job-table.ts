/**
 * The requests in flight, by connection ("worker"), and who wrote each piece. Who holds piece p is
 * the scheduler's to say (its assignments); this table only maps a holder to its request for p,
 * so the two can never disagree. Pure bookkeeping, no I/O.
 */
import type { Span } from '@opentelemetry/api';
import type { GetRequest } from './connection';
import type { HashChannel } from './verifier';

export interface Job {
  readonly piece: number;
  /** The file (of the SetLayout) the piece is in: where its bytes are written. */
  readonly file: number;
  /** PieceMap generation of the piece when the request was made: a reset piece ignores older bytes. */
  readonly gen: number;
  /** Piece-relative offset the request starts at (resumed bytes before it are on disk already). */
  readonly start: number;
  readonly worker: number;
  written: number;
  cancelled: boolean;
  span: Span | undefined;
  req: GetRequest<Job> | undefined;
  /** The hash of this request's bytes as they arrive (on the connection's ring thread), when one runs. */
  hash: { channel: HashChannel; id: number } | undefined;
}

export class JobTable {
  private readonly byWorker = new Map<number, Set<Job>>();
  /** The first job whose bytes went into each piece of its current generation... */
  private readonly writers = new Map<number, Job>();
  /** ...and the pieces a second job wrote to as well (their stream hashes cannot be trusted). */
  private readonly mixed = new Set<number>();

  /** `holders(p)`: the workers the scheduler has piece p assigned to. */
  constructor(private readonly holders: (piece: number) => readonly number[]) {}

  add(job: Job): void {
    let s = this.byWorker.get(job.worker);
    if (!s) this.byWorker.set(job.worker, (s = new Set()));
    s.add(job);
  }

  remove(job: Job): void {
    this.byWorker.get(job.worker)?.delete(job);
  }

  ofWorker(worker: number): ReadonlySet<Job> {
    return this.byWorker.get(worker) ?? EMPTY;
  }

  count(worker: number): number {
    return this.byWorker.get(worker)?.size ?? 0;
  }

  /** The requests in flight for piece p, on every connection that holds it. */
  ofPiece(p: number): Job[] {
    const out: Job[] = [];
    for (const w of this.holders(p)) for (const j of this.ofWorker(w)) if (j.piece === p) out.push(j);
    return out;
  }

  /** `job` wrote bytes into its piece. */
  wrote(job: Job): void {
    const owner = this.writers.get(job.piece);
    if (owner === undefined) this.writers.set(job.piece, job);
    else if (owner !== job) this.mixed.add(job.piece);
  }

  /** Exactly one request wrote every byte of p that this run wrote. */
  soleWriter(p: number, job: Job): boolean {
    return !this.mixed.has(p) && (this.writers.get(p) ?? job) === job;
  }

  /** The piece was verified or reset: its writers start afresh. */
  clearPiece(p: number): void {
    this.writers.delete(p);
    this.mixed.delete(p);
  }
}

const EMPTY: ReadonlySet<Job> = new Set();
