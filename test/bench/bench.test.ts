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
