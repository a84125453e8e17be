/**
 * SIGTERM and SIGINT on the fetcher: it saves the resume state on the way out (the periodic save
 * is set to 30 s here, so only the signal path can have recorded the pieces verified after the
 * start), exits 143 / 130, and the same command resumes from what was verified.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File } from '../helpers/files';
import { completion, exitOf, startFetcher, waitForBytesDone } from '../helpers/fetcher-run';
import { runFetcher } from '../helpers/processes';
import { ServedFile, serveRandomFile, tearDown } from '../helpers/served-file';

const MiB = 1024 * 1024;
const SIZE = 24 * MiB + 31;

let served: ServedFile | undefined;
beforeAll(async () => {
  served = await serveRandomFile({ prefix: 'msd-signals-', size: SIZE, listeners: 2, rateLimit: 3 * MiB });
}, 60_000);
afterAll(() => tearDown(served));

test.each([['SIGTERM', 143], ['SIGINT', 130]] as const)('%s: state saved, exit %i, the same command resumes', async (signal, code) => {
  const out = path.join(fs.mkdtempSync(path.join(served!.dir, `${signal}-`)), 'out.bin');
  const args = ['-o', out, '-p', ...served!.servers.ports.map(String), '--state-interval', '30'];
  const f = startFetcher(args);
  const seen = await waitForBytesDone(f, 6 * MiB);
  f.child.kill(signal);
  const r = await exitOf(f, 15_000);
  expect({ code: r.code, signal: r.signal }).toEqual({ code, signal: null });
  expect(f.logs().some((l) => l.level === 'warn' && l.msg === `${signal}: saving the resume state and stopping; run the same command again to resume`)).toBe(true);
  expect(f.logs().filter((l) => l.level === 'error')).toEqual([]);
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.existsSync(`${out}.part`)).toBe(true);
  expect(fs.existsSync(`${out}.part.state`)).toBe(true);

  const again = await runFetcher(args, { timeoutMs: 60_000 });
  expect({ code: again.code, stderr: again.code === 0 ? '' : again.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(sha256File(served!.src));
  const done = completion(again.logs);
  // everything verified before the signal was in the state it saved on the way out
  expect(done.resumedBytes).toBeGreaterThanOrEqual(Number(seen.bytesDone));
  expect(done.bytesReceived).toBeLessThanOrEqual(SIZE - done.resumedBytes + 2 * MiB);
}, 60_000);
