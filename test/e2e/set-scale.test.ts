/**
 * Sets of many files (issue 16): 2,000 small files across subdirectories, and 10,000 tiny files
 * with names long enough that the servers' listing takes more than one LIST page (the issue's
 * "largest set tested: at least 10,000 files"). Every file arrives, byte for byte.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_LIST_BODY } from '@msd/common';
import { removeDir, tempDir } from '../helpers/files';
import { killAll, runFetcher, ServerSet } from '../helpers/processes';
import { SeededRandom } from '../helpers/seeded-random';
import { makeTree, treeBytes, treeDifferences, TreeSpec } from '../helpers/served-directory';
import { bytesReceived, isLock, lastLine, leftovers, namesCounts, portsOf, startSetServers } from '../helpers/set-run';

const seed = SeededRandom.seedFrom('MSD_SET_SCALE_SEED');
const rnd = new SeededRandom(seed);

let dir: string;
const started: ServerSet[] = [];
beforeAll(() => {
  dir = tempDir('msd-set-scale-');
  process.stdout.write(`set-scale seed ${seed} (MSD_SET_SCALE_SEED replays it)\n`);
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  killAll();
  removeDir(dir);
});

/** Serves `spec` from a fresh directory with `servers` listeners and fetches it into another. */
async function fetchTree(tag: string, spec: TreeSpec, servers: number): Promise<{ src: string; out: string; r: Awaited<ReturnType<typeof runFetcher>> }> {
  const src = path.join(dir, tag, 'served');
  const out = path.join(dir, tag, 'out');
  makeTree(src, spec);
  fs.mkdirSync(out);
  const s = await startSetServers(src, servers);
  started.push(s);
  const r = await runFetcher(['-p', ...portsOf(s), '-o', out], { timeoutMs: 240_000 });
  return { src, out, r };
}

test('2,000 files of 1-3 KiB in 40 subdirectories: all arrive, equal', async () => {
  const spec: TreeSpec = {};
  for (let i = 0; i < 2000; i++) spec[`d${i % 40}/e${i % 7}/f-${i}.dat`] = rnd.int(1024, 3 * 1024);
  const { src, out, r } = await fetchTree('two-thousand', spec, 3);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(treeDifferences(src, out, isLock)).toEqual([]);
  expect(leftovers(out)).toEqual([]);
  const last = lastLine(r.logs);
  expect({ last, namesCounts: namesCounts(last, 2000, treeBytes(spec)) }).toMatchObject({ namesCounts: true });
}, 180_000);

test('10,000 files of 10-100 bytes whose listing needs more than one LIST page: all arrive, equal', async () => {
  const spec: TreeSpec = {};
  for (let i = 0; i < 10_000; i++) {
    const name = `batch-${String(i % 100).padStart(2, '0')}-${'x'.repeat(40)}/item-${String(i).padStart(5, '0')}-${'y'.repeat(60)}.bin`;
    spec[name] = rnd.int(10, 100);
  }
  // the premise: one LIST body (count, then u16 length, name, u64 size per entry) cannot hold them all
  const listing = 4 + Object.keys(spec).reduce((n, f) => n + 2 + Buffer.byteLength(f) + 8, 0);
  expect(listing).toBeGreaterThan(MAX_LIST_BODY);
  const { src, out, r } = await fetchTree('ten-thousand', spec, 2);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(treeDifferences(src, out, isLock)).toEqual([]);
  expect(leftovers(out)).toEqual([]);
  expect(bytesReceived(r.logs)).toBeGreaterThanOrEqual(treeBytes(spec)); // more when the end game fetched a piece twice
  const last = lastLine(r.logs);
  process.stdout.write(`10,000 files: ${last.msg} (${JSON.stringify({ seconds: last.seconds })})\n`);
  expect({ last, namesCounts: namesCounts(last, 10_000, treeBytes(spec)) }).toMatchObject({ namesCounts: true });
}, 300_000);
