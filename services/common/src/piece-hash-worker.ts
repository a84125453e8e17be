/**
 * Worker thread of the piece hasher: SHA-256 of whole pieces read with positional reads. Threads
 * of one job take batches of contiguous pieces from a shared counter (so each thread reads long
 * sequential runs, and a slow thread simply takes fewer batches), write each digest into the shared
 * output at the piece's slot, and stop at the next piece once the shared stop flag is set.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { HashJob, HashJobResult } from './piece-hash-job';

// a fixed read buffer, whatever the piece size: a thread's memory does not depend on the grid
const CHUNK = 1 << 20;
const buf = Buffer.allocUnsafe(CHUNK);

function run(job: HashJob): HashJobResult {
  const ctl = new Int32Array(job.control);
  const out = Buffer.from(job.digests);
  const list = job.pieces ? new Float64Array(job.pieces) : undefined;
  const batches = Math.ceil(job.count / job.batch);
  let fd: number | undefined;
  let hashed = 0;
  try {
    fd = job.fd ?? fs.openSync(job.path, 'r');
    for (;;) {
      const b = Atomics.add(ctl, 0, 1);
      if (b >= batches) break;
      const endSlot = Math.min(job.count, (b + 1) * job.batch);
      for (let slot = b * job.batch; slot < endSlot; slot++) {
        if (Atomics.load(ctl, 1) !== 0) return { hashed, stopped: true };
        const piece = list ? list[slot] : job.first + slot;
        const start = piece * job.pieceSize;
        const length = Math.min(job.pieceSize, job.size - start);
        const hash = createHash('sha256');
        let got = 0;
        while (got < length) {
          const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, length - got), start + got);
          if (n === 0) break;
          hash.update(buf.subarray(0, n));
          got += n;
        }
        if (got < length && !job.shortIsBad) {
          Atomics.store(ctl, 1, 1);
          return { hashed, shrank: { piece, at: start + got } };
        }
        // a short piece (checks only) hashes what is there: that digest cannot match the expected one
        hash.digest().copy(out, slot * 32);
        hashed++;
        Atomics.add(ctl, 2, 1);
      }
    }
    return { hashed };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    Atomics.store(ctl, 1, 1); // the job has failed: the other threads stop too
    return { hashed, error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall } };
  } finally {
    if (fd !== undefined && job.fd === undefined) fs.closeSync(fd);
  }
}

parentPort!.on('message', (job: HashJob) => {
  parentPort!.postMessage({ id: job.id, ...run(job) });
});
