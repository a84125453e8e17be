/**
 * The served directory changes between two runs of a set download (issue 16): one file added, two
 * removed (one complete in DIR, one still a .part), one file's content changed; the servers are
 * restarted on the changed directory. The second run says what changed in one line, fetches the
 * added and the changed file with their new content, and never deletes what is no longer listed.
 * Also: a partial file whose content changes at the same size starts over (no old piece is kept).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exitOf, startFetcher } from '../helpers/fetcher-run';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { killAll, runFetcher, ServerSet } from '../helpers/processes';
import { filesBelow, makeTree, stampsOf, treeDifferences, TreeSpec } from '../helpers/served-directory';
import { bytesReceived, isLock, leftovers, portsOf, SET_STATE, startSetServers, waitForTree } from '../helpers/set-run';

const KiB = 1024;
const MiB = 1024 * KiB;
/** In listing order; one server fetches the pieces in that order. */
const TREE: TreeSpec = {
  'a-kept.bin': 100 * KiB,
  'b-complete.bin': 200 * KiB,
  'c-changed.bin': 300 * KiB,
  'd-partial.bin': 4 * MiB, // at 1 MiB/s the kill lands inside it
  'e-tail.bin': MiB,
};

let dir: string;
const started: ServerSet[] = [];
beforeAll(() => { dir = tempDir('msd-set-change-'); });
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  killAll();
  removeDir(dir);
});

async function serve(src: string, n: number, extra: string[] = []): Promise<ServerSet> {
  const s = await startSetServers(src, n, extra);
  started.push(s);
  return s;
}

/** Removes b and d, adds f, gives c other bytes (and another size). */
function changeListing(src: string): void {
  fs.rmSync(path.join(src, 'b-complete.bin'));
  fs.rmSync(path.join(src, 'd-partial.bin'));
  randomFile(path.join(src, 'f-added.bin'), 150 * KiB + 9);
  randomFile(path.join(src, 'c-changed.bin'), 310 * KiB + 1);
}

/** Run 1 against one server at 1 MiB/s, SIGKILLed while d downloads: a, b, c in place, d a .part, the state saved. */
async function killedInsideD(tag: string): Promise<{ src: string; out: string }> {
  const src = path.join(dir, tag, 'served');
  const out = path.join(dir, tag, 'out');
  makeTree(src, TREE);
  fs.mkdirSync(out);
  const slow = await serve(src, 1, ['--rate-limit', String(MiB)]);
  const f = startFetcher(['-p', ...portsOf(slow), '-o', out, '--state-interval', '0.2']);
  await waitForTree(f, out, (n) => n.includes('c-changed.bin') && n.includes('d-partial.bin.part'), 'c in place and d under way');
  await new Promise((r) => setTimeout(r, 700)); // d gets verified pieces and a state save
  f.child.kill('SIGKILL');
  expect((await exitOf(f)).signal).toBe('SIGKILL');
  const atKill = filesBelow(out);
  // the premise: b complete, d partial, the state saved
  expect(atKill).toEqual(expect.arrayContaining(['b-complete.bin', 'd-partial.bin.part', SET_STATE]));
  expect(atKill).not.toContain('d-partial.bin');
  await slow.stop();
  return { src, out };
}

test('run 1 SIGKILLed inside d; then the listing changes: one line says what changed, new content arrives, nothing is deleted', async () => {
  const { src, out } = await killedInsideD('killed');
  changeListing(src);
  const removedComplete = { stamp: stampsOf(out, ['b-complete.bin']), sha: sha256File(path.join(out, 'b-complete.bin')) };
  const keptPart = stampsOf(out, ['d-partial.bin.part']);
  const fast = await serve(src, 2);
  const r = await runFetcher(['-p', ...portsOf(fast), '-o', out], { timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });

  const changed = r.logs.filter((l) => /listing changed since the last run/.test(l.msg));
  expect(changed.map((l) => l.msg)).toEqual([expect.stringMatching(/listing changed since the last run: 1 added \([^)]*\), 2 removed \([^)]*\), 1 changed \([^)]*\)/)]);
  const [, added, removed, altered] = /1 added \(([^)]*)\), 2 removed \(([^)]*)\), 1 changed \(([^)]*)\)/.exec(changed[0].msg)!;
  expect(added).toContain('f-added.bin');
  expect(removed).toContain('b-complete.bin');
  expect(removed).toContain('d-partial.bin');
  expect(altered).toContain('c-changed.bin');
  // the kept .part is named in the log (as the .part, or as the file whose part file stays)
  expect(r.logs.filter((l) => /d-partial\.bin\.part|part[^"]*\bd-partial\.bin/.test(l.msg))).not.toEqual([]);

  // DIR = the new listing, plus what is no longer listed, kept as it was
  expect(treeDifferences(src, out, isLock)).toEqual(['only in copy: b-complete.bin', 'only in copy: d-partial.bin.part']);
  expect({ stamp: stampsOf(out, ['b-complete.bin']), sha: sha256File(path.join(out, 'b-complete.bin')) }).toEqual(removedComplete);
  expect(stampsOf(out, ['d-partial.bin.part'])).toEqual(keptPart);
  expect(leftovers(out)).toEqual(['d-partial.bin.part']); // no state: the set is complete
}, 90_000);

test('run 1 completes; then the listing changes: the added and the changed file arrive new, the removed one stays untouched', async () => {
  const src = path.join(dir, 'complete', 'served');
  const out = path.join(dir, 'complete', 'out');
  makeTree(src, TREE);
  fs.mkdirSync(out);
  const first = await serve(src, 2);
  const r1 = await runFetcher(['-p', ...portsOf(first), '-o', out], { timeoutMs: 60_000 });
  expect({ code: r1.code, stderr: r1.code === 0 ? '' : r1.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  await first.stop();

  changeListing(src);
  const removed = stampsOf(out, ['b-complete.bin', 'd-partial.bin']);
  const second = await serve(src, 2);
  const r = await runFetcher(['-p', ...portsOf(second), '-o', out], { timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(treeDifferences(src, out, isLock)).toEqual(['only in copy: b-complete.bin', 'only in copy: d-partial.bin']);
  expect(stampsOf(out, ['b-complete.bin', 'd-partial.bin'])).toEqual(removed);
  expect(leftovers(out)).toEqual([]);
}, 90_000);

test('run 1 SIGKILLed inside d; then d holds other bytes of the same size: its verified pieces are not kept, it arrives with the new content', async () => {
  const { src, out } = await killedInsideD('same-size');
  randomFile(path.join(src, 'd-partial.bin'), TREE['d-partial.bin']);
  const fast = await serve(src, 2);
  const r = await runFetcher(['-p', ...portsOf(fast), '-o', out], { timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  const changed = r.logs.filter((l) => /listing changed since the last run/.test(l.msg)).map((l) => l.msg);
  expect(changed).toEqual([expect.stringMatching(/1 changed \(d-partial\.bin\)/)]);
  expect(treeDifferences(src, out, isLock)).toEqual([]);
  expect(leftovers(out)).toEqual([]);
  expect(bytesReceived(r.logs)).toBeGreaterThanOrEqual(TREE['d-partial.bin']); // all of d again
}, 90_000);
