/**
 * Directory mode must serve the regular files below its directory and nothing else: names that
 * try to climb out (plain, URL-encoded, absolute, `..` segments, NUL bytes, backslashes), symlinks
 * leading outside, and special files (a FIFO, a device) are refused, over the raw protocol and
 * through the fetcher's --file. A secret file lies beside the directory; its bytes must never
 * appear in any response, and the server must never hold it open.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeListBody, encodeRequest, RequestType, Status } from '@msd/common';
import { removeDir, tempDir } from '../helpers/files';
import { killAll, runFetcher, ServerSet, startServers, freePorts } from '../helpers/processes';
import { RawConnection } from '../helpers/raw-protocol-client';

let root: string;
let served: string;
let secret: Buffer;
let secretPath: string;
let server: ServerSet;
/** Every byte any connection of this suite received, to search for the secret. */
const allReceived: Buffer[] = [];

/** True when `hay` holds any 16-byte aligned run of `needle` (so any leak of >= 31 bytes is found). */
function leaks(hay: Buffer, needle: Buffer): boolean {
  for (let at = 0; at + 16 <= needle.length; at += 16) if (hay.includes(needle.subarray(at, at + 16))) return true;
  return false;
}

async function connect(): Promise<RawConnection> {
  const c = await RawConnection.open({ port: server.ports[0] });
  await c.handshake();
  return c;
}

/** Asks INFO, GET and SEGMENT for `name` (raw UTF-8 bytes or a string) on a fresh connection; returns the statuses seen. */
async function ask(name: string | Buffer): Promise<{ statuses: Status[]; closed: boolean; conn: RawConnection }> {
  const c = await connect();
  const bytes = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
  const frames: Buffer[] = [];
  for (const [type, a, b] of [[RequestType.INFO, 0, 4], [RequestType.GET, 0, 64], [RequestType.SEGMENT, 0, 1]] as const) {
    const head = encodeRequest({ type, id: frames.length + 1, a, b, name: '' });
    head.writeUInt16BE(bytes.length, 2);
    frames.push(head, bytes);
  }
  c.send(Buffer.concat(frames));
  // either three answers, or one error frame and a closed connection (a malformed name)
  await c.waitUntil(() => c.parsed().frames.length >= 3 || c.isClosed, 'three answers or a close').catch(() => undefined);
  const closed = await c.closedWithin(c.parsed().frames.length >= 3 ? 0 : 3000);
  c.destroy();
  await c.closed;
  allReceived.push(c.data());
  return { statuses: c.parsed().frames.map((f) => f.header.status), closed, conn: c };
}

