/**
 * SHA-256 of a file's pieces on every core: worker threads hash disjoint runs of pieces with
 * positional reads, each into its own slot of one shared digest buffer. One code path for the
 * server's index and for the fetcher's local checks (resumed pieces, an output already complete).
 *
 * Failures stay what they are: a read error rejects with an E_IO error whose `cause` carries the
 * errno (`code` 'EIO', `errno`, `syscall`), a file that ends early while being indexed rejects with
 * E_IO; neither is ever reported as a bad digest. An aborted signal rejects with the signal's reason
 * once every thread has stopped (at most one piece later).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileError, MsdError } from './errors';
import type { HashJob, HashJobResult } from './piece-hash-job';
import { PieceGrid } from './piece-grid';
import { DIGEST_SIZE } from './protocol';

/** Which pieces: a contiguous run [first, end), or a list (any order, each hashed once per entry). */
export type PieceSelection = { first: number; end: number } | readonly number[];

export interface HashOptions {
  /** worker threads (default: the available cores) */
  threads?: number;
  first?: number;
  end?: number;
  signal?: AbortSignal;
}

/** Pieces hashed so far of those asked for, reported about once a second while a job runs. */
export type Progress = (done: number, total: number) => void;
const PROGRESS_MS = 1000;
interface Watch { signal?: AbortSignal; onProgress?: Progress }

/** A thread reads this much in a row before it takes the next run (long runs keep readahead working). */
const RUN_BYTES = 64 << 20;

export function defaultHashThreads(): number {
  return Math.max(1, os.availableParallelism());
}

export class PieceHasher {
  private readonly workers: Thread[] = [];
  private readonly waiting = new Map<number, (r: HashJobResult) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private closed = false;

  constructor(readonly threads: number = defaultHashThreads()) {
    if (!Number.isSafeInteger(threads) || threads < 1) throw new RangeError(`bad thread count ${threads}`);
  }

  /**
   * Digests of pieces [first, end) of the grid (default: all), 32 bytes each, in piece order. With
   * `fd`, the threads read that open descriptor (exactly the file being served) and `file` only names it.
   */
  hash(file: string, grid: PieceGrid, opts: { first?: number; end?: number; signal?: AbortSignal; fd?: number; onProgress?: Progress } = {}): Promise<Buffer> {
    const first = opts.first ?? 0;
    const end = opts.end ?? grid.count;
    return this.enqueue(file, grid, { first, end }, false, opts, opts.fd);
  }

