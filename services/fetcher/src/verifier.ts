/**
 * Checks pieces against their SHA-256 digests on a small pool of worker threads, reading the
 * bytes back from the part file, so hashing never blocks the receive path.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';

interface Waiter { resolve: (ok: boolean) => void; reject: (e: Error) => void }

export class Verifier {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, Waiter>();
  private readonly load: number[] = [];
  private nextId = 1;

  constructor(partPath: string, threads = Math.max(1, Math.min(4, os.availableParallelism() - 1))) {
    const script = workerScript();
    for (let i = 0; i < threads; i++) {
      const w = new Worker(script.file, { workerData: { path: partPath }, execArgv: script.execArgv });
      w.unref();
      w.on('message', (m: { id: number; ok: boolean }) => {
        this.load[i]--;
        const wt = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        wt?.resolve(m.ok);
      });
      w.on('error', (err) => {
        for (const wt of this.waiting.values()) wt.reject(err);
        this.waiting.clear();
      });
      this.workers.push(w);
      this.load.push(0);
    }
  }

  verify(offset: number, length: number, expected: Buffer): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      let best = 0;
      for (let i = 1; i < this.load.length; i++) if (this.load[i] < this.load[best]) best = i;
      this.load[best]++;
      this.workers[best].postMessage({ id, offset, length, expected: new Uint8Array(expected) });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The compiled worker (dist) or, under ts-jest, the TypeScript source through ts-node-less require hook. */
function workerScript(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'verify-worker.js');
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  const dist = path.join(__dirname, '..', 'dist', 'verify-worker.js');
  if (fs.existsSync(dist)) return { file: dist, execArgv: [] };
  throw new Error('verify-worker.js not found: run `make build` first');
}
