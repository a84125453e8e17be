/**
 * A set download SIGKILLed mid-way (issue 16) resumes with the same command: the files completed
 * before the kill are not fetched again (same inode, same mtime), partial files continue where
 * their verified pieces stood, and the result is exact with no .part and no state left.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exitOf, startFetcher } from '../helpers/fetcher-run';
import { runFetcher } from '../helpers/processes';
import { filesBelow, stampsOf, treeBytes, treeDifferences, TreeSpec } from '../helpers/served-directory';
import { bytesReceived, isLock, leftovers, portsOf, serveSlowAndFast, SET_STATE, SlowAndFast, tearDownSlowAndFast, waitForTree } from '../helpers/set-run';

const MiB = 1024 * 1024;
const TREE: TreeSpec = {
  'a/first.txt': 3000,
  'a/empty': 0,
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`b/part-${i}.bin`, 1.5 * MiB + 1000 * i + 1])),
  'c/last.bin': 700 * 1024,
};
const TOTAL = treeBytes(TREE);

let t: SlowAndFast; // 2 listeners at 1 MiB/s each: the set takes ~6 s, so the kill lands mid-way
beforeAll(async () => { t = await serveSlowAndFast('msd-set-resume-', TREE, 2, MiB); }, 60_000);
afterAll(() => tearDownSlowAndFast(t));

test('SIGKILL after some files are in place, then the same command: exact, complete files untouched, fewer bytes than the set', async () => {
  const out = path.join(t.dir, 'out');
  fs.mkdirSync(out);
  const f = startFetcher(['-p', ...portsOf(t.slow), '-o', out, '--state-interval', '0.2']);
  const listed = (names: string[]): string[] => names.filter((n) => n in TREE);
  await waitForTree(f, out, (names) => listed(names).filter((n) => TREE[n] > 0).length >= 2, 'two non-empty files in place');
  await new Promise((r) => setTimeout(r, 600)); // a state save or two after that, with more pieces verified
  f.child.kill('SIGKILL');
  expect((await exitOf(f)).signal).toBe('SIGKILL');

  const atKill = filesBelow(out);
  const complete = listed(atKill);
  const completeBytes = complete.reduce((n, c) => n + TREE[c], 0);
  // the premise: the kill landed mid-set, inside a file, with the set's state saved
  expect(atKill).toContain(SET_STATE);
  expect(atKill.filter((n) => n.endsWith('.part'))).not.toEqual([]);
  expect(completeBytes).toBeLessThan(TOTAL);
  const before = stampsOf(out, complete);

  const r = await runFetcher(['-p', ...portsOf(t.fast), '-o', out], { timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(treeDifferences(t.src, out, isLock)).toEqual([]);
  expect(leftovers(out)).toEqual([]);
  expect(stampsOf(out, complete)).toEqual(before); // not fetched again, not rewritten
  // less than what was missing at the kill: the partial files kept their verified pieces
  const received = bytesReceived(r.logs);
  process.stdout.write(`set resume: ${complete.length} files complete at the kill (${completeBytes} bytes); the rerun received ${received} of ${TOTAL}\n`);
  expect(received).toBeLessThan(TOTAL - completeBytes);
}, 90_000);
