/**
 * "Every piece verified" must always be true, however the fetcher is misused (issue 12), with real
 * processes: two fetchers on one output, a part file changed between runs, a rerun on a complete or
 * damaged output, peers that are not segment servers, a server at its connection limit, a stalled
 * server in the progress line.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Bitfield, contentIdentity, encodeServerHello, hashPieces } from '@msd/common';
import { encodeState } from '../../services/fetcher/src/resume-state';
import { makeTestPki } from '../helpers/certs';
import { completion, exitOf, messages, startFetcher, waitForBytesDone } from '../helpers/fetcher-run';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { killAll, runFetcher, ServerSet, startServerSet } from '../helpers/processes';
import { startFleet } from '../helpers/server-fleet';

const MiB = 1024 * 1024;
const SIZE = 24 * MiB + 321;

let dir: string;
let src: string;
let slow: ServerSet; // 4 listeners, 2 MiB/s each: a download takes ~3 s
let fast: ServerSet;
const closers: Array<() => void> = [];

beforeAll(async () => {
  dir = tempDir('msd-misuse-');
  src = randomFile(path.join(dir, 'src.bin'), SIZE);
  [slow, fast] = await Promise.all([
    startServerSet(src, 4, ['--rate-limit', String(2 * MiB), '--shutdown-timeout', '1']),
    startServerSet(src, 4, ['--shutdown-timeout', '1']),
  ]);
}, 60_000);

afterAll(async () => {
  for (const c of closers) c();
  await Promise.all([slow?.stop('SIGTERM'), fast?.stop('SIGTERM')]);
  killAll();
  removeDir(dir);
});

const portsOf = (s: ServerSet): string[] => s.ports.map(String);
const out = (name: string): string => path.join(dir, name);

/** A part file with saved state covering at least `bytes`, left by a SIGKILLed fetcher. */
async function interrupted(o: string, bytes: number): Promise<void> {
  const p = startFetcher(['-o', o, '-p', ...portsOf(slow), '--state-interval', '0.2']);
  await waitForBytesDone(p, bytes);
  await new Promise((r) => setTimeout(r, 500)); // a state save after that progress line
  p.child.kill('SIGKILL');
  await exitOf(p);
}

