/**
 * Servers that disagree about a set (issue 16): one file's content differs between the servers'
 * directories, or one server lacks a file. The fetcher never mixes them: exit 4
 * (E_CONTENT_MISMATCH), the message names the differing file, and that file is never put in place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, tempDir } from '../helpers/files';
import { killAll, runFetcher, ServerSet } from '../helpers/processes';
import { makeTree, TreeSpec } from '../helpers/served-directory';
import { portsOf, SET_PIECE, startSetServers } from '../helpers/set-run';

const TREE: TreeSpec = {
  'agree-first.bin': 2 * SET_PIECE + 3,
  'sub/disputed.bin': 3 * SET_PIECE + 11,
  'sub/agree-second.txt': 500,
  'zz-agree-last.bin': SET_PIECE,
};

let dir: string;
const started: ServerSet[] = [];
beforeAll(() => { dir = tempDir('msd-set-disagree-'); });
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  killAll();
  removeDir(dir);
});

/** Directory A as TREE, directory B a copy of A changed by `change`; one server process on each. */
async function disagreeing(tag: string, change: (b: string) => void): Promise<{ a: ServerSet; b: ServerSet }> {
  const a = path.join(dir, tag, 'a');
  const b = path.join(dir, tag, 'b');
  makeTree(a, TREE);
  fs.cpSync(a, b, { recursive: true });
  change(b);
  const servers = await Promise.all([startSetServers(a, 1), startSetServers(b, 1)]);
  started.push(...servers);
  return { a: servers[0], b: servers[1] };
}

const disputed = path.join('sub', 'disputed.bin');
test.each([
  ['one file of the same size holds other bytes', (b: string) => { randomFile(path.join(b, disputed), TREE['sub/disputed.bin']); }, false],
  ['one file has another size', (b: string) => { randomFile(path.join(b, disputed), TREE['sub/disputed.bin'] + 1); }, false],
  ['the second server lacks a file', (b: string) => { fs.rmSync(path.join(b, disputed)); }, false],
  ['the first server lacks a file', (b: string) => { fs.rmSync(path.join(b, disputed)); }, true],
])('%s: exit 4, the message names that file, and it is not put in place', async (what, change, lackingFirst) => {
  const { a, b } = await disagreeing(what.replace(/\W+/g, '-'), change);
  const out = fs.mkdtempSync(path.join(dir, 'out-'));
  const order = lackingFirst ? [...portsOf(b), ...portsOf(a)] : [...portsOf(a), ...portsOf(b)];
  const r = await runFetcher(['-p', ...order, '-o', out], { timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 4 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 4, stderr: '' });
  const errors = r.logs.filter((l) => l.level === 'error');
  expect(errors.map((l) => l.code)).toEqual(['E_CONTENT_MISMATCH']);
  expect(errors[0].msg).toContain('sub/disputed.bin');
  // it names the differing file, not the ones the servers agree on
  expect(errors[0].msg).not.toMatch(/agree-first\.bin|agree-second\.txt|zz-agree-last\.bin/);
  expect(fs.existsSync(path.join(out, 'sub', 'disputed.bin'))).toBe(false);
});
