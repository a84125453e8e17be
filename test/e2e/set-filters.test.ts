/**
 * Choosing files of a set (issue 16): --include / --exclude globs on the relative path (also as
 * MSD_INCLUDE / MSD_EXCLUDE and the config file's include / exclude), and the usage errors around
 * set mode: --file with a filter, a filter against a single-file server, -o naming a regular file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { killAll, runFetcher, ServerSet, startServerSet } from '../helpers/processes';
import { filesBelow, makeTree, TreeSpec } from '../helpers/served-directory';
import { isLock, leftovers, portsOf, SET_PIECE, startSetServers } from '../helpers/set-run';

const TREE: TreeSpec = {
  'config.json': 300,
  'sub/a.json': 2 * SET_PIECE + 1,
  'sub/deep/b.json': 10,
  'data/x.json.bak': 100, // not *.json
  'notes.txt': 50,
  'sub/notes.txt': 50,
  'shard-00001.bin': SET_PIECE + 7,
  'shard-00002.bin': 1000,
  'shard-00003.bin': 1000,
  'shard-00004.bin': 3 * SET_PIECE,
  'sub/shard-00005.bin': 1000, // 'shard-*' is matched against the whole relative path
};
/** `**\/*.json` or `shard-*`, minus `shard-0000[2-3]*`. */
const CHOSEN = ['config.json', 'shard-00001.bin', 'shard-00004.bin', 'sub/a.json', 'sub/deep/b.json'];

let dir: string;
let src: string;
let servers: ServerSet;
let single: ServerSet;

beforeAll(async () => {
  dir = tempDir('msd-set-filters-');
  src = path.join(dir, 'served');
  makeTree(src, TREE);
  [servers, single] = await Promise.all([
    startSetServers(src, 3),
    startServerSet(randomFile(path.join(dir, 'single.bin'), 3000), 1, ['--no-index-cache', '--shutdown-timeout', '1']),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([servers?.stop(), single?.stop()]);
  killAll();
  removeDir(dir);
});

/** What arrived in `out` (the lock aside), each checked against its source. */
function arrivedExact(out: string): string[] {
  const names = filesBelow(out).filter((f) => !isLock(f));
  for (const f of names.filter((n) => !n.endsWith('.part'))) expect([f, sha256File(path.join(out, f))]).toEqual([f, sha256File(path.join(src, f))]);
  return names;
}

const filterCases: Array<[string, string[], NodeJS.ProcessEnv, (d: string) => string[]]> = [
  ['flags', ['--include', '**/*.json', '--include', 'shard-*', '--exclude', 'shard-0000[2-3]*'], {}, () => []],
  ['MSD_INCLUDE / MSD_EXCLUDE', [], { MSD_INCLUDE: '**/*.json,shard-*', MSD_EXCLUDE: 'shard-0000[2-3]*' }, () => []],
  ['the config file', [], {}, (d) => {
    const f = path.join(d, 'fetcher.json');
    fs.writeFileSync(f, JSON.stringify({ include: ['**/*.json', 'shard-*'], exclude: ['shard-0000[2-3]*'] }));
    return ['--config', f];
  }],
];

test.each(filterCases)('include and exclude by %s: exactly the matching files arrive, nothing else', async (_how, flags, env, config) => {
  const out = fs.mkdtempSync(path.join(dir, 'out-'));
  const r = await runFetcher(['-p', ...portsOf(servers), '-o', out, ...flags, ...config(dir)], { env, timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(arrivedExact(out)).toEqual(CHOSEN);
  expect(leftovers(out)).toEqual([]);
});

test('an exclude alone drops its matches and keeps the rest', async () => {
  const out = fs.mkdtempSync(path.join(dir, 'exclude-'));
  const r = await runFetcher(['-p', ...portsOf(servers), '-o', out, '--exclude', '**/*.txt', '--exclude', 'sub/**'], { timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(arrivedExact(out)).toEqual(['config.json', 'data/x.json.bak', 'shard-00001.bin', 'shard-00002.bin', 'shard-00003.bin', 'shard-00004.bin']);
});

describe('usage errors: exit 2, a message naming the setting, nothing written', () => {
  test.each([['--include'], ['--exclude']])('--file together with %s', async (flag) => {
    const out = fs.mkdtempSync(path.join(dir, 'file-and-filter-'));
    const r = await runFetcher(['-p', ...portsOf(servers), '-o', out, '--file', 'config.json', flag, '*.json']);
    expect(r.code).toBe(2);
    const err = r.logs.filter((l) => l.level === 'error').map((l) => l.msg).join('\n') || r.stderr;
    expect(err).toContain('--file');
    expect(err).toContain(flag);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  test.each([
    ['--include', ['--include', '*.bin'], {}],
    ['--exclude', ['--exclude', '*.txt'], {}],
    ['MSD_INCLUDE', [], { MSD_INCLUDE: '*.bin' }],
  ])('%s against a single-file server', async (setting, flags, env) => {
    const out = fs.mkdtempSync(path.join(dir, 'single-filter-'));
    const r = await runFetcher(['-p', ...portsOf(single), '-o', out, ...flags], { env });
    expect(r.code).toBe(2);
    const err = r.logs.filter((l) => l.level === 'error').map((l) => l.msg).join('\n') || r.stderr;
    expect(err).toContain(setting.startsWith('--') ? setting : setting.replace('MSD_', '').toLowerCase());
    expect(fs.readdirSync(out)).toEqual([]);
  });

  test('-o naming an existing regular file in set mode: the file is left as it was', async () => {
    const out = randomFile(path.join(fs.mkdtempSync(path.join(dir, 'regular-')), 'taken.bin'), 777);
    const before = sha256File(out);
    const r = await runFetcher(['-p', ...portsOf(servers), '-o', out]);
    expect(r.code).toBe(2);
    const err = r.logs.filter((l) => l.level === 'error').map((l) => l.msg).join('\n') || r.stderr;
    expect(err).toContain(out);
    expect(sha256File(out)).toBe(before);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['taken.bin']);
  });
});