  /** The pieces (default: all) whose bytes in `file` do not match `expected` (32 bytes per piece of the grid). */
  async check(file: string, grid: PieceGrid, expected: Buffer, pieces: PieceSelection = { first: 0, end: grid.count }, opts: { signal?: AbortSignal; fd?: number; onProgress?: Progress } = {}): Promise<{ bad: number[] }> {
    if (expected.length !== grid.count * DIGEST_SIZE) throw new RangeError(`expected ${grid.count} digests, got ${expected.length / DIGEST_SIZE}`);
    const got = await this.enqueue(file, grid, pieces, true, opts, opts.fd);
    const bad: number[] = [];
    const count = got.length / DIGEST_SIZE;
    for (let slot = 0; slot < count; slot++) {
      const piece = isRun(pieces) ? pieces.first + slot : pieces[slot];
      if (got.compare(expected, piece * DIGEST_SIZE, (piece + 1) * DIGEST_SIZE, slot * DIGEST_SIZE, (slot + 1) * DIGEST_SIZE) !== 0) bad.push(piece);
    }
    return { bad };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.splice(0).map((t) => t.worker.terminate()));
  }

  /** One job at a time uses every thread; later calls wait their turn. */
  private enqueue(file: string, grid: PieceGrid, pieces: PieceSelection, shortIsBad: boolean, watch: Watch, fd?: number): Promise<Buffer> {
    const job = this.queue.then(() => this.run(file, grid, pieces, shortIsBad, watch, fd));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private async run(file: string, grid: PieceGrid, pieces: PieceSelection, shortIsBad: boolean, { signal, onProgress }: Watch, fd?: number): Promise<Buffer> {
    if (this.closed) throw new MsdError('E_INTERNAL', 'piece hasher used after close()');
    signal?.throwIfAborted();
    const count = isRun(pieces) ? pieces.end - pieces.first : pieces.length;
    for (const p of isRun(pieces) ? [pieces.first, pieces.end - 1] : pieces) {
      if (count > 0 && (!Number.isSafeInteger(p) || p < 0 || p >= grid.count)) throw new RangeError(`piece ${p} is outside 0..${grid.count - 1}`);
    }
    if (count < 0) throw new RangeError('piece range ends before it starts');
    const digests = new SharedArrayBuffer(count * DIGEST_SIZE);
    if (count === 0) return Buffer.from(digests);
    const perRun = Math.max(1, Math.floor(RUN_BYTES / grid.pieceSize));
    // at least four runs per thread, so the last runs even out the threads' finishing times
    const batch = Math.max(1, Math.min(perRun, Math.ceil(count / (this.threads * 4))));
    const threads = Math.min(this.threads, Math.ceil(count / batch));
    let list: SharedArrayBuffer | undefined;
    if (!isRun(pieces)) {
      list = new SharedArrayBuffer(count * 8);
      new Float64Array(list).set(pieces);
    }
    const control = new SharedArrayBuffer(12);
    const ctl = new Int32Array(control);
    const stop = (): void => { Atomics.store(ctl, 1, 1); };
    signal?.addEventListener('abort', stop, { once: true });
    const ticker = onProgress && setInterval(() => onProgress(Atomics.load(ctl, 2) >>> 0, count), PROGRESS_MS);
    const base: Omit<HashJob, 'id'> = {
      path: file, fd, size: grid.size, pieceSize: grid.pieceSize, first: isRun(pieces) ? pieces.first : 0, count,
      pieces: list, batch, control, digests, shortIsBad,
    };
    let results: HashJobResult[];
    try {
      results = await Promise.all(this.take(threads).map((t) => this.ask(t, base)));
    } finally {
      if (ticker) clearInterval(ticker);
      signal?.removeEventListener('abort', stop);
      for (const t of this.workers) t.worker.unref();
    }
    const failed = results.find((r) => r.error);
    if (failed?.error) {
      const e = Object.assign(new Error(failed.error.message), { code: failed.error.code, errno: failed.error.errno, syscall: failed.error.syscall });
      throw fileError('cannot read', file, e);
    }
    const shrank = results.find((r) => r.shrank)?.shrank;
    if (shrank) {
      throw new MsdError('E_IO', `${file} ended at byte ${shrank.at}, inside piece ${shrank.piece}, while being hashed (expected ${grid.size} bytes): the file changed; hash it again once it is complete`);
    }
    if (signal?.aborted) throw signal.reason;
    return Buffer.from(digests);
  }

  /** `n` threads for a job, started on first use and kept (idle threads hold no event-loop reference). */
  private take(n: number): Thread[] {
    while (this.workers.length < n) this.workers.push(this.spawn());
    const ts = this.workers.slice(0, n);
    for (const t of ts) t.worker.ref();
    return ts;
  }

  private spawn(): Thread {
    // a small young generation: a thread allocates almost nothing that lives
    const t: Thread = { worker: new Worker(workerScript(), { resourceLimits: { maxYoungGenerationSizeMb: 4 } }) };
    t.worker.unref();
    t.worker.on('message', (m: HashJobResult & { id: number }) => {
      if (m.id !== t.job) return;
      t.job = undefined;
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.(m);
    });
    const fail = (err: Error): void => {
      // a thread that dies takes its job with it: that job fails, the pool starts a new thread next time
      const i = this.workers.indexOf(t);
      if (i >= 0) this.workers.splice(i, 1);
      const done = t.job === undefined ? undefined : this.waiting.get(t.job);
      if (t.job !== undefined) this.waiting.delete(t.job);
      t.job = undefined;
      done?.({ hashed: 0, error: { message: `hashing thread failed: ${err.message}` } });
    };
    t.worker.on('error', fail);
    t.worker.on('exit', (code) => { if (!this.closed) fail(new Error(`exited with code ${code}`)); });
    return t;
  }

  private ask(t: Thread, base: Omit<HashJob, 'id'>): Promise<HashJobResult> {
    const id = this.nextId++;
    t.job = id;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      t.worker.postMessage({ ...base, id });
    });
  }
}

/** One hashing thread and the job it is running, if any. */
interface Thread {
  worker: Worker;
  job?: number;
}

function isRun(p: PieceSelection): p is { first: number; end: number } {
  return !Array.isArray(p);
}

/** Digests of a file's pieces [first, end) (default: all) on `threads` threads, 32 bytes each. */
export async function hashPieces(file: string, size: number, pieceSize: number, opts: HashOptions = {}): Promise<Buffer> {
  const hasher = new PieceHasher(opts.threads);
  try {
    return await hasher.hash(file, new PieceGrid(size, pieceSize), opts);
  } finally {
    await hasher.close();
  }
}

/** The pieces (default: all) of `file` that do not match `expected`. */
export async function checkPieces(file: string, grid: PieceGrid, expected: Buffer, pieces?: PieceSelection, opts: { threads?: number; signal?: AbortSignal } = {}): Promise<{ bad: number[] }> {
  const hasher = new PieceHasher(opts.threads);
  try {
    return await hasher.check(file, grid, expected, pieces, opts);
  } finally {
    await hasher.close();
  }
}

/** The compiled worker, beside this module (dist) or, when running from sources, in dist/. */
function workerScript(): string {
  const js = path.join(__dirname, 'piece-hash-worker.js');
  if (fs.existsSync(js)) return js;
  const dist = path.join(__dirname, '..', 'dist', 'piece-hash-worker.js');
  if (fs.existsSync(dist)) return dist;
  throw new MsdError('E_INTERNAL', 'piece-hash-worker.js not found: run `make build` first');
}
