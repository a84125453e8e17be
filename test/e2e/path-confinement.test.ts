/**
 * Nothing outside the served directory (or besides the served file) is ever served. Clients
 * name files with `..`, absolute paths, URL-encoded and backslash variants, and symlinks that lead
 * outside; every one is refused, and the secret's content never appears in any byte the server
 * sends, in any log, or in any file the fetcher writes.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RequestType, Status } from '@msd/common';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { killAll, runFetcher, ServerSet, startServerSet } from '../helpers/processes';
import { RawClient } from '../helpers/raw-client';

let dir: string;
let served: string;
let secretFile: string;
let secret: string;
let servers: ServerSet;
let ports: string[];
const PASSWD_MARK = 'root:x:0:0';

/** Every way of naming something outside `served` we could think of. */
function hostileNames(): string[] {
  return [
    '../secret.txt',
    '/etc/passwd',
    secretFile,
    'sub/../../secret.txt',
    './../secret.txt',
    'sub//../../secret.txt',
    'sub/./../../secret.txt',
    '../served/../secret.txt',
    '..\\secret.txt',
    'sub\\..\\..\\secret.txt',
    '%2e%2e/secret.txt',
    '%2e%2e%2fsecret.txt',
    '..%2fsecret.txt',
    '..%2Fsecret.txt',
    '%2E%2E%2Fsecret.txt',
    'sub/%2e%2e/%2e%2e/secret.txt',
    '..%252fsecret.txt',
    '%252e%252e%252fsecret.txt',
    '..%5csecret.txt',
    '....//secret.txt',
    '..',
    '.',
    '',
    'escape',
    'escape-abs',
    'escape-dir/secret.txt',
    'sub/escape-up',
    'file:///etc/passwd',
    '~/../../etc/passwd',
    '\uff0e\uff0e/secret.txt',
  ];
}

