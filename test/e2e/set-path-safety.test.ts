/**
 * Set mode does not trust the server with the client's disk (issue 16): a listed name that is
 * absolute, has a `..`, `.` or empty component, a backslash, a NUL or another control character,
 * or collides with the fetcher's own files (`.msd-set.*`, `X.part` beside `X`) ends the run with
 * exit 8 and "unsafe name" before anything is written; a listed path through an existing symbolic
 * link under DIR ends it with exit 5 naming the link, nothing written through it. The real fetcher
 * binary against a hostile server (test/helpers/hostile-server.ts) that lists exactly these names.
 * Each DIR sits in a sentinel parent directory whose contents are checked to stay as they were:
 * the escaping names point into it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RequestType, Status } from '@msd/common';
import { removeDir, tempDir } from '../helpers/files';
import { HostileFile, HostileServer, startHostileServer } from '../helpers/hostile-server';
import { killAll, runFetcher } from '../helpers/processes';
import { RawConnection } from '../helpers/raw-protocol-client';
import { makeTree } from '../helpers/served-directory';
import { isLock, SET_PIECE, SET_STATE, startSetServers } from '../helpers/set-run';

let root: string;
const servers: HostileServer[] = [];

beforeAll(() => {
  root = tempDir('msd-path-safety-');
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  killAll();
  removeDir(root);
});

async function hostile(files: HostileFile[]): Promise<HostileServer> {
  const s = await startHostileServer({ files, pieceSize: SET_PIECE });
  servers.push(s);
  return s;
}

/** Every entry below `dir` (directories end in '/'), with its kind: what "unchanged" compares. */
function entriesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const it of fs.readdirSync(d, { withFileTypes: true })) {
      const rel = path.relative(dir, path.join(d, it.name)).split(path.sep).join('/');
      if (it.isDirectory()) { out.push(`${rel}/`); walk(path.join(d, it.name)); } else out.push(it.isSymbolicLink() ? `${rel} -> link` : rel);
    }
  };
  walk(dir);
  return out.sort();
}

/** A sentinel parent (one file in it) holding an empty output directory `out`. */
function sentinelCase(label: string): { parent: string; out: string } {
  const parent = fs.mkdtempSync(path.join(root, `${label}-`));
  fs.writeFileSync(path.join(parent, 'sentinel.txt'), 'untouched\n');
  const out = path.join(parent, 'out');
  fs.mkdirSync(out);
  return { parent, out };
}

const fetchSet = (port: number, out: string): ReturnType<typeof runFetcher> =>
  runFetcher(['-a', '127.0.0.1', '-p', String(port), '-o', out], { timeoutMs: 60_000 });

/** The error lines' messages, and all output, for assertions that name what went wrong. */
function errorText(r: { stdout: string; stderr: string; logs: Array<{ level: string; msg: string }> }): string {
  return r.logs.filter((l) => l.level === 'error').map((l) => l.msg).join('\n');
}

/** The name as a message may show it: raw, or JSON-escaped (control characters, backslashes). */
const mentions = (text: string, name: string): boolean => text.includes(name) || text.includes(JSON.stringify(name).slice(1, -1));

const content = (n: number): Buffer => randomBytes(n);

describe('a listed name that could leave DIR or clash with the fetcher\'s files: exit 8, "unsafe name", nothing written', () => {
  /**
   * [what, the unsafe name (given the sentinel parent), the other names listed beside it]. The
   * escaping names aim into the sentinel parent, so a fetcher that followed them would change it.
   */
  const cases: Array<[string, (parent: string) => string, string[]]> = [
    ['an absolute name (into the sentinel parent)', (parent) => path.join(parent, 'escaped-abs.bin'), ['ok.bin']],
    ['".." at the start', () => '../escaped-start.bin', ['ok.bin']],
    ['".." in the middle', () => 'sub/../../escaped-mid.bin', ['ok.bin']],
    ['a "." component', () => 'sub/./dot.bin', ['ok.bin']],
    ['an empty component', () => 'a//b.bin', ['ok.bin']],
    ['a backslash (a separator on Windows)', () => '..\\escaped-bs.bin', ['ok.bin']],
    ['a NUL', () => 'a\u0000b.bin', ['ok.bin']],
    ['a control character (ESC, terminal escapes)', () => 'x\u001b[2Jy.bin', ['ok.bin']],
    ['a newline (forged log lines)', () => 'x\ny.bin', ['ok.bin']],
    ['the name of the set\'s resume state', () => SET_STATE, ['ok.bin']],
    ['the name of the set\'s lock', () => '.msd-set.lock', ['ok.bin']],
    ['another .msd-set.* name', () => '.msd-set.other', ['ok.bin']],
    ['X.part listed beside X', () => 'big.bin.part', ['big.bin', 'ok.bin']],
  ];

  test.each(cases)('%s', async (_what, unsafeName, others) => {
    const { parent, out } = sentinelCase('unsafe');
    const name = unsafeName(parent);
    const server = await hostile([{ name, content: content(3 * SET_PIECE + 5) }, ...others.map((n) => ({ name: n, content: content(SET_PIECE + 1) }))]);
    const parentBefore = entriesBelow(parent);

    const r = await fetchSet(server.port, out);

    expect({ code: r.code, unsafe: /unsafe name/.test(r.stdout + r.stderr) }).toEqual({ code: 8, unsafe: true });
    expect(mentions(errorText(r), name)).toBe(true);
    // nothing outside DIR: the sentinel parent holds what it held (DIR itself is checked below)
    expect(entriesBelow(parent).filter((e) => !e.startsWith('out/'))).toEqual(parentBefore.filter((e) => !e.startsWith('out/')));
    expect(fs.readFileSync(path.join(parent, 'sentinel.txt'), 'utf8')).toBe('untouched\n');
    // nothing of the set in DIR: no file, no part file, no directory, no state (the lock may stay)
    expect(entriesBelow(out).filter((e) => !isLock(e))).toEqual([]);
    // and no byte of the unsafe file was even asked for
    expect(server.requests.filter((q) => (q.type === RequestType.GET || q.type === RequestType.SEGMENT) && q.name.equals(Buffer.from(name)))).toEqual([]);
  });
});

