/**
 * Single-file mode serves that one file and nothing else: not a sibling in the same directory,
 * not a path that climbs out, not the file under another spelling. (Directory mode is covered
 * name by name in test/security/path-traversal.test.ts.) The secret beside the served file never
 * appears in any byte the servers send, in their logs, or in what the fetcher prints or writes.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RequestType, Status } from '@msd/common';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { killAll, runFetcher, ServerSet, startServerSet } from '../helpers/processes';
import { RawConnection } from '../helpers/raw-protocol-client';

let dir: string;
let served: string;
let secretFile: string;
let secret: string;
let servers: ServerSet;
const PASSWD_MARK = 'root:x:0:0';

beforeAll(async () => {
  dir = tempDir();
  secret = `SECRET-${randomBytes(16).toString('hex')}`;
  secretFile = path.join(dir, 'secret.txt');
  fs.writeFileSync(secretFile, secret);
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'x.txt'), secret);
  served = randomFile(path.join(dir, 'a.bin'), 200 * 1024 + 5);
  servers = await startServerSet(served, 2, ['--piece-size', '64KiB']);
});
afterAll(async () => {
  await servers?.stop();
  killAll();
  removeDir(dir);
});

function expectNoLeak(text: string | Buffer, where: string): void {
  const s = Buffer.isBuffer(text) ? text.toString('latin1') : text;
  if (s.includes(secret)) throw new Error(`the secret appeared in ${where}`);
  if (s.includes(PASSWD_MARK)) throw new Error(`/etc/passwd content appeared in ${where}`);
}

test('the served file answers by its name or no name; every other name is refused on every listener', async () => {
  const hostile = [
    'secret.txt', 'sub/x.txt', '../secret.txt', '/etc/passwd', secretFile, served, path.join(dir, 'sub', 'x.txt'),
    'a.bin/../secret.txt', 'a.bin/../../secret.txt', './a.bin', '../' + path.basename(dir) + '/secret.txt',
    '%2e%2e/secret.txt', '..%2fsecret.txt', 'a.bin%00', 'a.bin\u0000', '..\\secret.txt', '.', '..', 'A.BIN',
  ];
  for (const port of servers.ports) {
    const c = await RawConnection.open({ port });
    try {
      await c.handshake();
      c.request({ type: RequestType.INFO, id: 1, a: 0, b: 0, name: '' });
      c.request({ type: RequestType.GET, id: 2, a: 0, b: 16, name: 'a.bin' });
      const [info, get] = await c.frames(2);
      expect([info.header.status, get.header.status]).toEqual([Status.OK, Status.OK]);
      expect(get.body.equals(fs.readFileSync(served).subarray(0, 16))).toBe(true);
      let id = 3;
      for (const name of hostile) {
        for (const [type, a, b] of [[RequestType.INFO, 0, 4], [RequestType.GET, 0, 64], [RequestType.SEGMENT, 0, 1]] as const) {
          c.request({ type, id: id++, a, b, name });
        }
      }
      // a malformed name may end the stream; otherwise every request gets its refusal
      await c.frames(id - 1, 10_000).catch(() => undefined);
      const frames = c.parsed().frames.slice(2);
      expect(frames.length).toBeGreaterThan(0);
      for (const f of frames) {
        if (f.header.status === Status.OK) throw new Error(`request ${f.header.id} (${RequestType[f.header.type]}) was answered OK`);
        expect([Status.NOT_FOUND, Status.BAD_REQUEST]).toContain(f.header.status);
      }
      // every hostile request refused, or (a malformed name) the stream ended: never left unanswered on an open connection
      expect(frames.length === id - 3 || c.isClosed).toBe(true);
      expectNoLeak(c.data(), `the bytes listener ${port} sent`);
    } finally {
      c.destroy();
    }
  }
});

test('fetcher --file naming anything but the served file: exit 2, nothing written; the served file by name works', async () => {
  const outDir = fs.mkdtempSync(path.join(dir, 'out-'));
  const ports = servers.ports.map(String);
  const names = ['../secret.txt', '/etc/passwd', secretFile, 'sub/x.txt', 'secret.txt', '%2e%2e/secret.txt'];
  const results = await Promise.all(names.map((name) => runFetcher(['--file', name, '-o', outDir, '-p', ...ports, '--give-up-after', '2'])));
  results.forEach((r, k) => {
    if (r.code !== 2) throw new Error(`--file ${JSON.stringify(names[k])}: exit ${r.code}, wanted 2; stderr:\n${r.stderr.slice(-1500)}`);
    expectNoLeak(r.stdout + r.stderr, `the fetcher's output for --file ${JSON.stringify(names[k])}`);
  });
  expect(fs.readdirSync(outDir)).toEqual([]);

  const ok = await runFetcher(['--file', 'a.bin', '-o', outDir, '-p', ...ports]);
  expect(ok.code).toBe(0);
  expect(fs.readdirSync(outDir)).toEqual(['a.bin']);
  expect(sha256File(path.join(outDir, 'a.bin'))).toBe(sha256File(served));
  expectNoLeak(servers.stdout() + servers.stderr(), "the servers' logs");
});
