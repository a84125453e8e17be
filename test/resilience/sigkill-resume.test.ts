/**
 * The fetcher is SIGKILLed at random moments, 20+ times over one download of a 256 MiB file, and
 * resumed each time with the same command: the result is exact, the file never appears under its
 * final name early, no state is ever found damaged, and the servers sent less than 1.25 × the
 * size over all runs (counted by the servers themselves).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { exitOf, messages, startFetcher } from '../helpers/fetcher-run';
import { killAll, runFetcher, startServerSet } from '../helpers/processes';
import { stopForBytesSent } from '../helpers/server-fleet';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;
const SERVERS = 4;
// per server: 8 MiB/s in all, so the download spans 20 kills and a kill (which loses the work since
// the last state save, ~0.1 s plus the save's own fdatasync time on a busy disk) costs little
const RATE = 2 * MiB;
const KILLS = 20;

let dir: string;
beforeAll(() => { dir = tempDir('msd-sigkill-'); });
afterAll(() => { killAll(); removeDir(dir); });

test(`${KILLS} SIGKILLs at random moments over a 256 MiB download: exact result, < 1.25 × size sent`, async () => {
  const src = randomFile(path.join(dir, 'big.bin'), SIZE);
  const want = sha256File(src);
  const servers = await startServerSet(src, SERVERS, ['--rate-limit', String(RATE), '--shutdown-timeout', '2']);
  const out = path.join(dir, 'out', 'big.bin');
  fs.mkdirSync(path.dirname(out));
  const args = ['-o', out, '-p', ...servers.ports.map(String), '--state-interval', '0.1', '-i', '0.5'];

  const history: string[] = [];
  const warnings: string[] = [];
  let resumedRuns = 0;
  let lastVerified = 0;
  for (let kill = 1; kill <= KILLS; kill++) {
    // a random moment after discovery: during the resume check, the transfer, or a state save
    const delayMs = Math.round(Math.random() * 1500);
    const f = startFetcher(args);
    const spawned = performance.now();
    await f.waitForLog((l) => l.msg === 'source', 30_000);
    const startupMs = Math.round(performance.now() - spawned);
    const early = await Promise.race([f.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), delayMs))]);
    if (early) {
      throw new Error(`run ${kill} ended by itself before its kill at ${delayMs} ms (download too fast, or it failed): ${f.stderr().slice(-2000)}`);
    }
    f.child.kill('SIGKILL');
    const r = await exitOf(f);
    expect(r.signal).toBe('SIGKILL');
    expect(fs.existsSync(out)).toBe(false); // never under its final name before it is complete
    const resumed = f.logs().find((l) => l.msg.startsWith('resuming:'));
    if (resumed) {
      resumedRuns++;
      const verified = Number(/^resuming: (\d+) of/.exec(resumed.msg)?.[1]);
      expect(verified).toBeGreaterThanOrEqual(lastVerified); // saved work only ever grows
      lastVerified = verified;
    }
    const warned = [...messages(f.logs(), 'warn'), ...messages(f.logs(), 'error')];
    warnings.push(...warned);
    history.push(`kill ${kill} at ${delayMs} ms after discovery (startup ${startupMs} ms): ${resumed?.msg ?? 'no resume line'}${warned.length ? `; warnings: ${warned.join(' | ')}` : ''}`);
  }

  const last = await runFetcher(args, { timeoutMs: 60_000 });
  history.push(`final run: exit ${last.code}; ${last.logs.find((l) => l.msg.startsWith('resuming:'))?.msg ?? 'no resume line'}`);
  const sent = (await stopForBytesSent(servers)).reduce((a, b) => a + b, 0);
  const report = `${history.join('\n')}\nservers sent ${sent} bytes = ${(sent / SIZE).toFixed(3)} × size`;
  process.stdout.write(`${report}\n`);

  expect({ code: last.code, stderr: last.code === 0 ? '' : last.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(want);
  expect(fs.existsSync(`${out}.part`)).toBe(false);
  expect(fs.existsSync(`${out}.part.state`)).toBe(false);
  // a SIGKILL never leaves a state that a later run finds damaged or foreign
  expect(warnings.filter((w) => /damaged|other content/.test(w))).toEqual([]);
  // the state is written as soon as the part file exists: at most the first run's kill can land
  // before it, so at most one run re-verifies the part file
  expect(warnings.filter((w) => /re-verifying/.test(w)).length).toBeLessThanOrEqual(1);
  expect(resumedRuns).toBeGreaterThanOrEqual(KILLS - 3); // almost every run picked up saved work
  expect(sent).toBeLessThan(1.25 * SIZE);
}, 150_000);
