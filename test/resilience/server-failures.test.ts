/**
 * Servers that die, stall, or come back serving something else, mid-download, each a separate
 * process (`--port`/`--server-id`), rate-limited so the download is still running when it happens.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { completion, exitOf, startFetcher, waitForBytesDone } from '../helpers/fetcher-run';
import { killAll, LogLine, Proc, runFetcher } from '../helpers/processes';
import { startFleet, startFleetServer, stopForBytesSent } from '../helpers/server-fleet';

const MiB = 1024 * 1024;
const SIZE = 48 * MiB + 4321;
const RATE = 4 * MiB;

let dir: string;
let src: string;
let other: string;
let want: string;
beforeAll(() => {
  dir = tempDir('msd-server-failures-');
  src = randomFile(path.join(dir, 'a.bin'), SIZE);
  other = randomFile(path.join(dir, 'b.bin'), SIZE); // same size and piece size, other content
  want = sha256File(src);
});
afterAll(() => { killAll(); removeDir(dir); });

const label = (port: number): string => `127.0.0.1:${port}`;
const about = (port: number) => (l: LogLine): boolean => l.server === label(port);

function outPath(name: string): string {
  const d = fs.mkdtempSync(path.join(dir, `${name}-`));
  return path.join(d, 'out.bin');
}

async function stopAll(servers: Proc[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop('SIGTERM')));
}

test('one of four servers is killed mid-download: the download completes from the other three', async () => {
  const servers = await startFleet(src, [RATE, RATE, RATE, RATE]);
  const ports = servers.map((s) => s.ports[0]);
  const out = outPath('kill-one');
  const f = startFetcher(['-o', out, '-p', ...ports.map(String), '--state-interval', '0.2']);
  await waitForBytesDone(f, SIZE / 4);
  servers[2].child.kill('SIGKILL');
  const r = await exitOf(f, 60_000);
  expect({ code: r.code, stderr: r.code === 0 ? '' : f.stderr().slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(want);
  // the fetcher noticed and said so
  expect(f.logs().some((l) => about(ports[2])(l) && l.level === 'warn')).toBe(true);
  const others = await Promise.all([0, 1, 3].map((i) => stopForBytesSent(servers[i])));
  // the dead server's unfinished quarter came from the living
  expect(others.flat().reduce((a, b) => a + b, 0)).toBeGreaterThan(0.75 * SIZE + 2 * MiB);
}, 90_000);

test('a stalled server (SIGSTOP) loses its work within --stall-timeout; the download completes without it', async () => {
  const servers = await startFleet(src, [RATE, RATE, RATE, RATE]);
  const ports = servers.map((s) => s.ports[0]);
  const out = outPath('stall');
  const f = startFetcher(['-o', out, '-p', ...ports.map(String), '--stall-timeout', '2', '--state-interval', '0.2']);
  try {
    await waitForBytesDone(f, SIZE / 6);
    process.kill(servers[1].pid, 'SIGSTOP');
    const stoppedAt = performance.now();
    const stalled = await f.waitForLog((l) => about(ports[1])(l) && /stalled/.test(l.msg), 15_000);
    const movedAfterMs = performance.now() - stoppedAt;
    expect(stalled.level).toBe('warn');
    // no bytes for 2 s is noticed on the next 250 ms tick (plus scheduling slack on a busy machine)
    expect(movedAfterMs).toBeGreaterThan(1_500);
    expect(movedAfterMs).toBeLessThan(4_500);
    // it completes while the server is still frozen: the work really moved
    const r = await exitOf(f, 60_000);
    expect({ code: r.code, stderr: r.code === 0 ? '' : f.stderr().slice(-3000) }).toEqual({ code: 0, stderr: '' });
    expect(sha256File(out)).toBe(want);
  } finally {
    process.kill(servers[1].pid, 'SIGCONT');
  }
  await stopAll(servers);
}, 90_000);

test('a server restarted on other content (same port, same ID) is dropped with a clear message and never mixed in', async () => {
  const servers = await startFleet(src, [RATE, RATE, RATE, RATE]);
  const ports = servers.map((s) => s.ports[0]);
  const out = outPath('other-content');
  const f = startFetcher(['-o', out, '-p', ...ports.map(String), '--state-interval', '0.2']);
  await waitForBytesDone(f, SIZE / 4);
  servers[3].child.kill('SIGKILL');
  await servers[3].exited;
  const impostor = await startFleetServer(other, { serverId: 3, numServers: 4, port: ports[3], rateLimit: RATE });
  const r = await exitOf(f, 60_000);
  expect({ code: r.code, stderr: r.code === 0 ? '' : f.stderr().slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(want);
  const dropped = f.logs().filter((l) => about(ports[3])(l) && l.code === 'E_CONTENT_MISMATCH');
  expect(dropped).toHaveLength(1);
  expect(dropped[0].level).toBe('error');
  expect(dropped[0].msg).toMatch(/different content.*it gets no more work in this run, continuing with the others/);
  // not one byte of file content came from the impostor
  expect(await stopForBytesSent(impostor)).toEqual([0]);
  await stopAll([servers[0], servers[1], servers[2]]);
}, 90_000);

test('the only server restarted on other content: clear error, exit 4, partial kept; resumes once the right file is back', async () => {
  const rate = 2 * MiB;
  const size = 12 * MiB;
  const small = randomFile(path.join(dir, 'small.bin'), size);
  const server = await startFleetServer(small, { serverId: 0, numServers: 1, rateLimit: rate });
  const port = server.ports[0];
  const out = outPath('only-server');
  const args = ['-o', out, '-p', String(port), '--state-interval', '0.2'];
  const f = startFetcher(args);
  await waitForBytesDone(f, size / 4);
  server.child.kill('SIGKILL');
  await server.exited;
  const smallOther = randomFile(path.join(dir, 'small-other.bin'), size);
  const impostor = await startFleetServer(smallOther, { serverId: 0, numServers: 1, port, rateLimit: rate });
  const r = await exitOf(f, 60_000);
  expect(r.code).toBe(4);
  const err = f.logs().filter((l) => l.level === 'error').map((l) => l.msg);
  expect(err.some((m) => /every server now serves different content.*partial file and its state are kept/.test(m))).toBe(true);
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.existsSync(`${out}.part`)).toBe(true);
  expect(fs.existsSync(`${out}.part.state`)).toBe(true);
  expect(await stopForBytesSent(impostor)).toEqual([0]);

  // the right server is back: the same command resumes and finishes exactly
  const back = await startFleetServer(small, { serverId: 0, numServers: 1, port });
  const again = await runFetcher(args, { timeoutMs: 60_000 });
  expect({ code: again.code, stderr: again.code === 0 ? '' : again.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(sha256File(small));
  expect(again.logs.some((l) => /^resuming: [1-9]/.test(l.msg))).toBe(true);
  expect(completion(again.logs).resumedBytes).toBeGreaterThanOrEqual(size / 4 - MiB);
  await back.stop('SIGTERM');
}, 90_000);
