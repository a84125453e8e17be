/**
 * Directory mode: `segment-server -f DIR` serves the regular files below DIR by relative name and
 * the fetcher picks one with `--file NAME` (or MSD_FILE); without a name it fetches the whole
 * directory into -o (a directory, created when missing; test/e2e/set-*.test.ts cover sets fully).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { killAll, runFetcher, ServerSet, startServerSet } from '../helpers/processes';

let dir: string;
let served: string;
let servers: ServerSet;
let ports: string[];

beforeAll(async () => {
  dir = tempDir();
  served = path.join(dir, 'served');
  fs.mkdirSync(path.join(served, 'sub'), { recursive: true });
  randomFile(path.join(served, 'a.bin'), 1024 * 1024 + 3);
  randomFile(path.join(served, 'sub', 'x.bin'), 300 * 1024 + 1);
  servers = await startServerSet(served, 4, ['--piece-size', '64KiB']);
  ports = servers.ports.map(String);
});
afterAll(async () => {
  await servers?.stop();
  killAll();
  removeDir(dir);
});

test('the server indexes every file below the directory, by relative name', () => {
  const indexed = servers.logs().filter((l) => l.msg === 'indexed file').map((l) => l.file).sort();
  expect(indexed).toEqual(['a.bin', 'sub/x.bin']);
});

test('without --file the fetcher fetches every file into -o, a directory it creates, keeping the relative names', async () => {
  const out = path.join(dir, 'whole');
  const r = await runFetcher(['-o', out, '-p', ...ports]);
  expect(r.code).toBe(0);
  expect(fs.readdirSync(out).sort()).toEqual(['a.bin', 'sub']);
  expect(fs.readdirSync(path.join(out, 'sub'))).toEqual(['x.bin']);
  expect(sha256File(path.join(out, 'a.bin'))).toBe(sha256File(path.join(served, 'a.bin')));
  expect(sha256File(path.join(out, 'sub', 'x.bin'))).toBe(sha256File(path.join(served, 'sub', 'x.bin')));
});

test('--file NAME fetches that file from all servers', async () => {
  const out = path.join(dir, 'a-copy.bin');
  const r = await runFetcher(['--file', 'a.bin', '-o', out, '-p', ...ports]);
  expect(r.code).toBe(0);
  expect(sha256File(out)).toBe(sha256File(path.join(served, 'a.bin')));
});

test('--file sub/x.bin with -o DIR writes x.bin into that directory', async () => {
  const outDir = fs.mkdtempSync(path.join(dir, 'out-'));
  const r = await runFetcher(['--file', 'sub/x.bin', '-o', outDir, '-p', ...ports]);
  expect(r.code).toBe(0);
  expect(fs.readdirSync(outDir)).toEqual(['x.bin']);
  expect(sha256File(path.join(outDir, 'x.bin'))).toBe(sha256File(path.join(served, 'sub', 'x.bin')));
});

test('the file can be named by MSD_FILE and the servers by MSD_PORTS', async () => {
  const out = path.join(dir, 'x-env.bin');
  const r = await runFetcher(['-o', out], { env: { MSD_FILE: 'sub/x.bin', MSD_PORTS: ports.join(',') } });
  expect(r.code).toBe(0);
  expect(sha256File(out)).toBe(sha256File(path.join(served, 'sub', 'x.bin')));
});

test('a name the directory does not hold: exit 2, the message names it, nothing written', async () => {
  const out = path.join(dir, 'missing.bin');
  const r = await runFetcher(['--file', 'sub/nope.bin', '-o', out, '-p', ...ports]);
  expect(r.code).toBe(2);
  expect(r.logs.find((l) => l.level === 'error')?.msg).toContain('sub/nope.bin');
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.existsSync(`${out}.part`)).toBe(false);
});

test('a directory name is not a file: exit 2', async () => {
  const out = path.join(dir, 'subdir.bin');
  const r = await runFetcher(['--file', 'sub', '-o', out, '-p', ...ports]);
  expect(r.code).toBe(2);
  expect(fs.existsSync(out)).toBe(false);
});
