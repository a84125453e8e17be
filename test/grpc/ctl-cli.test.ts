/**
 * The ctl CLIs end to end: real gRPC over a real socket to control listeners
 * with in-test targets; in-process (runCtl with captured output) for every
 * command, and through the installed bin scripts as an operator runs them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CtlIo, FetcherControlMessages as M } from '@msd/common';
import { startFetcherControl, type FetcherControl } from '../../services/fetcher/src/control-service';
import { runCtl as fetcherCtl } from '../../services/fetcher/src/ctl';
import { startSegmentServerControl, type SegmentServerControl } from '../../services/segment-server/src/control-service';
import { runCtl as serverCtl } from '../../services/segment-server/src/ctl';
import { FakeFetcher, FakeSegmentServer } from './support/fake-targets';

const TOKEN = 'ctl-token';
const MiB = 2 ** 20;
const ROOT = path.join(__dirname, '../..');
const NODE = process.execPath;

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(ctl: (argv: string[], io: CtlIo) => Promise<number>, argv: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const code = await ctl(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

function runBin(program: 'segment-server' | 'fetcher', argv: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(NODE, [path.join(ROOT, `services/${program}/bin/${program}.js`), 'ctl', ...argv], { timeout: 20000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? -1) : 0, out: stdout, err: stderr });
    });
  });
}

describe('segment-server ctl', () => {
  let target: FakeSegmentServer;
  let control: SegmentServerControl;
  let addr: string;
  let dir: string;

  beforeEach(async () => {
    target = new FakeSegmentServer();
    control = await startSegmentServerControl({ bind: '127.0.0.1', port: 0, token: TOKEN, target });
    addr = `127.0.0.1:${control.port}`;
    dir = mkdtempSync(path.join(tmpdir(), 'msd-ctl-'));
  });

  afterEach(async () => {
    await control.close(500);
    rmSync(dir, { recursive: true, force: true });
  });

  it('status: human-readable table, and --json with the proto field names', async () => {
    const human = await run(serverCtl, ['status', '--addr', addr]);
    expect(human).toMatchObject({ code: 0, err: '' });
    expect(human.out).toMatch(/^file\s+data\.bin$/m);
    expect(human.out).toMatch(/^state\s+indexing$/m);
    expect(human.out).toMatch(/^SERVER\s+PORT\s+CONNS\s+REQUESTS\s+SENT\s+RATE LIMIT\s+STATE$/m);
    expect(human.out).toMatch(/^0\s+4450\s+1\s+3\s+118 MiB\s+unlimited\s+open$/m);
    expect(human.out).toMatch(/^0\s+127\.0\.0\.1:50000\s+data\.bin\s+0\s+4\.0 KiB\s+1\.0 KiB$/m);

    const json = await run(serverCtl, ['status', '--addr', addr, '--json']);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.out) as { size: number; listeners: { server_id: number }[] };
    expect(status.size).toBe(5 * 2 ** 32 + 7);
    expect(status.listeners.map((l) => l.server_id)).toEqual([0, 1]);
  });

  it('drain and rate-limit need the token: exit 1 naming UNAUTHENTICATED without it, 0 with --token or --token-file', async () => {
    const refused = await run(serverCtl, ['drain', '--addr', addr]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('UNAUTHENTICATED (16)');
    expect(target.draining).toBe(false);

    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const limited = await run(serverCtl, ['rate-limit', '10MiB', '--server-id', '1', '--addr', addr, '--token-file', tokenFile]);
    expect(limited).toMatchObject({ code: 0, err: '' });
    expect(limited.out).toMatch(/^1\s+10\.5 MB\/s$/m);
    expect(target.rateLimits.get(1)).toBe(10 * 2 ** 20);
    expect(target.rateLimits.get(0)).toBe(0);

    const drained = await run(serverCtl, ['drain', '--exit-when-idle', `--addr=${addr}`, '--token', TOKEN]);
    expect(drained).toMatchObject({ code: 0, out: 'draining: 1 transfer(s) still running; the process exits when they finish\n' });
    expect(target.exitWhenIdle).toBe(true);
  });

  it('list-files and health', async () => {
    const files = await run(serverCtl, ['list-files', '--addr', addr]);
    expect(files.out).toMatch(/^sub\/b\.bin\s+10 B\s+beef$/m);
    // health: exit 1 unless SERVING
    expect(await run(serverCtl, ['health', '--addr', addr])).toEqual({ code: 1, out: 'NOT_SERVING\n', err: '' });
    target.indexed = true;
    control.refreshHealth();
    expect(await run(serverCtl, ['health', '--addr', addr, '--json'])).toEqual({ code: 0, out: '{"service":"","status":"SERVING"}\n', err: '' });
    const unknown = await run(serverCtl, ['health', '--service', 'x.Y', '--addr', addr]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('NOT_FOUND (5)');
  });

  it('usage errors exit 2 with the reason and the usage text; --help exits 0', async () => {
    const cases: [string[], string][] = [
      [[], 'missing command'],
      [['frobnicate', '--addr', addr], "unknown command 'frobnicate'"],
      [['status'], '--addr host:port is required'],
      [['status', '--addr', addr, '--bogus'], 'unknown option --bogus'],
      [['rate-limit', '--addr', addr], 'rate-limit needs <BYTES_PER_SECOND>'],
      [['rate-limit', 'fast', '--addr', addr], "rate 'fast' is not a size"],
      [['rate-limit', '1', '--server-id', '-3', '--addr', addr], '--server-id must be a non-negative integer'],
      [['drain', '--addr', addr, '--token', 'a', '--token-file', '/x'], 'both set'],
      [['drain', '--addr', addr, '--token-file', path.join(dir, 'missing')], 'cannot read'],
      [['status', '--addr', addr, '--timeout', '0'], '--timeout must be a positive number'],
    ];
    for (const [argv, message] of cases) {
      const r = await run(serverCtl, argv);
      expect({ argv, code: r.code, out: r.out }).toEqual({ argv, code: 2, out: '' });
      expect(r.err).toContain(message);
    }
    const help = await run(serverCtl, ['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: segment-server ctl <command> --addr HOST:PORT');
    expect(help.out).toMatch(/^\s+rate-limit <BYTES_PER_SECOND> \[--server-id SERVER_ID\]/m);
  });

  it('an unreachable address exits 1 with UNAVAILABLE', async () => {
    await control.close(100);
    const r = await run(serverCtl, ['status', '--addr', addr, '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/UNAVAILABLE \(14\)|DEADLINE_EXCEEDED \(4\)/);
  });

  it('runs through the segment-server bin as an operator would', async () => {
    target.indexed = true;
    control.refreshHealth();
    expect(await runBin('segment-server', ['health', '--addr', addr])).toEqual({ code: 0, out: 'SERVING\n', err: '' });
    const refused = await runBin('segment-server', ['drain', '--addr', addr, '--token', 'wrong']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('UNAUTHENTICATED');
    expect((await runBin('segment-server', ['status'])).code).toBe(2);
  });
});

describe('fetcher ctl', () => {
  let target: FakeFetcher;
  let control: FetcherControl;
  let addr: string;

  beforeEach(async () => {
    target = new FakeFetcher();
    control = await startFetcherControl({ bind: '127.0.0.1', port: 0, token: TOKEN, target });
    addr = `127.0.0.1:${control.port}`;
  });

  afterEach(() => control.close(500));

  it('progress: summary and segment table', async () => {
    target.set('DOWNLOADING', 5 << 20);
    const r = await run(fetcherCtl, ['progress', '--addr', addr]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^file\s+data\.bin -> \/tmp\/out\/data\.bin$/m);
    expect(r.out).toMatch(/^done\s+62\.5%\s+5\.0 MiB of 8\.0 MiB, pieces 5\/8$/m);
    expect(r.out).toMatch(/^1\s+4194304-8388608\s+25\.0% 1\.0 MiB\s+0\.8 MB\/s\s+1 127\.0\.0\.1:4451$/m);
  });

  it('progress of a single file: the output it had before sets existed, and --json without a set', async () => {
    target.set('DOWNLOADING', 5 << 20);
    const human = await run(fetcherCtl, ['progress', '--addr', addr]);
    expect(human).toEqual({
      code: 0,
      err: '',
      out: [
        'file   data.bin -> /tmp/out/data.bin',
        'state  DOWNLOADING',
        'done   62.5%  5.0 MiB of 8.0 MiB, pieces 5/8',
        'rate   1.5 MB/s, ETA --:--',
        '',
        'SEGMENT  RANGE            DONE            RATE      SERVER',
        '0        0-4194304        100.0% 4.0 MiB  0.8 MB/s  0 127.0.0.1:4450',
        '1        4194304-8388608  25.0% 1.0 MiB   0.8 MB/s  1 127.0.0.1:4451',
        '',
      ].join('\n'),
    });
    const json = await run(fetcherCtl, ['progress', '--addr', addr, '--json']);
    expect(json.code).toBe(0);
    expect(json.out).not.toContain('"set"');
    expect(JSON.parse(json.out)).toMatchObject({ file: 'data.bin', bytes_done: 5 << 20, state: 'DOWNLOADING' });
  });

  it('progress of a set: files complete, one line per file in flight; --json and --watch carry the set', async () => {
    const inFlight = [
      { name: 'données/été/übergroß.bin', size: 30 * MiB, bytesDone: 12 * MiB },
      { name: 'b/ファイル.bin', size: 1024, bytesDone: 1024 },
    ];
    target.setProgress = { files: 30, filesComplete: 12, inFlight };
    target.set('DOWNLOADING', 5 << 20);
    const human = await run(fetcherCtl, ['progress', '--addr', addr]);
    expect(human).toMatchObject({ code: 0, err: '' });
    const lines = human.out.split('\n');
    const files = lines.findIndex((l) => /^files\s+12\/30 complete$/.test(l));
    expect(files).toBeGreaterThan(0);
    expect(lines[files + 1]).toMatch(/^ {2}données\/été\/übergroß\.bin\s+40\.0%\s+\(12\.0 MiB of 30\.0 MiB\)$/);
    expect(lines[files + 2]).toMatch(/^ {2}b\/ファイル\.bin\s+100\.0%\s+\(1\.0 KiB of 1\.0 KiB\)$/);
    expect(lines[files + 3]).toBe(''); // then the segment table, as for one file
    expect(human.out).toMatch(/^output\s+\/tmp\/out\/tree$/m); // a set has no file name of its own
    expect(human.out).not.toMatch(/^file\s/m);

    const json = await run(fetcherCtl, ['progress', '--addr', addr, '--json']);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.out) as M.ProgressMessage).set).toEqual({
      files: 30,
      files_complete: 12,
      in_flight: inFlight.map((f) => ({ name: f.name, size: f.size, bytes_done: f.bytesDone })),
    });

    const watching = run(fetcherCtl, ['progress', '--watch', '--addr', addr]);
    await new Promise((r) => setTimeout(r, 300));
    target.setProgress = { files: 30, filesComplete: 30, inFlight: [] };
    target.set('DONE', 8 << 20);
    const watched = await watching;
    expect(watched.code).toBe(0);
    expect(watched.out.trim().split('\n').pop()).toMatch(/^DONE\s+100\.0%.*ETA \S+\s+files 30\/30$/);
  });

  it('pause, resume, cancel with the token; refused without', async () => {
    target.set('DOWNLOADING', 2 << 20);
    expect((await run(fetcherCtl, ['pause', '--addr', addr])).code).toBe(1);
    expect(await run(fetcherCtl, ['pause', '--addr', addr, '--token', TOKEN])).toEqual({ code: 0, out: 'PAUSED\n', err: '' });
    expect(await run(fetcherCtl, ['resume', '--addr', addr, '--token', TOKEN, '--json'])).toEqual({ code: 0, out: '{"state":"DOWNLOADING"}\n', err: '' });
    expect(await run(fetcherCtl, ['cancel', '--addr', addr, '--token', TOKEN])).toEqual({
      code: 0,
      out: 'CANCELLED: 2.0 MiB verified and kept for resume\n',
      err: '',
    });
    const again = await run(fetcherCtl, ['pause', '--addr', addr, '--token', TOKEN]);
    expect(again.code).toBe(1);
    expect(again.err).toBe('fetcher ctl pause: Pause failed: FAILED_PRECONDITION (9): cannot pause: the download is CANCELLED\n');
  });

  it('progress --watch --json through the fetcher bin streams until DONE and exits 0', async () => {
    target.set('DOWNLOADING', 0);
    const child = runBin('fetcher', ['progress', '--watch', '--json', '--addr', addr]);
    await new Promise((r) => setTimeout(r, 1000)); // the child starts and subscribes
    for (let i = 1; i <= 4; i++) {
      target.set('DOWNLOADING', i << 20);
      await new Promise((r) => setTimeout(r, 300));
    }
    target.set('DONE', 8 << 20);
    const r = await child;
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { state: string; bytes_done: number });
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines[lines.length - 1]).toMatchObject({ state: 'DONE', bytes_done: 8 << 20 });
    const done = lines.map((l) => l.bytes_done);
    expect([...done].sort((a, b) => a - b)).toEqual(done);
  });

  it('progress --watch exits 1 when the download ends other than DONE', async () => {
    target.set('DOWNLOADING', 1);
    const watching = run(fetcherCtl, ['progress', '--watch', '--addr', addr]);
    await new Promise((r) => setTimeout(r, 300));
    target.set('FAILED');
    const r = await watching;
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n').pop()).toMatch(/^FAILED\s+0\.0%/);
  });
});
