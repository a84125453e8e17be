/**
 * Set mode (issue 16): without --file, a fetcher against servers in directory mode fetches every
 * listed file into DIR under its relative path, with real segment-server and fetcher processes:
 * nested directories, empty files, files of one and of many pieces; a rerun on the complete set
 * receives nothing and touches nothing; -o may name a directory still to be made; a single-file
 * server is fetched as before.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { completion } from '../helpers/fetcher-run';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { killAll, runFetcher, ServerSet, startServerSet } from '../helpers/processes';
import { filesBelow, makeTree, stampsOf, treeBytes, treeDifferences, TreeSpec } from '../helpers/served-directory';
import { bytesReceived, isLock, lastLine, leftovers, namesCounts, portsOf, SET_LOCK, SET_PIECE, SET_STATE, startSetServers } from '../helpers/set-run';

const P = SET_PIECE;
/** Every shape a file of a set can have, at several depths. */
const TREE: TreeSpec = {
  'empty.bin': 0,
  'small.txt': 1000, // less than a piece
  'one-piece.bin': P,
  'exact-three.bin': 3 * P,
  'sub/several.bin': 5 * P + 17,
  'sub/also-empty': 0,
  'sub/deep/er/big.bin': 2 * 1024 * 1024 + 5,
  'sub/deep/er/tiny': 1,
  'only-empty/nothing.dat': 0, // a directory whose one file is empty still appears
  'z/last.bin': P + 1,
};
const FILES = Object.keys(TREE).length;
const BYTES = treeBytes(TREE);

let dir: string;
let src: string;
let four: ServerSet;
let two: ServerSet;

beforeAll(async () => {
  dir = tempDir('msd-set-');
  src = path.join(dir, 'served');
  makeTree(src, TREE);
  [four, two] = await Promise.all([startSetServers(src, 4), startSetServers(src, 2)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([four?.stop(), two?.stop()]);
  killAll();
  removeDir(dir);
});

const fetchSet = (servers: ServerSet, out: string, extra: string[] = []): ReturnType<typeof runFetcher> =>
  runFetcher(['-a', '127.0.0.1', '-p', ...portsOf(servers), '-o', out, ...extra], { timeoutMs: 60_000 });

const failed = (r: { code: number | null; stderr: string }): { code: number | null; stderr: string } =>
  ({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) });

describe.each([['2 servers', () => two], ['4 servers', () => four]])('%s', (_n, servers) => {
  test('every file arrives under its relative path, byte for byte; no .part, no state left; the last line counts files and bytes', async () => {
    const out = fs.mkdtempSync(path.join(dir, 'out-'));
    const r = await fetchSet(servers(), out);
    expect(failed(r)).toEqual({ code: 0, stderr: '' });
    expect(treeDifferences(src, out, isLock)).toEqual([]);
    expect(leftovers(out)).toEqual([]);
    expect(fs.existsSync(path.join(out, SET_STATE))).toBe(false);
    expect(filesBelow(out).filter((f) => !isLock(f))).toEqual(Object.keys(TREE).sort());
    const last = lastLine(r.logs);
    expect({ last, namesCounts: namesCounts(last, FILES, BYTES) }).toMatchObject({ namesCounts: true });
    expect(bytesReceived(r.logs)).toBeGreaterThanOrEqual(BYTES); // more when the end game fetched a piece twice
  });
});

test('a rerun on the complete set: exit 0, "already complete", 0 bytes received, every file untouched (inode and mtime)', async () => {
  const out = fs.mkdtempSync(path.join(dir, 'rerun-'));
  expect(failed(await fetchSet(four, out))).toEqual({ code: 0, stderr: '' });
  const names = Object.keys(TREE);
  const before = stampsOf(out, names);
  const r = await fetchSet(four, out);
  expect(failed(r)).toEqual({ code: 0, stderr: '' });
  expect(r.logs.filter((l) => /already complete/.test(l.msg))).not.toEqual([]);
  expect(bytesReceived(r.logs)).toBe(0);
  expect(stampsOf(out, names)).toEqual(before);
  expect(treeDifferences(src, out, isLock)).toEqual([]);
  expect(leftovers(out)).toEqual([]);
});

test('a rerun after one complete file was damaged in DIR: that file is fetched again, the others stay untouched', async () => {
  const out = fs.mkdtempSync(path.join(dir, 'damaged-'));
  expect(failed(await fetchSet(four, out))).toEqual({ code: 0, stderr: '' });
  const victim = 'sub/several.bin';
  const fd = fs.openSync(path.join(out, victim), 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, 2 * P + 9);
  b[0] ^= 0xff;
  fs.writeSync(fd, b, 0, 1, 2 * P + 9); // one byte of its third piece
  fs.closeSync(fd);
  expect(treeDifferences(src, out, isLock)).toEqual([`differs: ${victim}`]); // the premise: one byte flipped
  const others = Object.keys(TREE).filter((n) => n !== victim);
  const before = stampsOf(out, others);
  const r = await fetchSet(four, out);
  expect(failed(r)).toEqual({ code: 0, stderr: '' });
  expect(treeDifferences(src, out, isLock)).toEqual([]);
  expect(stampsOf(out, others)).toEqual(before);
  const received = bytesReceived(r.logs);
  expect(received).toBeGreaterThanOrEqual(P); // at least the damaged piece
  expect(received).toBeLessThan(BYTES); // not the whole set again
  expect(leftovers(out)).toEqual([]);
});

test('-o naming a directory that does not exist yet (its parent does): it is made, and the set lands in it', async () => {
  const out = path.join(fs.mkdtempSync(path.join(dir, 'parent-')), 'new-dir');
  const r = await fetchSet(two, out);
  expect(failed(r)).toEqual({ code: 0, stderr: '' });
  expect(fs.statSync(out).isDirectory()).toBe(true);
  expect(treeDifferences(src, out, isLock)).toEqual([]);
  expect(leftovers(out)).toEqual([]);
});

describe('a single-file server without --file: the single-file download, unchanged', () => {
  let single: ServerSet;
  let file: string;
  beforeAll(async () => {
    file = randomFile(path.join(dir, 'single.bin'), 5 * P + 3);
    single = await startServerSet(file, 2, ['--piece-size', String(P), '--no-index-cache', '--shutdown-timeout', '1']);
  });
  afterAll(() => single?.stop());

  test('-o FILE: that file, exact, with the "download complete" line; no set files made', async () => {
    const parent = fs.mkdtempSync(path.join(dir, 'single-'));
    const out = path.join(parent, 'copy.bin');
    const r = await fetchSet(single, out);
    expect(failed(r)).toEqual({ code: 0, stderr: '' });
    expect(sha256File(out)).toBe(sha256File(file));
    // received can pass the size: the end game may fetch a last piece twice
    expect(completion(r.logs)).toMatchObject({ size: 5 * P + 3, bytesReceived: expect.any(Number) });
    expect(fs.readdirSync(parent)).toEqual(['copy.bin']);
  });

  test('-o DIR: the file under its own name in DIR, and nothing else', async () => {
    const out = fs.mkdtempSync(path.join(dir, 'single-dir-'));
    const r = await fetchSet(single, out);
    expect(failed(r)).toEqual({ code: 0, stderr: '' });
    expect(fs.readdirSync(out)).toEqual(['single.bin']);
    expect(sha256File(path.join(out, 'single.bin'))).toBe(sha256File(file));
    expect(fs.existsSync(path.join(out, SET_LOCK))).toBe(false);
  });
});
