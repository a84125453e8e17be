/**
 * A server whose stream has one byte of one piece flipped, every time it sends that piece (a
 * protocol-aware proxy between it and the fetcher): the fetcher detects it, fetches the piece
 * again from another server, and the result is exact. A server that corrupts every piece is banned
 * after a few and the others finish the file. With no other server, it gives up clearly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptingProxy, startCorruptingProxy } from '../helpers/corrupting-proxy';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { killAll, runFetcher, startServerSet } from '../helpers/processes';
import { startFleet } from '../helpers/server-fleet';

const MiB = 1024 * 1024;
const SIZE = 32 * MiB + 999;
const RATE = 4 * MiB;

let dir: string;
let src: string;
const proxies: CorruptingProxy[] = [];
beforeAll(() => {
  dir = tempDir('msd-corrupt-');
  src = randomFile(path.join(dir, 'src.bin'), SIZE);
});
afterAll(async () => {
  killAll();
  await Promise.all(proxies.map((p) => p.close()));
  removeDir(dir);
});

test('a piece corrupted in transit by one server is detected, fetched from another, and the result is exact', async () => {
  const servers = await startServerSet(src, 4, ['--rate-limit', String(RATE), '--shutdown-timeout', '2']);
  // piece 9 lies in server 1's run (pieces 8..15 of 33): it asks for it among its first requests
  const badPiece = 9;
  const proxy = await startCorruptingProxy(servers.ports[1], badPiece * MiB + 12_345);
  proxies.push(proxy);
  const ports = [servers.ports[0], proxy.port, servers.ports[2], servers.ports[3]];
  const out = path.join(dir, 'out.bin');
  const r = await runFetcher(['-o', out, '-p', ...ports.map(String)], { timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(sha256File(src));
  expect(proxy.corruptions()).toBeGreaterThanOrEqual(1);
  const failed = r.logs.filter((l) => /piece failed verification/.test(l.msg));
  // once, from the proxy; the second copy came from a server that sends it intact
  expect(failed.map((l) => ({ level: l.level, piece: l.piece, server: l.server }))).toEqual([
    { level: 'warn', piece: badPiece, server: `127.0.0.1:${proxy.port}` },
  ]);
  await servers.stop('SIGTERM');
}, 90_000);

test('the fastest server always corrupts one piece: end game never hands it back to that server', async () => {
  // the honest server is slow, so at the end its copy of the piece is the one a fast idle worker
  // would duplicate; the duplicate must not come from the server whose copy failed
  const size = 16 * MiB;
  const file = randomFile(path.join(dir, 'fast-bad.bin'), size);
  const fleet = await startFleet(file, [8 * MiB, 1 * MiB]);
  const proxy = await startCorruptingProxy(fleet[0].ports[0], 2 * MiB + 100);
  proxies.push(proxy);
  const out = path.join(dir, 'fast-bad-out.bin');
  const r = await runFetcher(['-o', out, '-p', String(proxy.port), String(fleet[1].ports[0])], { timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(sha256File(file));
  expect(r.logs.filter((l) => /piece failed verification/.test(l.msg)).map((l) => l.piece)).toEqual([2]);
  expect(proxy.corruptions()).toBe(1); // the corrupting server was asked for piece 2 once only
  await Promise.all(fleet.map((s) => s.stop('SIGTERM')));
}, 60_000);

test('a piece that only a corrupting server can give fails after repeated attempts with a clear error (exit 6), state kept', async () => {
  const size = 4 * MiB;
  const one = randomFile(path.join(dir, 'one.bin'), size);
  const servers = await startServerSet(one, 1, ['--shutdown-timeout', '2']);
  const proxy = await startCorruptingProxy(servers.ports[0], 2 * MiB + 7);
  proxies.push(proxy);
  const out = path.join(dir, 'one-out.bin');
  const r = await runFetcher(['-o', out, '-p', String(proxy.port)], { timeoutMs: 60_000 });
  expect(r.code).toBe(6);
  const errors = r.logs.filter((l) => l.level === 'error');
  // its third bad copy bans the only server: nothing is left to fetch from
  expect(errors.map((l) => ({ msg: l.msg, code: l.code }))).toEqual([
    { msg: expect.stringMatching(new RegExp(`^server 127\\.0\\.0\\.1:${proxy.port} sent 3 pieces that failed verification; it gets no more work`)), code: 'E_VERIFY' },
    { msg: expect.stringMatching(/^every server left the run after sending pieces that failed verification/), code: 'E_VERIFY' },
  ]);
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.existsSync(`${out}.part.state`)).toBe(true);
  await servers.stop('SIGTERM');
}, 60_000);

test('a server that corrupts every piece is banned after 3 bad pieces; the others fetch the rest, exact', async () => {
  const size = 64 * MiB;
  const file = randomFile(path.join(dir, 'every.bin'), size);
  const servers = await startServerSet(file, 4, ['--rate-limit', String(8 * MiB), '--shutdown-timeout', '2']);
  const proxy = await startCorruptingProxy(servers.ports[1], { every: MiB, at: 4321 });
  proxies.push(proxy);
  const out = path.join(dir, 'every-out.bin');
  const ports = [servers.ports[0], proxy.port, servers.ports[2], servers.ports[3]];
  const r = await runFetcher(['-o', out, '-p', ...ports.map(String)], { timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(sha256File(file));
  const banned = r.logs.filter((l) => /sent 3 pieces that failed verification; it gets no more work in this run/.test(l.msg));
  expect(banned.map((l) => ({ level: l.level, server: l.server, code: l.code }))).toEqual([{ level: 'error', server: `127.0.0.1:${proxy.port}`, code: 'E_VERIFY' }]);
  // a few more may fail: the pieces already in flight from it when it was banned (pipeline 4)
  const failed = r.logs.filter((l) => /piece failed verification/.test(l.msg));
  expect(failed.length).toBeGreaterThanOrEqual(3);
  expect(failed.length).toBeLessThanOrEqual(3 + 4);
  expect(new Set(failed.map((l) => l.server))).toEqual(new Set([`127.0.0.1:${proxy.port}`]));
  // its share went to the others: it delivered a small part of the file, not a quarter
  expect(proxy.bytesDown()).toBeLessThan(size / 8);
  await servers.stop('SIGTERM');
}, 90_000);
