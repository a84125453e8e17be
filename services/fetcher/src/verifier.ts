/**
 * Checks pieces against their SHA-256 digests on a small pool of worker threads, so hashing never
 * blocks the receive path. Two ways in:
 * - `channel()`: a receive ring for one connection; the socket reads into it, the thread hashes the
 *   body bytes of each request straight from it as they arrive (no read-back, no copy);
 * - `verify()`: reads a piece back from a part file (resume re-verification, or a piece that two
 *   copies wrote to).
 * Each read names its file (a set has one part file per file); a thread keeps a few open.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { fileError } from '@msd/common';
import type { ReceiveRing } from './connection';

interface Waiter { resolve: (ok: boolean) => void; reject: (e: Error) => void }

/**
 * Receive memory for all connections together; each ring gets a power of two (the byte counters wrap
 * at 2^32) between 256 KiB and 4 MiB, so the rings take at most 32 MiB up to 128 connections
 * (16 servers x 4 connections: 512 KiB each).
 */
export const RING_BUDGET = 32 << 20;
export const RING_MIN = 256 << 10;
export const RING_MAX = 4 << 20;

export function ringSizeFor(connections: number): number {
  let size = RING_MAX;
  while (size > RING_MIN && size * connections > RING_BUDGET) size >>= 1;
  return size;
}

export class Verifier {
  private readonly pool: Worker[] = [];
  private readonly waiting = new Map<number, Waiter>();
  private readonly load: number[] = [];
  private nextId = 1;
  private nextChannel = 1;

  /** The threads start on first use: a download that never verifies (--no-verify) never pays for them. */
  constructor(private readonly threads = Math.max(1, Math.min(4, os.availableParallelism() - 1))) {}

  private get workers(): Worker[] {
    if (this.pool.length > 0) return this.pool;
    const script = workerScript();
    for (let i = 0; i < this.threads; i++) {
      // a small young generation: the thread allocates little that lives, and its heap must not
      // grow with the length of the download
      const w = new Worker(script, { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      w.unref();
      w.on('message', (m: { id: number; ok: boolean; error?: { message: string; code?: string; path: string } }) => {
        const wt = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        // a local read failure is the disk's, never the server's: it must not count as a bad digest
        if (m.error) wt?.reject(fileError('cannot read back', m.error.path, Object.assign(new Error(m.error.message), { code: m.error.code })));
        else wt?.resolve(m.ok);
      });
      w.on('error', (err) => {
        for (const wt of this.waiting.values()) wt.reject(err);
        this.waiting.clear();
      });
      this.pool.push(w);
      this.load.push(0);
    }
    return this.pool;
  }

  verify(file: string, offset: number, length: number, expected: Buffer): Promise<boolean> {
    const workers = this.workers;
    let best = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i] < this.load[best]) best = i;
    this.load[best]++;
    return this.ask(workers[best], { op: 'verify', path: file, offset, length, expected: new Uint8Array(expected) }).finally(() => { this.load[best]--; });
  }

  /** A receive ring for one connection, served by one thread (so its bytes are hashed in order). */
  channel(size: number): HashChannel {
    const ch = this.nextChannel++;
    const worker = this.workers[ch % this.workers.length];
    return new HashChannel(ch, size, worker, (w, m) => this.ask(w, m));
  }

  private ask(w: Worker, m: Record<string, unknown>): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ ...m, id });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.pool.map((w) => w.terminate()));
  }
}

/**
 * One connection's receive ring and its hashing stream. `produced` and `consumed` count bytes
 * (wrapping 32-bit); the thread advances `consumed` (shared memory) once it has hashed everything
 * before a mark, so a region is reused only after its bytes were hashed.
 */
export class HashChannel implements ReceiveRing {
  private readonly sab: SharedArrayBuffer;
  readonly ring: Buffer;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(4));
  private produced = 0;
  private nextJob = 1;
  private roomTimer: NodeJS.Timeout | undefined;
  /** A read takes at most a quarter of the ring; reading pauses when less than a sixteenth is free. */
  private readonly readMax: number;
  private readonly readMin: number;

  constructor(private readonly id: number, private readonly size: number, private readonly worker: Worker, private readonly ask: (w: Worker, m: Record<string, unknown>) => Promise<boolean>) {
    if (size & (size - 1)) throw new RangeError('ring size must be a power of two');
    this.sab = new SharedArrayBuffer(size);
    this.ring = Buffer.from(this.sab);
    this.readMax = size / 4;
    this.readMin = size / 16;
    worker.postMessage({ op: 'channel', ch: id, ring: this.sab, ctl: this.ctl.buffer });
  }

  private free(): number {
    return this.size - ((this.produced - Atomics.load(this.ctl, 0)) | 0);
  }

  next(): Buffer {
    const at = (this.produced >>> 0) % this.size;
    const len = Math.max(1, Math.min(this.readMax, this.size - at, this.free()));
    return this.ring.subarray(at, at + len);
  }

  consumed(n: number): boolean {
    this.produced = (this.produced + n) | 0;
    this.worker.postMessage({ op: 'mark', ch: this.id, upTo: this.produced });
    return this.free() >= this.readMin;
  }

  whenRoom(cb: () => void): void {
    if (this.roomTimer) clearInterval(this.roomTimer);
    this.roomTimer = setInterval(() => {
      if (this.free() < this.readMin) return;
      clearInterval(this.roomTimer);
      this.roomTimer = undefined;
      cb();
    }, 1);
  }

  /** Starts hashing a request's body; `prefix` bytes before it are read from the part file `file` first. */
  begin(file: string, pieceOffset: number, prefix: number): number {
    const job = this.nextJob++;
    this.worker.postMessage({ op: 'begin', ch: this.id, job, path: file, offset: pieceOffset, prefix });
    return job;
  }

  /** Body bytes of `job`: `buf[start, end)`, where buf is a slice this ring handed out. */
  data(job: number, buf: Buffer, start: number, end: number): void {
    this.worker.postMessage({ op: 'data', ch: this.id, job, at: buf.byteOffset - this.ring.byteOffset + start, len: end - start });
  }

  end(job: number, expected: Buffer): Promise<boolean> {
    return this.ask(this.worker, { op: 'end', ch: this.id, job, expected: new Uint8Array(expected) });
  }

  abort(job: number): void {
    this.worker.postMessage({ op: 'abort', ch: this.id, job });
  }

  /** The connection is gone: the thread forgets the ring and its unfinished hashes. */
  close(): void {
    if (this.roomTimer) clearInterval(this.roomTimer);
    this.roomTimer = undefined;
    this.worker.postMessage({ op: 'drop', ch: this.id });
  }
}

/** The compiled worker, beside this module (dist) or, when running from sources, in dist/. */
function workerScript(): string {
  const js = path.join(__dirname, 'verify-worker.js');
  if (fs.existsSync(js)) return js;
  const dist = path.join(__dirname, '..', 'dist', 'verify-worker.js');
  if (fs.existsSync(dist)) return dist;
  throw new Error('verify-worker.js not found: run `make build` first');
}