beforeAll(async () => {
  root = tempDir('msd-traversal-');
  served = path.join(root, 'served');
  fs.mkdirSync(path.join(served, 'sub'), { recursive: true });
  secret = randomBytes(64 * 1024);
  secretPath = path.join(root, 'secret.bin');
  fs.writeFileSync(secretPath, secret);
  fs.writeFileSync(path.join(served, 'a.bin'), randomBytes(200 * 1024));
  fs.writeFileSync(path.join(served, 'sub', 'b.bin'), randomBytes(10 * 1024));
  fs.symlinkSync('../secret.bin', path.join(served, 'escape-relative'));
  fs.symlinkSync(secretPath, path.join(served, 'escape-absolute'));
  fs.symlinkSync('..', path.join(served, 'parent-dir'));
  fs.symlinkSync('/etc', path.join(served, 'etc-dir'));
  fs.symlinkSync('a.bin', path.join(served, 'inside-link'));
  fs.symlinkSync('missing-target', path.join(served, 'dangling'));
  fs.symlinkSync('loop-b', path.join(served, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(served, 'loop-b'));
  execFileSync('mkfifo', [path.join(served, 'fifo')]);
  fs.symlinkSync('fifo', path.join(served, 'fifo-link'));
  // a character device inside the directory (needs CAP_MKNOD; CI runs as root)
  try { execFileSync('mknod', [path.join(served, 'zero-device'), 'c', '1', '5'], { stdio: 'ignore' }); } catch { /* not root: the FIFO still covers special files */ }
  const [port] = await freePorts(1);
  server = await startServers(['-f', served, '--port', String(port), '--piece-size', '64KiB']);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  killAll();
  removeDir(root);
});

describe('directory mode serves only the regular files inside it', () => {
  it('lists exactly the regular files and in-directory links', async () => {
    const c = await connect();
    c.request({ type: RequestType.LIST, id: 1, a: 0, b: 0, name: '' });
    const [f] = await c.frames(1);
    c.destroy();
    allReceived.push(c.data());
    expect(f.header.status).toBe(Status.OK);
    expect(decodeListBody(f.body).map((e) => e.name).sort()).toEqual(['a.bin', 'inside-link', 'sub/b.bin']);
  });

  it('serves a file inside (positive control)', async () => {
    const r = await ask('sub/b.bin');
    expect(r.statuses).toEqual([Status.OK, Status.OK, Status.OK]);
    expect(r.closed).toBe(false);
  });

  const attempts: Array<[string, string | Buffer]> = [
    ['plain ..', '../secret.bin'],
    ['.. from a subdirectory', 'sub/../../secret.bin'],
    ['deep ..', '../../../../../../../../etc/passwd'],
    ['a normalising alias of a served file', 'sub/../a.bin'],
    ['dot segment', './a.bin'],
    ['doubled slash', 'sub//b.bin'],
    ['trailing slash', 'sub/'],
    ['the directory itself', '.'],
    ['the parent', '..'],
    ['absolute path of the secret', '/secret.bin'],
    ['absolute host path', '/etc/passwd'],
    ['absolute path of a served file', '/a.bin'],
    ['URL-encoded ..', '..%2fsecret.bin'],
    ['URL-encoded dots', '%2e%2e/secret.bin'],
    ['double-encoded', '..%252fsecret.bin'],
    ['backslash ..', '..\\secret.bin'],
    ['backslash subdirectory', 'sub\\b.bin'],
    ['NUL then ..', 'a.bin\u0000../secret.bin'],
    ['trailing NUL', 'a.bin\u0000'],
    ['symlink to the secret (relative)', 'escape-relative'],
    ['symlink to the secret (absolute)', 'escape-absolute'],
    ['through a symlinked parent dir', 'parent-dir/secret.bin'],
    ['through a symlinked /etc', 'etc-dir/passwd'],
    ['a FIFO', 'fifo'],
    ['a link to the FIFO', 'fifo-link'],
    ['a character device', 'zero-device'],
    ['a dangling link', 'dangling'],
    ['a symlink loop', 'loop-a'],
    ['a subdirectory', 'sub'],
    ['overlong UTF-8 dots (invalid UTF-8)', Buffer.from([0xc0, 0xae, 0xc0, 0xae, 0x2f, ...Buffer.from('secret.bin')])],
    ['fullwidth solidus', '..\uff0fsecret.bin'],
  ];

  it.each(attempts)('refuses %s', async (_label, name) => {
    const r = await ask(name);
    expect(r.statuses.length).toBeGreaterThan(0);
    for (const s of r.statuses) expect([Status.NOT_FOUND, Status.BAD_REQUEST]).toContain(s);
    if (r.statuses.includes(Status.BAD_REQUEST)) expect(r.closed).toBe(true); // a malformed name ends the stream
    expect(leaks(r.conn.data(), secret)).toBe(false);
  });

  it('refuses the same names through the fetcher --file, writing nothing', async () => {
    const out = path.join(root, 'fetched');
    fs.mkdirSync(out);
    for (const name of ['../secret.bin', '/etc/passwd', 'escape-relative', 'parent-dir/secret.bin', 'fifo', '..%2fsecret.bin']) {
      const r = await runFetcher(['-p', String(server.ports[0]), '--file', name, '-o', out, '--connect-timeout', '3', '--give-up-after', '3'], { timeoutMs: 30_000 });
      expect({ name, code: r.code }).toEqual({ name, code: 2 });
      expect(r.stderr).toMatch(/has no file named|choose a file/);
    }
    for (const f of fs.readdirSync(out)) expect(leaks(fs.readFileSync(path.join(out, f)), secret)).toBe(false);
    expect(fs.readdirSync(out)).toEqual([]);
    // positive control: a real name works and lands under its own base name
    const ok = await runFetcher(['-p', String(server.ports[0]), '--file', 'sub/b.bin', '-o', path.join(out, 'b.bin')], { timeoutMs: 30_000 });
    expect(ok.code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'b.bin')).equals(fs.readFileSync(path.join(served, 'sub', 'b.bin')))).toBe(true);
  }, 90_000);

  it('keeps serving the indexed file when it is swapped for a symlink to the secret after start', async () => {
    const victim = path.join(served, 'inside-link');
    const before = fs.readFileSync(path.join(served, 'a.bin')).subarray(0, 64);
    fs.unlinkSync(victim);
    fs.symlinkSync(secretPath, victim);
    const c = await connect();
    c.request({ type: RequestType.GET, id: 1, a: 0, b: 64, name: 'inside-link' });
    const [f] = await c.frames(1);
    c.destroy();
    allReceived.push(c.data());
    // the server holds the file it indexed open: the original bytes, never the secret
    expect({ status: f.header.status, original: f.body.equals(before) }).toEqual({ status: Status.OK, original: true });
    expect(leaks(c.data(), secret)).toBe(false);
  });

  it('never leaked the secret on any connection and never opened it', () => {
    expect(allReceived.length).toBeGreaterThan(30);
    for (const b of allReceived) expect(leaks(b, secret)).toBe(false);
    const fds = fs.readdirSync(`/proc/${server.pid}/fd`).map((fd) => {
      try { return fs.readlinkSync(`/proc/${server.pid}/fd/${fd}`); } catch { return ''; }
    });
    expect(fds.filter((t) => t.startsWith('/') && !t.startsWith('/dev/') && !t.startsWith(served))).toEqual([]);
    expect(fds).not.toContain(secretPath);
    expect(server.child.exitCode).toBeNull();
  });
});
