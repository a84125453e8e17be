/**
 * The persisted index with real files and real server processes: a 100 GiB sparse file served from
 * its cache without hashing; a file changed in place re-indexed, never served from a stale cache; a
 * damaged or foreign cache rebuilt; two servers sharing one cache directory; a read-only cache
 * directory (a real read-only bind mount, EROFS) falls back to indexing in memory; the index command
 * and --expect-content-id. Files are backdated where a cache must be written: a file modified less
 * than 2 s before indexing is (rightly) served but not cached.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contentIdentity, decodeInfoBody, fileIndexOf, PieceGrid, RequestType, Status } from '@msd/common';
import { cacheFileFor, stampOf, writeIndexCache } from '../../services/segment-server/src/index-cache';
import { randomFile, removeDir, sparseFile, tempDir } from '../helpers/files';
import { killAll, LogLine, runToExit, SERVER_BIN, startServers } from '../helpers/processes';
import { RawConnection } from '../helpers/raw-protocol-client';

const PIECE = 64 * 1024;
let dir: string;
beforeAll(() => { dir = tempDir('msd-index-cache-'); });
afterAll(() => { killAll(); removeDir(dir); });

/** Last modified an hour ago: old enough to be cached. */
function backdate(file: string, secondsAgo = 3600): void {
  const t = Date.now() / 1000 - secondsAgo;
  fs.utimesSync(file, t, t);
}

/** The content identity of a file, hashed here in one thread (the reference). */
function identityOf(file: string, pieceSize: number): string {
  const bytes = fs.readFileSync(file);
  const g = new PieceGrid(bytes.length, pieceSize);
  const d = Buffer.alloc(g.count * 32);
  for (let p = 0; p < g.count; p++) createHash('sha256').update(bytes.subarray(g.start(p), g.end(p))).digest().copy(d, p * 32);
  return contentIdentity(bytes.length, pieceSize, d).toString('hex');
}

const indexed = (logs: LogLine[]): LogLine[] => logs.filter((l) => l.msg === 'indexed file');

/** Starts a server on `file`, waits until it listens, returns its 'indexed file' lines and all logs, stops it. */
async function serveOnce(file: string, extra: string[] = []): Promise<{ indexed: LogLine[]; logs: LogLine[] }> {
  const s = await startServers(['-f', file, '--port', '0', '--piece-size', String(PIECE), ...extra]);
  await s.stop();
  return { indexed: indexed(s.logs()), logs: s.logs() };
}

test('a 100 GiB sparse file whose cache matches is served without hashing a byte', async () => {
  const BIG = 100 * 1024 ** 3;
  const P = 16 << 20;
  const file = sparseFile(path.join(dir, 'huge.img'), BIG);
  backdate(file);
  // the cache a previous run would have written: every piece of a hole is the digest of zeros
  const grid = new PieceGrid(BIG, P);
  const zero = createHash('sha256').update(Buffer.alloc(P)).digest();
  const digests = Buffer.alloc(grid.count * 32);
  for (let p = 0; p < grid.count; p++) zero.copy(digests, p * 32);
  const fd = fs.openSync(file, 'r');
  const stamp = stampOf(fs.fstatSync(fd, { bigint: true }));
  fs.closeSync(fd);
  const cacheDir = path.join(dir, 'huge-cache');
  await writeIndexCache(cacheFileFor(cacheDir, fs.realpathSync(file), P), stamp, fileIndexOf(grid, digests));

  const s = await startServers(['-f', file, '--port', '0', '--piece-size', '16MiB', '--index-cache-dir', cacheDir]);
  let client: RawConnection | undefined;
  try {
    const [line] = indexed(s.logs());
    expect(line).toMatchObject({ source: 'cache', size: BIG, pieces: 6400, contentId: contentIdentity(BIG, P, digests).toString('hex') });
    expect(s.logs().some((l) => /indexing/.test(l.msg))).toBe(false);
    client = await RawConnection.open({ port: s.ports[0] });
    await client.handshake();
    client.request({ type: RequestType.INFO, id: 1, a: 0, b: 0, name: '' });
    client.request({ type: RequestType.GET, id: 2, a: BIG - 4096, b: 4096, name: '' });
    const [info, tail] = await client.frames(2, 20_000);
    expect(decodeInfoBody(info.body).contentId.equals(contentIdentity(BIG, P, digests))).toBe(true);
    expect(tail.header.status).toBe(Status.OK);
    expect(tail.body.equals(Buffer.alloc(4096))).toBe(true);
  } finally {
    client?.destroy();
    await s.stop();
  }
});

