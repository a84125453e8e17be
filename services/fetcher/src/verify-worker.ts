/** Worker thread: hashes pieces of the part file (read back from the page cache) off the event loop. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

interface Job { id: number; offset: number; length: number; expected: Uint8Array }

const fd = fs.openSync((workerData as { path: string }).path, 'r');
// a fixed buffer, whatever the piece size: memory does not depend on what a server announces
const buf = Buffer.allocUnsafe(1 << 20);

parentPort!.on('message', (job: Job) => {
  try {
    const hash = createHash('sha256');
    let got = 0;
    while (got < job.length) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, job.length - got), job.offset + got);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      got += n;
    }
    const digest = hash.digest();
    parentPort!.postMessage({ id: job.id, ok: got === job.length && digest.equals(Buffer.from(job.expected)) });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, ok: false, error: (err as Error).message });
  }
});
