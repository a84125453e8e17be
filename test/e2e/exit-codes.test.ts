/**
 * The fetcher's exit codes as README.md documents them: every row of the table is produced here
 * by a real fetcher process in the situation the row describes (row 1, an internal error, has no
 * honest way to be provoked from outside; runProgram's mapping of an unexpected error to 1 is
 * tested in services/common/src/run-program.test.ts). A row added to the README without a case
 * here fails the first test.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { startCorruptingProxy } from '../helpers/corrupting-proxy';
import { exitOf, startFetcher, waitForBytesDone } from '../helpers/fetcher-run';
import { randomFile, removeDir, tempDir } from '../helpers/files';
import { FETCHER_BIN, freePorts, killAll, ROOT, runFetcher, runToExit, ServerSet, startServerSet } from '../helpers/processes';

const MiB = 1024 * 1024;
let dir: string;
let src: string;
let other: string;
let slow: ServerSet;
let fast: ServerSet;
let otherServer: ServerSet;
const closers: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  dir = tempDir('msd-exit-');
  src = randomFile(path.join(dir, 'src.bin'), 8 * MiB + 5);
  other = randomFile(path.join(dir, 'other.bin'), 3 * MiB);
  [slow, fast, otherServer] = await Promise.all([
    startServerSet(src, 2, ['--rate-limit', String(MiB), '--shutdown-timeout', '1']),
    startServerSet(src, 2, ['--shutdown-timeout', '1']),
    startServerSet(other, 1, ['--shutdown-timeout', '1']),
  ]);
}, 60_000);

afterAll(async () => {
  for (const c of closers) await c();
  await Promise.all([slow, fast, otherServer].map((s) => s?.stop('SIGTERM')));
  killAll();
  removeDir(dir);
});

const p = (s: ServerSet): string[] => s.ports.map(String);
const out = (name: string): string => path.join(dir, name);

/** The codes of the README's fetcher exit-code table ("130 / 143" is two). */
function readmeCodes(): number[] {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = text.slice(text.indexOf('### Exit codes'));
  const rows = table.split('\n').filter((l) => /^\| \d/.test(l)).map((l) => l.split('|')[1].trim());
  return rows.flatMap((c) => c.split('/').map((x) => Number(x.trim()))).sort((a, b) => a - b);
}

/** Each code and how it is produced; the test below runs them all. */
const cases: Record<number, () => Promise<{ code: number | null; why: string }>> = {
  0: async () => {
    const r = await runFetcher(['-o', out('ok.bin'), '-p', ...p(fast)]);
    return { code: r.code, why: r.stdout };
  },
  2: async () => {
    const r = await runFetcher(['-o', out('x.bin'), '-p', ...p(fast), '--connections-per-servre', '2']);
    return { code: r.code, why: r.stderr };
  },
  3: async () => {
    const [closed] = await freePorts(1);
    const r = await runFetcher(['-o', out('x.bin'), '-p', String(closed), '--give-up-after', '1']);
    return { code: r.code, why: r.stderr };
  },
  4: async () => {
    const r = await runFetcher(['-o', out('x.bin'), '-p', ...p(fast), ...p(otherServer)]);
    return { code: r.code, why: r.stderr };
  },
  5: async () => {
    fs.mkdirSync(out('io.bin.part')); // the part file's name is taken by a directory
    const r = await runFetcher(['-o', out('io.bin'), '-p', ...p(fast)]);
    return { code: r.code, why: r.stderr };
  },
  6: async () => {
    const proxy = await startCorruptingProxy(fast.ports[0], { every: MiB, at: 99 });
    closers.push(() => proxy.close());
    const r = await runFetcher(['-o', out('bad.bin'), '-p', String(proxy.port)]);
    return { code: r.code, why: r.stderr };
  },
  7: async () => {
    const f = startFetcher(['-o', out('cancel.bin'), '-p', ...p(slow), '--grpc-port', '0']);
    const grpc = await f.waitForLog((l) => l.msg === 'grpc listening');
    await waitForBytesDone(f, MiB);
    const ctl = await runToExit(FETCHER_BIN, ['ctl', 'cancel', '--addr', `127.0.0.1:${grpc.port}`]);
    expect(ctl.code).toBe(0);
    return { code: (await exitOf(f)).code, why: f.stderr() };
  },
  8: async () => {
    const junk = net.createServer((s) => { s.on('error', () => undefined); s.end('hello, I am not one of yours\r\n'); });
    await new Promise<void>((r) => junk.listen(0, '127.0.0.1', () => r()));
    closers.push(() => void junk.close());
    const r = await runFetcher(['-o', out('x.bin'), '-p', String((junk.address() as net.AddressInfo).port)]);
    return { code: r.code, why: r.stderr };
  },
  9: async () => {
    const first = startFetcher(['-o', out('locked.bin'), '-p', ...p(slow)]);
    await waitForBytesDone(first, 1);
    const second = await runFetcher(['-o', out('locked.bin'), '-p', ...p(fast)]);
    first.child.kill('SIGKILL');
    await exitOf(first);
    return { code: second.code, why: second.stderr };
  },
  130: async () => {
    const f = startFetcher(['-o', out('int.bin'), '-p', ...p(slow)]);
    await waitForBytesDone(f, 1);
    f.child.kill('SIGINT');
    return { code: (await exitOf(f)).code, why: f.stderr() };
  },
  143: async () => {
    const f = startFetcher(['-o', out('term.bin'), '-p', ...p(slow)]);
    await waitForBytesDone(f, 1);
    f.child.kill('SIGTERM');
    return { code: (await exitOf(f)).code, why: f.stderr() };
  },
};

test('every code in the README table has a case here (1: see the header)', () => {
  expect(readmeCodes()).toEqual([1, ...Object.keys(cases).map(Number)].sort((a, b) => a - b));
});

test.each(Object.keys(cases).map(Number))('exit %d happens where the README says', async (code) => {
  const r = await cases[code]();
  expect({ code: r.code, why: r.code === code ? '' : r.why.slice(-1500) }).toEqual({ code, why: '' });
}, 60_000);
