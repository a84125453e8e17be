/** Worker thread: hashes pieces of the part file (read back from the page cache) off the event loop. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

interface Job { id: number; offset: number; length: number; expected: Uint8Array }

const fd = fs.openSync((workerData as { path: string }).path, 'r');
let buf = Buffer.allocUnsafe(0);

parentPort!.on('message', (job: Job) => {
  try {
    if (buf.length < job.length) buf = Buffer.allocUnsafe(job.length);
    let got = 0;
    while (got < job.length) {
      const n = fs.readSync(fd, buf, got, job.length - got, job.offset + got);
      if (n === 0) break;
      got += n;
    }
    const digest = createHash('sha256').update(buf.subarray(0, got)).digest();
    parentPort!.postMessage({ id: job.id, ok: got === job.length && digest.equals(Buffer.from(job.expected)) });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, ok: false, error: (err as Error).message });
  }
});
