/**
 * Keeps `make bench` working: runs the real harness once in --quick mode (16 MiB, 1 run,
 * reduced sweep) against the real peers and our real programs, and checks correctness
 * only -- every output's SHA-256, every row kind in the table, parseable JSON, an SVG.
 * Timings are never asserted.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');
const NODE24 = path.join(REPO, 'node_modules', '.bin', 'node');

/** Every kind of row the table must have, even in --quick mode. */
const ROW_KINDS = [
  'ceiling:iperf3-P1',
  'ceiling:iperf3-P4',
  'ceiling:cp',
  'peer:curl',
  'peer:aria2c-x4',
  'peer:aria2c-x16',
  'peer:axel-n4',
  'ours:verify',
  'ours:durable',
  'ours:tls',
  'ours:no-verify',
  'sweep',
  'unequal:ideal',
  'unequal:ours',
  'unequal:no-steal',
  'memory:fetcher-big',
  'memory:server-clients',
  'index:cold-source',
  'index:cold-source-1t',
  'index:sha256sum-source',
  'index:cold-big',
  'index:sha256sum-big',
  'index:warm-big',
  'index:warm-sparse',
  'index:sha256sum-sparse',
  'set:one-file',
  'set:1000-files',
  'set:30-files',
  'set:10000-files',
];

interface Run {
  ok: boolean;
  error: string | null;
  warmup: boolean;
  sha256: string[];
  result: { outputs: string[]; wallS: number };
}
interface BenchCase {
  id: string;
  kind: string;
  label: string;
  expectedSha256: string | null;
  computedWallS: number | null;
  prepareError: string | null;
  records: Run[];
}
interface Row {
  id: string;
  kind: string;
  label: string;
  status: string;
}
interface Report {
  source: { size: number; sha256: string };
  rows: Row[];
  cases: BenchCase[];
}