test('a file changed in place (same size, new bytes, new mtime) is indexed again, never served from its stale cache', async () => {
  const file = randomFile(path.join(dir, 'changes.bin'), 10 * PIECE + 77);
  backdate(file, 7200);
  const first = await serveOnce(file);
  expect(first.indexed[0]).toMatchObject({ source: 'hashed', contentId: identityOf(file, PIECE) });
  expect(fs.existsSync(String(first.indexed[0].cache))).toBe(true);
  expect((await serveOnce(file)).indexed[0].source).toBe('cache');

  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, randomBytes(100), 0, 100, 3 * PIECE + 5);
  fs.closeSync(fd);
  backdate(file, 3600);
  const after = await serveOnce(file);
  expect(after.logs.find((l) => /^index cache not used/.test(l.msg))?.msg).toMatch(/the file changed since it was indexed \(modified .* -> .*\); indexing again/);
  expect(after.indexed[0]).toMatchObject({ source: 'hashed', contentId: identityOf(file, PIECE) });
  expect(after.indexed[0].contentId).not.toBe(first.indexed[0].contentId);
  expect((await serveOnce(file)).indexed[0]).toMatchObject({ source: 'cache', contentId: identityOf(file, PIECE) });
});

test('a damaged cache and a foreign cache are rebuilt, and the log says why', async () => {
  const a = randomFile(path.join(dir, 'a.bin'), 5 * PIECE);
  const b = randomFile(path.join(dir, 'b.bin'), 5 * PIECE);
  backdate(a);
  backdate(b);
  const cacheA = String((await serveOnce(a)).indexed[0].cache);
  const cacheB = String((await serveOnce(b)).indexed[0].cache);

  const bytes = fs.readFileSync(cacheA);
  bytes[100] ^= 0x01; // inside a digest
  fs.writeFileSync(cacheA, bytes);
  const damaged = await serveOnce(a);
  expect(damaged.logs.find((l) => /^index cache not used/.test(l.msg))?.msg).toBe('index cache not used: it is damaged (its checksum does not match its bytes); indexing again');
  expect(damaged.indexed[0]).toMatchObject({ source: 'hashed', contentId: identityOf(a, PIECE) });

  fs.copyFileSync(cacheB, cacheA); // b's cache under a's name
  const foreign = await serveOnce(a);
  expect(foreign.logs.find((l) => /^index cache not used/.test(l.msg))?.msg).toMatch(/it was made for another file \(device:inode \d+:\d+, this file is \d+:\d+\)/);
  expect(foreign.indexed[0]).toMatchObject({ source: 'hashed', contentId: identityOf(a, PIECE) });

  const other = await serveOnce(a, ['--piece-size', String(2 * PIECE)]);
  expect(other.indexed[0]).toMatchObject({ source: 'hashed', contentId: identityOf(a, 2 * PIECE) });
  expect((await serveOnce(a)).indexed[0].source).toBe('cache'); // each piece size has its own cache file
});

test('two servers indexing one directory into one cache directory at once leave whole, valid caches', async () => {
  const served = path.join(dir, 'shared-src');
  fs.mkdirSync(path.join(served, 'sub'), { recursive: true });
  const names = ['one.bin', 'two.bin', 'sub/three.bin', 'four.bin', 'five.bin', 'six.bin'];
  for (const [i, n] of names.entries()) backdate(randomFile(path.join(served, n), (i + 1) * 7 * PIECE + i));
  const cacheDir = path.join(dir, 'shared-cache');
  const args = ['-f', served, '--port', '0', '--piece-size', String(PIECE), '--index-cache-dir', cacheDir, '--hash-threads', '1'];
  const [s1, s2] = await Promise.all([startServers(args), startServers(args)]);
  await Promise.all([s1.stop(), s2.stop()]);
  for (const s of [s1, s2]) expect(indexed(s.logs()).map((l) => l.file).sort()).toEqual([...names].sort());

  const files = fs.readdirSync(cacheDir);
  expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  expect(files.length).toBe(names.length);
  const third = await startServers(args);
  await third.stop();
  const lines = indexed(third.logs());
  expect(lines.map((l) => l.source)).toEqual(names.map(() => 'cache'));
  for (const l of lines) expect(l.contentId).toBe(identityOf(path.join(served, String(l.file)), PIECE));
});