beforeAll(async () => {
  dir = tempDir();
  secret = `SECRET-${randomBytes(16).toString('hex')}`;
  secretFile = path.join(dir, 'secret.txt');
  fs.writeFileSync(secretFile, secret);
  served = path.join(dir, 'served');
  fs.mkdirSync(path.join(served, 'sub'), { recursive: true });
  randomFile(path.join(served, 'a.bin'), 200 * 1024 + 5);
  randomFile(path.join(served, 'sub', 'x.bin'), 70 * 1024);
  fs.symlinkSync('../secret.txt', path.join(served, 'escape'));
  fs.symlinkSync(secretFile, path.join(served, 'escape-abs'));
  fs.symlinkSync('..', path.join(served, 'escape-dir'));
  fs.symlinkSync('../../secret.txt', path.join(served, 'sub', 'escape-up'));
  fs.symlinkSync('a.bin', path.join(served, 'inside')); // stays inside: may be served
  servers = await startServerSet(served, 2, ['--piece-size', '64KiB']);
  ports = servers.ports.map(String);
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

function filesBelow(d: string): string[] {
  return fs.readdirSync(d, { recursive: true, encoding: 'utf8' }).map((f) => path.join(d, f)).filter((f) => fs.lstatSync(f).isFile());
}

test('the catalog holds only the regular files inside, and an inside symlink', () => {
  const indexed = servers.logs().filter((l) => l.msg === 'indexed file').map((l) => l.file).sort();
  expect(indexed).toEqual(['a.bin', 'inside', 'sub/x.bin']);
});

test('raw INFO, GET and SEGMENT requests for hostile names are refused without a byte of the target', async () => {
  const client = await RawClient.connect(servers.ports[0]);
  try {
    for (const name of hostileNames()) {
      for (const [type, a, b] of [[RequestType.INFO, 0, 8], [RequestType.GET, 0, 64], [RequestType.SEGMENT, 0, 1]] as const) {
        const r = await client.request(type, name, a, b);
        if (r.header.status === Status.OK) throw new Error(`${RequestType[type]} ${JSON.stringify(name)} was answered OK`);
        expect([Status.NOT_FOUND, Status.NEEDS_NAME, Status.BAD_REQUEST]).toContain(r.header.status);
      }
    }
    // the connection survived every refusal and still serves what it should
    const ok = await client.request(RequestType.GET, 'sub/x.bin', 0, 16);
    expect(ok.header.status).toBe(Status.OK);
    expect(ok.body.equals(fs.readFileSync(path.join(served, 'sub', 'x.bin')).subarray(0, 16))).toBe(true);
    expectNoLeak(client.received, 'the bytes the server sent');
  } finally {
    client.close();
  }
});

test('a name with a NUL byte is refused', async () => {
  const client = await RawClient.connect(servers.ports[1]);
  try {
    for (const name of ['a.bin\u0000../secret.txt', '../secret.txt\u0000', 'sub/x.bin\u0000']) {
      const r = await client.request(RequestType.INFO, name, 0, 0).catch((e: Error) => e);
      if (r instanceof Error) continue; // closing the connection is a refusal too
      expect(r.header.status).not.toBe(Status.OK);
    }
    expectNoLeak(client.received, 'the bytes the server sent');
  } finally {
    client.close();
  }
});

test('fetcher --file with hostile names: refused (exit 2), nothing written, the secret nowhere', async () => {
  const outDir = fs.mkdtempSync(path.join(dir, 'out-'));
  // the server refuses every hostile name (test above); through the fetcher, the ones a user would type
  const names = ['../secret.txt', '/etc/passwd', secretFile, 'sub/../../secret.txt', '%2e%2e/secret.txt', '..%2fsecret.txt', 'escape', 'escape-dir/secret.txt'];
  // run a few at a time: each is a real process
  for (let i = 0; i < names.length; i += 4) {
    const batch = names.slice(i, i + 4);
    const results = await Promise.all(batch.map((name) => runFetcher(['--file', name, '-o', outDir, '-p', ...ports, '--give-up-after', '2'])));
    results.forEach((r, k) => {
      if (r.code !== 2) throw new Error(`--file ${JSON.stringify(batch[k])}: exit ${r.code}, wanted 2; stderr:\n${r.stderr.slice(-1500)}`);
      expectNoLeak(r.stdout + r.stderr, `the fetcher's output for --file ${JSON.stringify(batch[k])}`);
    });
  }
  expect(filesBelow(outDir)).toEqual([]);
  expectNoLeak(servers.stdout() + servers.stderr(), "the server's logs");
});

test('an inside symlink is served as the file it points to', async () => {
  const out = path.join(dir, 'inside.bin');
  const r = await runFetcher(['--file', 'inside', '-o', out, '-p', ...ports]);
  expect(r.code).toBe(0);
  expect(sha256File(out)).toBe(sha256File(path.join(served, 'a.bin')));
});

test('a served file swapped for a symlink to the secret after start still never serves the secret', async () => {
  const victim = path.join(served, 'sub', 'x.bin');
  const original = fs.readFileSync(victim);
  const moved = path.join(dir, 'x.bin.orig');
  fs.renameSync(victim, moved);
  fs.symlinkSync(secretFile, victim);
  try {
    const out = path.join(dir, 'swapped.bin');
    const r = await runFetcher(['--file', 'sub/x.bin', '-o', out, '-p', ...ports, '--give-up-after', '2']);
    expectNoLeak(r.stdout + r.stderr, "the fetcher's output");
    if (fs.existsSync(out)) {
      expect(r.code).toBe(0);
      expect(fs.readFileSync(out).equals(original)).toBe(true);
    } else {
      expect(r.code).not.toBe(0);
    }
    const client = await RawClient.connect(servers.ports[0]);
    await client.request(RequestType.GET, 'sub/x.bin', 0, 64).catch(() => undefined);
    client.close();
    expectNoLeak(client.received, 'the bytes the server sent');
    for (const f of filesBelow(dir).filter((f) => f !== secretFile && !f.startsWith(served))) expectNoLeak(fs.readFileSync(f), f);
  } finally {
    fs.unlinkSync(victim);
    fs.renameSync(moved, victim);
  }
});

describe('single-file mode', () => {
  let single: ServerSet;
  beforeAll(async () => { single = await startServerSet(path.join(served, 'a.bin'), 1); });
  afterAll(async () => { await single?.stop(); });

  test('only the served file answers; any other name is refused', async () => {
    const client = await RawClient.connect(single.ports[0]);
    try {
      expect((await client.request(RequestType.INFO, '', 0, 0)).header.status).toBe(Status.OK);
      expect((await client.request(RequestType.INFO, 'a.bin', 0, 0)).header.status).toBe(Status.OK);
      for (const name of [...hostileNames().filter((n) => n !== ''), 'a.bin/../secret.txt', 'a.bin/../../secret.txt', '../served/a.bin', path.join(served, 'a.bin'), 'sub/x.bin']) {
        const r = await client.request(RequestType.GET, name, 0, 64);
        if (r.header.status === Status.OK) throw new Error(`GET ${JSON.stringify(name)} was answered OK in single-file mode`);
      }
      expectNoLeak(client.received, 'the bytes the server sent');
    } finally {
      client.close();
    }
  });
});