/** A plain TCP peer that does `onConnect` with each client; closed after the file's tests. */
async function peer(onConnect: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => { s.on('error', () => undefined); onConnect(s); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

describe('one fetcher per output', () => {
  test('a second fetcher on the same output exits 9 at once naming the first (also with --no-resume); the first finishes exact', async () => {
    const o = out('locked.bin');
    const first = startFetcher(['-o', o, '-p', ...portsOf(slow)]);
    await waitForBytesDone(first, 2 * MiB);
    for (const extra of [[], ['--no-resume']]) {
      const second = await runFetcher(['-o', o, '-p', ...portsOf(fast), ...extra], { timeoutMs: 20_000 });
      expect(second.code).toBe(9);
      const err = second.logs.filter((l) => l.level === 'error');
      expect(err.map((l) => l.code)).toEqual(['E_LOCKED']);
      expect(err[0].msg).toMatch(new RegExp(`is being downloaded by fetcher PID ${first.pid} on host \\S+ \\(since .*\\); nothing was changed`));
      expect(second.logs.filter((l) => l.msg === 'connected')).toEqual([]); // it took nothing
    }
    expect(await exitOf(first)).toEqual({ code: 0, signal: null });
    expect(sha256File(o)).toBe(sha256File(src));
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('locked.bin'))).toEqual(['locked.bin']); // no lock file left
  }, 60_000);

  test('a SIGKILLed fetcher leaves no lock behind: the next run resumes at once', async () => {
    const o = out('killed.bin');
    await interrupted(o, 4 * MiB);
    expect(fs.existsSync(`${o}.lock`)).toBe(true); // the file stays; the kernel dropped the lock with the process
    const again = await runFetcher(['-o', o, '-p', ...portsOf(fast)], { timeoutMs: 30_000 });
    expect({ code: again.code, stderr: again.code === 0 ? '' : again.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    expect(again.logs.some((l) => /^resuming: [1-9]\d* of \d+ pieces already verified/.test(l.msg))).toBe(true);
    expect(sha256File(o)).toBe(sha256File(src));
    expect(fs.existsSync(`${o}.lock`)).toBe(false);
  }, 60_000);
});

describe('bytes kept from an earlier run are hashed again before the rename', () => {
  test('one byte flipped in a verified piece of the part file is caught, fetched again, exact result', async () => {
    const o = out('flipped.bin');
    await interrupted(o, 6 * MiB);
    // piece 0 is the first of server 0's run: verified by now
    const fd = fs.openSync(`${o}.part`, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 1000);
    b[0] ^= 0x01;
    fs.writeSync(fd, b, 0, 1, 1000);
    fs.closeSync(fd);
    const r = await runFetcher(['-o', o, '-p', ...portsOf(fast)], { timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    expect(sha256File(o)).toBe(sha256File(src));
    expect(messages(r.logs).filter((m) => /kept from the earlier run no longer matches/.test(m))).toHaveLength(1);
    expect(r.logs.find((l) => /no longer matches/.test(l.msg))?.piece).toBe(0);
    expect(r.logs.some((l) => /^re-checking \d+ pieces kept from the earlier run/.test(l.msg))).toBe(true);
  }, 60_000);

  test('a part file swapped under its state (zeros) is caught piece by piece, never shipped', async () => {
    const o = out('swapped.bin');
    await interrupted(o, 6 * MiB);
    const size = fs.statSync(`${o}.part`).size;
    fs.writeFileSync(`${o}.part`, Buffer.alloc(size)); // same size, other bytes; the state still says "verified"
    const r = await runFetcher(['-o', o, '-p', ...portsOf(fast)], { timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    expect(sha256File(o)).toBe(sha256File(src));
    const resumed = Number(/^resuming: (\d+) of/.exec(r.logs.find((l) => l.msg.startsWith('resuming:'))!.msg)![1]);
    expect(resumed).toBeGreaterThanOrEqual(6);
    expect(messages(r.logs).filter((m) => /kept from the earlier run no longer matches/.test(m))).toHaveLength(resumed);
    expect(completion(r.logs).bytesReceived).toBeGreaterThanOrEqual(SIZE - 2 * MiB); // all of it again, but partials
  }, 60_000);

  test('a state that calls every piece verified (a kill just before the rename): all hashed again, then renamed; nothing received', async () => {
    const o = out('all-done.bin');
    const piece = 1024 * 1024;
    const count = Math.ceil(SIZE / piece);
    fs.copyFileSync(src, `${o}.part`);
    const done = new Bitfield(count);
    for (let p = 0; p < count; p++) done.set(p);
    const contentId = contentIdentity(SIZE, piece, await hashPieces(src, SIZE, piece));
    fs.writeFileSync(`${o}.part.state`, encodeState({ size: SIZE, pieceSize: piece, pieceCount: count, contentId, done, partial: new Map() }));
    const r = await runFetcher(['-o', o, '-p', ...portsOf(fast)], { timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    expect(r.logs.some((l) => l.msg === `re-checking ${count} pieces kept from the earlier run before they are shipped`)).toBe(true);
    expect(completion(r.logs).bytesReceived).toBe(0);
    expect(sha256File(o)).toBe(sha256File(src));
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('all-done.bin'))).toEqual(['all-done.bin']);
  }, 60_000);
});

describe('reruns', () => {
  test('on a complete output: checked locally, exit 0, no byte received, the file untouched', async () => {
    const o = out('complete.bin');
    expect((await runFetcher(['-o', o, '-p', ...portsOf(fast)])).code).toBe(0);
    const before = fs.statSync(o);
    const r = await runFetcher(['-o', o, '-p', ...portsOf(fast)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${o.replace(/[.]/g, '\\.')} is already complete: ${SIZE} bytes .*every piece checked against the servers' digests, nothing downloaded; content [0-9a-f]{64}\\n$`));
    expect(r.logs.filter((l) => l.msg === 'connected')).toEqual([]);
    const done = r.logs.find((l) => l.msg === 'already complete');
    expect(done?.bytesReceived).toBe(0);
    const after = fs.statSync(o);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  }, 60_000);

  test('on a damaged output: said so, kept under its name while the new download runs, then replaced atomically', async () => {
    const o = out('damaged.bin');
    fs.copyFileSync(src, o);
    const fd = fs.openSync(o, 'r+');
    fs.writeSync(fd, Buffer.from([0x42]), 0, 1, 5 * MiB + 7);
    fs.closeSync(fd);
    const damaged = sha256File(o);
    const ino = fs.statSync(o).ino;
    const p = startFetcher(['-o', o, '-p', ...portsOf(slow)]);
    const warn = await p.waitForLog((l) => /exists but/.test(l.msg));
    expect(warn.msg).toBe(`${o} exists but 1 of its 25 pieces do not match the servers' digests (first: piece 5): it is damaged; it stays in place until a new, verified download replaces it`);
    await waitForBytesDone(p, 4 * MiB);
    expect([fs.statSync(o).ino, sha256File(o)]).toEqual([ino, damaged]); // still the old file, as it was
    expect(await exitOf(p)).toEqual({ code: 0, signal: null });
    expect(sha256File(o)).toBe(sha256File(src));
    expect(fs.statSync(o).ino).not.toBe(ino);
  }, 60_000);

  test('on an output of other content: said so; --force downloads a complete output again', async () => {
    const o = out('other.bin');
    randomFile(o, 3 * MiB);
    const r = await runFetcher(['-o', o, '-p', ...portsOf(fast)]);
    expect(r.code).toBe(0);
    expect(messages(r.logs, 'warn')).toContain(`${o} exists but it has ${3 * MiB} bytes and the servers' file ${SIZE}: the servers now serve other content; it stays in place until a new, verified download replaces it`);
    expect(sha256File(o)).toBe(sha256File(src));
    const forced = await runFetcher(['-o', o, '-p', ...portsOf(fast), '--force']);
    expect(forced.code).toBe(0);
    // all of it again (the end game may fetch a last piece twice under load, so at least the size)
    expect(completion(forced.logs).bytesReceived).toBeGreaterThanOrEqual(SIZE);
    expect(messages(forced.logs)).toContain(`--force: downloading again; ${o} stays in place until the new download is verified`);
  }, 60_000);
});

describe('peers that are not segment servers', () => {
  const quick = ['--give-up-after', '60', '--connect-timeout', '2'];

  test.each([
    ['random bytes', (s: net.Socket) => s.write(Buffer.from('9f3b2a11c0ffee00deadbeef', 'hex')), /not a segment server \(it looks like a peer that sent \d+ byte\(s\) starting 9f3b2a11c0ffee00; bad magic in greeting\)/],
    ['an SSH banner', (s: net.Socket) => s.write('SSH-2.0-OpenSSH_9.2p1\r\n'), /not a segment server \(it looks like an SSH server \("SSH-2\.0-OpenSSH_9\.2p1"\)/],
    ['protocol version 2', (s: net.Socket) => { const h = encodeServerHello({ version: 1, flags: 0, nonce: Buffer.alloc(16), serverId: 0, numServers: 1 }); h[4] = 2; s.write(h); }, /server speaks protocol version 2, this client speaks 1/],
  ])('%s: exit 8 at once, not after --give-up-after', async (_what, greet, message) => {
    const port = await peer(greet);
    const t0 = Date.now();
    const r = await runFetcher(['-o', out('junk.bin'), '-p', String(port), ...quick], { timeoutMs: 30_000 });
    expect(r.code).toBe(8);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.logs.filter((l) => l.level === 'error').map((l) => [l.code, l.msg])).toEqual([['E_PROTOCOL', expect.stringMatching(message)]]);
    expect(fs.existsSync(out('junk.bin.part'))).toBe(false);
  }, 40_000);

  test('an HTTP server (silent until asked): named after the probe, exit 8', async () => {
    const server = http.createServer((_q, res) => res.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(() => server.close());
    const r = await runFetcher(['-o', out('http.bin'), '-p', String((server.address() as net.AddressInfo).port), ...quick], { timeoutMs: 30_000 });
    expect(r.code).toBe(8);
    expect(messages(r.logs, 'error')).toEqual([expect.stringMatching(/not a segment server \(it looks like an HTTP server \("HTTP\/1\.[01] 400 Bad Request"\)/)]);
  }, 40_000);

  test('a TLS server to a plain client: the TLS hint, exit 2', async () => {
    const pki = makeTestPki(fs.mkdtempSync(path.join(dir, 'pki-')));
    const server = tls.createServer({ key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert) }, (s) => s.end());
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(() => server.close());
    const r = await runFetcher(['-o', out('tls.bin'), '-p', String((server.address() as net.AddressInfo).port), ...quick], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(messages(r.logs, 'error')).toEqual([expect.stringMatching(/speaks TLS: add --tls \(and --tls-ca with the CA of its certificate\)/)]);
  }, 40_000);

  test('a silent port is unreachable, not a protocol error: exit 3 after --give-up-after, no TLS hint', async () => {
    const port = await peer(() => undefined);
    const r = await runFetcher(['-o', out('silent.bin'), '-p', String(port), '--give-up-after', '3', '--connect-timeout', '1'], { timeoutMs: 30_000 });
    expect(r.code).toBe(3);
    const err = messages(r.logs, 'error');
    expect(err).toEqual([expect.stringMatching(/no server reachable within 3 s: .*no greeting within 1000 ms; a segment server greets at once/)]);
    expect(err[0]).not.toMatch(/TLS/);
  }, 40_000);

  test('a real server that greets late (after the probe went out) is slow, not junk: retried, exit 3 not 8', async () => {
    const hello = encodeServerHello({ version: 1, flags: 0, nonce: Buffer.alloc(16, 7), serverId: 0, numServers: 1 });
    const port = await peer((s) => { const t = setTimeout(() => s.write(hello), 1300); s.on('close', () => clearTimeout(t)); });
    const r = await runFetcher(['-o', out('late.bin'), '-p', String(port), '--connect-timeout', '1', '--give-up-after', '4'], { timeoutMs: 30_000 });
    expect(r.code).toBe(3);
    expect(messages(r.logs, 'error')).toEqual([expect.stringMatching(/no server reachable within 4 s: .*no greeting within 1000 ms/)]);
  }, 40_000);

  test('the only server restarts speaking another protocol version mid-download: it leaves the run, exit 8 at once', async () => {
    const [server] = await startFleet(src, [2 * MiB]);
    const port = server.ports[0];
    const o = out('version-change.bin');
    const f = startFetcher(['-o', o, '-p', String(port), '--give-up-after', '60']);
    await waitForBytesDone(f, 2 * MiB);
    server.child.kill('SIGKILL');
    await server.exited;
    const v2 = encodeServerHello({ version: 1, flags: 0, nonce: Buffer.alloc(16), serverId: 0, numServers: 1 });
    v2[4] = 2;
    const impostor = net.createServer((s) => { s.on('error', () => undefined); s.write(v2); });
    await new Promise<void>((r) => impostor.listen(port, '127.0.0.1', () => r()));
    closers.push(() => impostor.close());
    const t0 = Date.now();
    expect(await exitOf(f, 30_000)).toEqual({ code: 8, signal: null });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(messages(f.logs(), 'error').at(-1)).toMatch(/no server is left in the run; the last one to leave: .*server speaks protocol version 2/);
    expect(fs.existsSync(`${o}.part.state`)).toBe(true); // the partial download is kept
  }, 60_000);

  test('a junk port among good servers is left out with a warning; the download is exact', async () => {
    const junk = await peer((s) => s.end('220 not what you think\r\n'));
    const o = out('among.bin');
    const r = await runFetcher(['-o', o, '-p', ...portsOf(fast), String(junk), ...quick], { timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    expect(sha256File(o)).toBe(sha256File(src));
    expect(messages(r.logs, 'warn').filter((m) => m.includes(`127.0.0.1:${junk}`))).toEqual([
      expect.stringMatching(/not a segment server \(it looks like a server that says "220 not what you think".*leaving it out and continuing with the others$/),
    ]);
  }, 40_000);
});

test('a server at its per-client connection limit says so, and the fetcher names the limit', async () => {
  const limited = await startServerSet(src, 1, ['--max-connections-per-client', '1', '--shutdown-timeout', '1']);
  try {
    const o = out('limited.bin');
    const r = await runFetcher(['-o', o, '-p', String(limited.ports[0]), '--connections-per-server', '3'], { timeoutMs: 60_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    expect(sha256File(o)).toBe(sha256File(src));
    const refused = r.logs.filter((l) => /server connection failed; retrying/.test(l.msg));
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(String(refused[0].error)).toMatch(/is at its connection limit \(--max-connections-per-client\)/);
  } finally {
    await limited.stop('SIGTERM');
  }
}, 90_000);

test('the progress line counts a stalled server as stalled, not as serving', async () => {
  const fleet = await startFleet(src, [2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB]);
  try {
    const o = out('stalled.bin');
    const p = startFetcher(['-o', o, '-p', ...fleet.map((s) => String(s.ports[0]))]);
    await waitForBytesDone(p, 2 * MiB);
    fleet[2].child.kill('SIGSTOP');
    const line = await p.waitForLog((l) => / servers 3\/4 /.test(l.msg), 8_000);
    expect(line.msg).toMatch(/ servers 3\/4 (downloading|stalled)$/);
    fleet[2].child.kill('SIGCONT');
    expect(await exitOf(p)).toEqual({ code: 0, signal: null });
    expect(sha256File(o)).toBe(sha256File(src));
  } finally {
    for (const s of fleet) s.child.kill('SIGCONT');
    await Promise.all(fleet.map((s) => s.stop('SIGTERM')));
  }
}, 90_000);
