/**
 * One fetcher per set directory (issue 16): a second fetcher started on the same DIR while the
 * first runs exits 9 at once, naming the first's PID, and the first still finishes exact.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exitOf, startFetcher } from '../helpers/fetcher-run';
import { runFetcher } from '../helpers/processes';
import { treeDifferences, TreeSpec } from '../helpers/served-directory';
import { isLock, leftovers, portsOf, serveSlowAndFast, SET_LOCK, SlowAndFast, tearDownSlowAndFast, waitForTree } from '../helpers/set-run';

const MiB = 1024 * 1024;
const TREE: TreeSpec = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`d${i % 2}/f-${i}.bin`, 1.5 * MiB + i]));

let t: SlowAndFast; // 2 listeners at 1 MiB/s each: the first fetcher runs ~6 s, time enough for a second to start
beforeAll(async () => { t = await serveSlowAndFast('msd-set-lock-', TREE, 2, MiB); }, 60_000);
afterAll(() => tearDownSlowAndFast(t));

test('a second fetcher on the same DIR exits 9 while the first runs, naming its PID (also with --no-resume); the first finishes exact', async () => {
  const out = path.join(t.dir, 'out');
  fs.mkdirSync(out);
  const first = startFetcher(['-p', ...portsOf(t.slow), '-o', out]);
  await waitForTree(first, out, (names) => names.includes(SET_LOCK) && names.some((n) => n.endsWith('.part')), 'the lock and a .part in DIR');
  for (const extra of [[], ['--no-resume']]) {
    const second = await runFetcher(['-p', ...portsOf(t.fast), '-o', out, ...extra], { timeoutMs: 20_000 });
    const firstRunning = first.child.exitCode === null && first.child.signalCode === null;
    expect({ extra, code: second.code, firstRunning }).toEqual({ extra, code: 9, firstRunning: true }); // it did not wait for the first
    const errors = second.logs.filter((l) => l.level === 'error');
    expect(errors.map((l) => l.code)).toEqual(['E_LOCKED']);
    expect(errors[0].msg).toMatch(new RegExp(`\\bPID ${first.pid}\\b`));
  }
  const end = await exitOf(first);
  expect({ ...end, stderr: end.code === 0 ? '' : first.stderr().slice(-3000) }).toEqual({ code: 0, signal: null, stderr: '' });
  expect(treeDifferences(t.src, out, isLock)).toEqual([]);
  expect(leftovers(out)).toEqual([]);
}, 60_000);