test('a read-only cache directory: the index lives in memory, with a warning, and the file is served', async () => {
  const file = randomFile(path.join(dir, 'ro.bin'), 6 * PIECE + 1);
  backdate(file);
  const roDir = path.join(dir, 'ro-cache');
  fs.mkdirSync(roDir);
  // a private mount namespace: the directory is bind-mounted read-only for this server alone
  const script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && exec "$2" "$3" -f "$4" --port 0 --piece-size "$5" --index-cache-dir "$1" --log-format json';
  const child = spawn('unshare', ['-m', 'sh', '-c', script, 'sh', roDir, process.execPath, SERVER_BIN, file, String(PIECE)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('"msg":"listening"')) resolve(); });
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${err}`)));
  });
  try {
    await listening;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  const logs = err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
  expect(logs.find((l) => l.level === 'warn')?.msg).toMatch(/^index cache not written \(EROFS\): the index lives in memory and is hashed again at every start/);
  expect(indexed(logs)[0]).toMatchObject({ source: 'hashed', cache: 'none', contentId: identityOf(file, PIECE) });
  expect(fs.readdirSync(roDir)).toEqual([]);
});

test('a just-written file is served but not cached; the index command waits that window out and caches it', async () => {
  const file = randomFile(path.join(dir, 'fresh.bin'), 3 * PIECE);
  const served = await serveOnce(file, ['--index-cache-dir', path.join(dir, 'fresh-cache')]);
  expect(served.logs.some((l) => /^index not cached: the file was modified less than 2 s before indexing started/.test(l.msg))).toBe(true);
  expect(served.indexed[0]).toMatchObject({ source: 'hashed', cache: 'none' });

  const fresh2 = randomFile(path.join(dir, 'fresh2.bin'), 3 * PIECE);
  const r = await runToExit(SERVER_BIN, ['index', fresh2, '--piece-size', String(PIECE)]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/not cached|not written/) });
  expect(r.stdout).toBe(`${identityOf(fresh2, PIECE)}  fresh2.bin\n`);
  expect((await serveOnce(fresh2)).indexed[0].source).toBe('cache');
});

test('--expect-content-id: the pinned identity starts, another exits 2 naming both', async () => {
  const file = randomFile(path.join(dir, 'pinned.bin'), 4 * PIECE + 3);
  backdate(file);
  const id = identityOf(file, PIECE);
  const ok = await serveOnce(file, ['--expect-content-id', id.toUpperCase()]);
  expect(ok.indexed[0].contentId).toBe(id);
  const wrong = 'ab'.repeat(32);
  for (const args of [['-f', file, '--port', '0'], ['index', file]]) {
    const r = await runToExit(SERVER_BIN, [...args, '--piece-size', String(PIECE), '--expect-content-id', wrong]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`has content identity ${id}, but expect-content-id (--expect-content-id, MSD_EXPECT_CONTENT_ID) is ${wrong}`);
  }
  const bad = await runToExit(SERVER_BIN, ['-f', file, '--port', '0', '--expect-content-id', 'xyz']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/"xyz" is not 64 hex digits/);
});

test('a served directory keeps its caches in its own .msd-index, which is never served', async () => {
  const served = path.join(dir, 'beside-src');
  fs.mkdirSync(path.join(served, 'deep'), { recursive: true });
  for (const n of ['x.bin', 'deep/y.bin']) backdate(randomFile(path.join(served, n), 3 * PIECE + 9));
  const first = await serveOnce(served);
  expect(first.indexed.map((l) => [l.file, l.source]).sort()).toEqual([['deep/y.bin', 'hashed'], ['x.bin', 'hashed']]);
  expect(fs.readdirSync(path.join(served, '.msd-index')).length).toBe(2);
  const again = await serveOnce(served);
  expect(again.indexed.map((l) => [l.file, l.source]).sort()).toEqual([['deep/y.bin', 'cache'], ['x.bin', 'cache']]);
  // a cache directory of another name inside the served directory is not served either
  const inside = await serveOnce(served, ['--index-cache-dir', path.join(served, 'caches')]);
  expect(inside.indexed.map((l) => l.file).sort()).toEqual(['deep/y.bin', 'x.bin']);
  expect(fs.readdirSync(path.join(served, 'caches')).length).toBe(2);
  expect((await serveOnce(served, ['--index-cache-dir', path.join(served, 'caches')])).indexed.map((l) => l.file).sort()).toEqual(['deep/y.bin', 'x.bin']);
});

test('a crashed writer\'s old temp file is removed at the next write; a young one (another writer) is left alone; --no-index-cache writes nothing', async () => {
  const file = randomFile(path.join(dir, 'temps.bin'), 2 * PIECE);
  backdate(file);
  const cacheDir = path.join(dir, 'temps-cache');
  const entry = cacheFileFor(cacheDir, fs.realpathSync(file), PIECE);
  fs.mkdirSync(cacheDir);
  const old = `${entry}.4242.deadbeef.tmp`;
  const young = `${entry}.4343.cafebabe.tmp`;
  fs.writeFileSync(old, 'half a cache');
  fs.writeFileSync(young, 'being written');
  backdate(old, 7200);
  expect((await serveOnce(file, ['--index-cache-dir', cacheDir])).indexed[0].source).toBe('hashed');
  expect(fs.readdirSync(cacheDir).sort()).toEqual([path.basename(entry), path.basename(young)].sort());

  const off = path.join(dir, 'off-cache');
  const r = await serveOnce(file, ['--index-cache-dir', off, '--no-index-cache']);
  expect(r.indexed[0]).toMatchObject({ source: 'hashed', cache: 'none', contentId: identityOf(file, PIECE) });
  expect(fs.existsSync(off)).toBe(false);
});