function runHarness(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(fs.existsSync(NODE24) ? NODE24 : process.execPath, [path.join(REPO, 'test', 'bench', 'bench.js'), ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('make bench --quick', () => {
  let dir: string;
  let result: { code: number | null; stdout: string; stderr: string };
  let report: Report;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msd-bench-test-'));
    result = await runHarness(['--quick', '--json', path.join(dir, 'bench.json'), '--svg', path.join(dir, 'bench.svg')]);
    if (result.code !== 0) process.stderr.write(`bench --quick exit ${result.code}\n${result.stdout}\n${result.stderr.slice(-4000)}\n`);
    report = JSON.parse(fs.readFileSync(path.join(dir, 'bench.json'), 'utf8')) as Report;
  }, 600000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('exits 0 and writes parseable JSON for a 16 MiB source', () => {
    expect(result.code).toBe(0);
    expect(report.source.size).toBe(16 * 1024 * 1024);
    expect(report.source.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('has every row kind, and prints each row in the table', () => {
    const kinds = new Set(report.rows.map((r) => r.kind));
    for (const kind of ROW_KINDS) expect(kinds).toContain(kind);
    const lines = result.stdout.split('\n');
    for (const row of report.rows) {
      const line = lines.find((l) => l.startsWith(row.label));
      expect(line).toBeDefined();
      expect(line).toMatch(/\s(ok|computed)$/);
    }
  });

  it('ran every case, and every output has the SHA-256 of its source', () => {
    for (const c of report.cases) {
      expect({ id: c.id, prepareError: c.prepareError }).toEqual({ id: c.id, prepareError: null });
      if (c.computedWallS !== null) continue;
      expect(c.records.length).toBeGreaterThan(0);
      for (const r of c.records) {
        expect({ id: c.id, ok: r.ok, error: r.error }).toEqual({ id: c.id, ok: true, error: null });
        expect(r.sha256).toHaveLength(r.result.outputs.length);
        for (const h of r.sha256) expect(h).toBe(c.expectedSha256);
      }
    }
    // The outputs that are downloads of the main file carry its hash.
    const ours = report.cases.find((c) => c.kind === 'ours:verify');
    expect(ours?.records[0]?.sha256).toEqual([report.source.sha256]);
    const clients = report.cases.find((c) => c.kind === 'memory:server-clients');
    expect(clients?.records[0]?.sha256).toHaveLength(32);
  });

  it('writes an SVG chart with a bar per timed row', () => {
    const svg = fs.readFileSync(path.join(dir, 'bench.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const row of report.rows.filter((r) => r.kind !== 'sweep')) expect(svg).toContain(row.label);
  });

  it('leaves no temporary directory behind', () => {
    const left = fs.readdirSync('/tmp').filter((n) => n.startsWith('msd-bench-') && !n.startsWith('msd-bench-test-'));
    const mentioned = /temp dir (\S+)/.exec(result.stderr)?.[1];
    expect(mentioned).toBeDefined();
    expect(left).not.toContain(path.basename(String(mentioned)));
  });
});

interface SetFile {
  name: string;
  size: number;
  sha256: string;
}
interface FloorRow {
  id: string;
  status: string;
  wallS: { median: number };
  clientRssMiB: number | null;
}
// set-cases.js is plain CommonJS (no build step): typed here by what the tests use.
const setCases = require('./set-cases') as {
  splitSizes: (total: number, n: number) => number[];
  setNames: (n: number) => string[];
  manifestText: (files: SetFile[]) => string;
  setFloors: (rows: FloorRow[]) => { floor: string; value: string; pass: boolean }[];
  WALL_LIMIT: number;
  RSS_LIMIT: number;
};

describe('set-cases (the directory rows): pure parts', () => {
  const GiB = 2 ** 30;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

  it('splits S into n file sizes that sum to S exactly, at most 1 byte apart', () => {
    for (const [total, n] of [[GiB, 1], [GiB, 1000], [GiB, 30], [GiB, 10000], [16 * 2 ** 20, 10000], [7, 3], [5, 10], [0, 4]]) {
      const sizes = setCases.splitSizes(total, n);
      expect(sizes).toHaveLength(n);
      expect(sum(sizes)).toBe(total);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(sizes).toEqual([...sizes].sort((a, b) => b - a)); // the longer ones first
    }
    expect(setCases.splitSizes(GiB, 1000)[0]).toBe(1073742); // ~1 MiB (10^3 of them)
    expect(setCases.splitSizes(GiB, 30)[29]).toBe(Math.floor(GiB / 30));
    expect(() => setCases.splitSizes(GiB, 0)).toThrow(RangeError);
    expect(() => setCases.splitSizes(1.5, 2)).toThrow(RangeError);
  });

  it('names the files uniquely, in order, 100 to a subdirectory beyond 100 files', () => {
    expect(setCases.setNames(1)).toEqual(['file.bin']);
    expect(setCases.setNames(30).slice(0, 2)).toEqual(['f00.bin', 'f01.bin']);
    for (const n of [30, 100, 101, 1000, 10000]) {
      const names = setCases.setNames(n);
      expect(new Set(names).size).toBe(n);
      expect(names).toEqual([...names].sort());
      const dirs = new Set(names.map((x) => x.split('/').slice(0, -1).join('/')));
      expect(dirs.size).toBe(n <= 100 ? 1 : Math.ceil(n / 100));
    }
    expect(setCases.setNames(10000)[9999]).toBe('d99/f9999.bin');
  });

  it('writes a sha256sum-style manifest sorted by name', () => {
    const a = { name: 'd1/f1.bin', size: 1, sha256: 'a'.repeat(64) };
    const b = { name: 'd0/f0.bin', size: 2, sha256: 'b'.repeat(64) };
    expect(setCases.manifestText([a, b])).toBe(`${b.sha256}  d0/f0.bin\n${a.sha256}  d1/f1.bin\n`);
    expect(setCases.manifestText([b, a])).toBe(setCases.manifestText([a, b]));
  });

  it('checks the floors: many-file wall against 1.25 x the one-file row, 10,000-file RSS against 1.5 x', () => {
    expect(setCases.WALL_LIMIT).toBe(1.25);
    expect(setCases.RSS_LIMIT).toBe(1.5);
    const row = (id: string, wall: number, rss: number | null, status = 'ok'): FloorRow => ({ id, status, wallS: { median: wall }, clientRssMiB: rss });
    const floors = setCases.setFloors([row('set-1', 2, 60), row('set-1000', 2.5, 61), row('set-30', 2.6, 62), row('set-10000', 9, 91)]);
    expect(floors.map((f) => [f.floor, f.pass])).toEqual([
      ['set: 1,000 files wall <= 1.25 x 1 file', true],
      ['set: 30 files wall <= 1.25 x 1 file', false],
      ['set: 10,000 files peak RSS <= 1.5 x 1 file', false],
    ]);
    expect(floors[0].value).toBe('1.25 x (2.500 s vs 2.000 s)');
    expect(floors[2].value).toBe('1.52 x (91.0 MiB vs 60.0 MiB)');
    // no reference row, no floors; a failed row is left out
    expect(setCases.setFloors([row('set-1000', 1, 1)])).toEqual([]);
    expect(setCases.setFloors([row('set-1', 1, 1), row('set-30', 1, 1, 'FAILED')])).toEqual([]);
  });
});