describe('a listed path through an existing symbolic link under DIR', () => {
  test('exits 5 naming the link; nothing is written through it', async () => {
    const src = path.join(root, 'linked-src');
    makeTree(src, { 'a.bin': SET_PIECE + 3, 'sub/file.bin': 2 * SET_PIECE + 7 });
    const server = await startSetServers(src, 1);
    try {
      const { parent, out } = sentinelCase('symlink');
      const elsewhere = fs.mkdtempSync(path.join(root, 'link-target-'));
      const link = path.join(out, 'sub');
      fs.symlinkSync(elsewhere, link, 'dir');
      const parentBefore = entriesBelow(parent);

      const r = await fetchSet(server.ports[0], out);

      expect(r.code).toBe(5);
      const text = errorText(r);
      expect(text.includes(link) || /(^|[\s"'`])sub([\s"'`:/]|$)/.test(text)).toBe(true);
      expect(text).toMatch(/link/i);
      expect(fs.readdirSync(elsewhere)).toEqual([]);
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
      expect(entriesBelow(parent).filter((e) => !e.startsWith('out/'))).toEqual(parentBefore.filter((e) => !e.startsWith('out/')));
    } finally {
      await server.stop();
    }
  });
});

describe('controls: the hostile server is a segment server the fetcher accepts', () => {
  test('it lists the names byte for byte (invalid UTF-8 too), paged, and answers pipelined requests in order', async () => {
    const bad = Buffer.from([0x61, 0xff, 0xfe, 0x62]); // "a", two bytes that are never UTF-8, "b"
    const server = await hostile([{ name: 'z/../x', content: content(5) }, { name: bad, content: content(7) }, { name: '/abs', content: content(0) }]);
    const c = await RawConnection.open({ port: server.port });
    try {
      await c.handshake();
      c.request({ type: RequestType.LIST, id: 1, a: 0, b: 0, name: '' });
      c.request({ type: RequestType.LIST, id: 2, a: 2, b: 0, name: '' });
      c.request({ type: RequestType.LIST, id: 3, a: 9, b: 0, name: '' });
      c.request({ type: RequestType.INFO, id: 4, a: 0, b: 0, name: 'nope' });
      c.request({ type: RequestType.INFO, id: 5, a: 0, b: 0, name: '' });
      const frames = await c.frames(5);
      expect(frames.map((f) => [f.header.id, f.header.status, f.header.offset])).toEqual([[1, Status.OK, 3], [2, Status.OK, 3], [3, Status.OK, 3], [4, Status.NOT_FOUND, 0], [5, Status.NEEDS_NAME, 0]]);
      // by bytes: "/abs" < "a\xff\xfeb" < "z/../x"; each record u16 length, the raw name, u64 size
      const rec = (name: Buffer, size: number): string => `${name.length.toString(16).padStart(4, '0')}${name.toString('hex')}${size.toString(16).padStart(16, '0')}`;
      expect(frames[0].body.toString('hex')).toBe(`00000003${rec(Buffer.from('/abs'), 0)}${rec(bad, 7)}${rec(Buffer.from('z/../x'), 5)}`);
      expect(frames[1].body.toString('hex')).toBe(`00000001${rec(Buffer.from('z/../x'), 5)}`);
      expect(frames[2].body.toString('hex')).toBe('00000000');
    } finally {
      c.destroy();
    }
  });

  test('--file NAME downloads one of its files (works without set mode)', async () => {
    const bytes = content(2 * SET_PIECE + 9);
    const server = await hostile([{ name: 'a.bin', content: bytes }, { name: 'sub/b.bin', content: content(10) }]);
    const out = path.join(sentinelCase('single').out, 'a.bin');
    const r = await runFetcher(['-a', '127.0.0.1', '-p', String(server.port), '--file', 'a.bin', '-o', out], { timeoutMs: 60_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    expect(fs.readFileSync(out).equals(bytes)).toBe(true);
  });

  test('with safe names only, set mode downloads every file, byte for byte (exit 0)', async () => {
    const files = [{ name: 'a.bin', content: content(3 * SET_PIECE + 1) }, { name: 'sub/b.bin', content: content(SET_PIECE - 1) }];
    const server = await hostile(files);
    const { out } = sentinelCase('safe');
    const r = await fetchSet(server.port, out);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    for (const f of files) expect({ name: f.name, same: fs.readFileSync(path.join(out, f.name)).equals(f.content) }).toEqual({ name: f.name, same: true });
    expect(entriesBelow(out).filter((e) => !isLock(e))).toEqual(['a.bin', 'sub/', 'sub/b.bin']);
  });
});
