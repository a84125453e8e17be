/**
 * The fetcher never mixes servers that serve different content (exit 4, a message naming both
 * sides, nothing under the final name) and stops with exit 3, naming the address, when no server
 * can be reached.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, tempDir } from '../helpers/files';
import { freePorts, killAll, runFetcher, startServerSet } from '../helpers/processes';

let dir: string;
beforeAll(() => { dir = tempDir(); });
afterAll(() => { killAll(); removeDir(dir); });

/** Two files of the same name in two directories; `same` copies A's bytes into B. */
function pair(tag: string, sizeA: number, sizeB: number, same: boolean): [string, string] {
  fs.mkdirSync(path.join(dir, tag, 'a'), { recursive: true });
  fs.mkdirSync(path.join(dir, tag, 'b'), { recursive: true });
  const a = randomFile(path.join(dir, tag, 'a', 'data.bin'), sizeA);
  const b = path.join(dir, tag, 'b', 'data.bin');
  if (same) fs.copyFileSync(a, b);
  else randomFile(b, sizeB);
  return [a, b];
}

test.each([
  { what: 'same name and size, different bytes', sizeA: 300_000, sizeB: 300_000, same: false, pieceB: '64KiB' },
  { what: 'different sizes', sizeA: 300_000, sizeB: 300_001, same: false, pieceB: '64KiB' },
  { what: 'the same bytes cut into a different piece size', sizeA: 300_000, sizeB: 300_000, same: true, pieceB: '128KiB' },
])('servers with $what: exit 4, both named, nothing written', async ({ what, sizeA, sizeB, same, pieceB }) => {
  const [fa, fb] = pair(what.replace(/\W+/g, '-'), sizeA, sizeB, same);
  const [a, b] = await Promise.all([startServerSet(fa, 1, ['--piece-size', '64KiB']), startServerSet(fb, 1, ['--piece-size', pieceB])]);
  try {
    const out = path.join(dir, `mixed-${what.replace(/\W+/g, '-')}.bin`);
    const la = `127.0.0.1:${a.ports[0]}`;
    const lb = `127.0.0.1:${b.ports[0]}`;
    const r = await runFetcher(['--servers', `${la},${lb}`, '-o', out]);
    expect(r.code).toBe(4);
    const msg = r.logs.find((l) => l.level === 'error')?.msg ?? r.stderr;
    expect(msg).toContain(la);
    expect(msg).toContain(lb);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(`${out}.part`)).toBe(false);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('-p form on one host: a set whose third server serves other content is refused the same way', async () => {
  const good = randomFile(path.join(dir, 'good.bin'), 200_000);
  const set = await startServerSet(good, 2, ['--piece-size', '64KiB']);
  const other = await startServerSet(randomFile(path.join(dir, 'other.bin'), 200_000), 1, ['--piece-size', '64KiB']);
  try {
    const out = path.join(dir, 'set-mixed.bin');
    const r = await runFetcher(['-p', ...set.ports.map(String), ...other.ports.map(String), '-o', out]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`127.0.0.1:${other.ports[0]}`);
    expect(fs.existsSync(out)).toBe(false);
  } finally {
    await set.stop();
    await other.stop();
  }
});

test('no server reachable: exit 3 and the message names every address', async () => {
  const [p1, p2] = await freePorts(2); // nothing listens on these
  const out = path.join(dir, 'unreachable.bin');
  const r = await runFetcher(['-p', String(p1), String(p2), '-o', out, '--give-up-after', '1', '--connect-timeout', '1']);
  expect(r.code).toBe(3);
  const msg = r.logs.find((l) => l.level === 'error')?.msg ?? r.stderr;
  expect(msg).toContain(`127.0.0.1:${p1}`);
  expect(msg).toContain(`127.0.0.1:${p2}`);
  expect(fs.existsSync(out)).toBe(false);
});

test('--servers with an unreachable host:port: exit 3 naming it', async () => {
  const [p] = await freePorts(1);
  const r = await runFetcher(['--servers', `127.0.0.1:${p}`, '-o', path.join(dir, 'unreachable2.bin'), '--give-up-after', '1']);
  expect(r.code).toBe(3);
  expect(r.stderr).toContain(`127.0.0.1:${p}`);
});

test('a port that answers but is not a segment server: a clear error, not a hang', async () => {
  const net = await import('node:net');
  const junk = net.createServer((s) => { s.end('HTTP/1.1 400 Bad Request\r\n\r\n'); });
  await new Promise<void>((r) => junk.listen(0, '127.0.0.1', () => r()));
  const port = (junk.address() as import('node:net').AddressInfo).port;
  try {
    const r = await runFetcher(['-p', String(port), '-o', path.join(dir, 'junk.bin'), '--give-up-after', '2', '--connect-timeout', '1'], { timeoutMs: 30_000 });
    expect(r.signal).toBeNull();
    expect([3, 8]).toContain(r.code);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
  } finally {
    junk.close();
  }
});
