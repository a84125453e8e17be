/**
 * A resume state that is truncated, bit-flipped, or belongs to another file, under each
 * --on-bad-state policy: one clear line naming the problem, and the outcome the policy promises
 * (reverify keeps exactly the good pieces of the part file; restart fetches everything again;
 * fail exits 5 and changes nothing).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { completion, exitOf, startFetcher, waitForBytesDone } from '../helpers/fetcher-run';
import { killAll, LogLine, runFetcher, ServerSet, startServerSet } from '../helpers/processes';

const MiB = 1024 * 1024;
const PIECE = MiB;
const SIZE = 16 * MiB + 5000;
const PIECES = Math.ceil(SIZE / PIECE);

let dir: string;
let srcA: string;
let fast: ServerSet;
/** A partial download of A (part + state), and the state of a partial download of B (same size, other content). */
let partA: Buffer;
let stateA: Buffer;
let stateB: Buffer;

/** Starts a slow download of `file` into a scratch dir, stops it with SIGTERM at ~40 %, returns its part and state. */
async function partialDownload(file: string, name: string): Promise<{ part: Buffer; state: Buffer }> {
  const slow = await startServerSet(file, 2, ['--rate-limit', String(2 * MiB), '--shutdown-timeout', '2']);
  const out = path.join(fs.mkdtempSync(path.join(dir, `${name}-`)), 'out.bin');
  const f = startFetcher(['-o', out, '-p', ...slow.ports.map(String), '--state-interval', '0.2']);
  await waitForBytesDone(f, 0.4 * SIZE);
  f.child.kill('SIGTERM');
  const r = await exitOf(f);
  await slow.stop('SIGTERM');
  if (r.code !== 143) throw new Error(`setup: the fetcher exited ${r.code ?? r.signal} on SIGTERM, not 143: ${f.stderr().slice(-2000)}`);
  return { part: fs.readFileSync(`${out}.part`), state: fs.readFileSync(`${out}.part.state`) };
}

beforeAll(async () => {
  dir = tempDir('msd-bad-state-');
  srcA = randomFile(path.join(dir, 'a.bin'), SIZE);
  const srcB = randomFile(path.join(dir, 'b.bin'), SIZE);
  const [a, b] = await Promise.all([partialDownload(srcA, 'partial-a'), partialDownload(srcB, 'partial-b')]);
  partA = a.part;
  stateA = a.state;
  stateB = b.state;
  fast = await startServerSet(srcA, 2, ['--shutdown-timeout', '2']);
}, 90_000);
afterAll(async () => {
  await fast?.stop('SIGTERM');
  killAll();
  removeDir(dir);
});

/** Pieces of the part file whose bytes equal the source's: what a re-verification must keep. */
function goodPieces(part: Buffer, src: Buffer): { count: number; bytes: number } {
  let count = 0;
  let bytes = 0;
  for (let p = 0; p < PIECES; p++) {
    const a = part.subarray(p * PIECE, Math.min(SIZE, (p + 1) * PIECE));
    if (a.equals(src.subarray(p * PIECE, Math.min(SIZE, (p + 1) * PIECE)))) {
      count++;
      bytes += a.length;
    }
  }
  return { count, bytes };
}

type Damage = 'truncated' | 'bit-flipped' | 'from another file';
const damaged: Record<Damage, () => Buffer> = {
  truncated: () => stateA.subarray(0, Math.floor(stateA.length / 2)),
  'bit-flipped': () => {
    const b = Buffer.from(stateA);
    b[62] ^= 0x10; // inside the bitfield: decodes, but fails the checksum
    return b;
  },
  'from another file': () => stateB,
};
const problem: Record<Damage, RegExp> = {
  truncated: /resume state \S+ is damaged \((too short \(\d+ bytes\)|checksum mismatch \(damaged or truncated\))\)/,
  'bit-flipped': /resume state \S+ is damaged \(checksum mismatch/,
  'from another file': /resume state \S+ is for other content \(.*content [0-9a-f]{16}\) than the servers offer/,
};

function setUp(name: string, state: Buffer): string {
  const out = path.join(fs.mkdtempSync(path.join(dir, `${name.replace(/\W+/g, '-')}-`)), 'out.bin');
  fs.writeFileSync(`${out}.part`, partA);
  fs.writeFileSync(`${out}.part.state`, state);
  return out;
}

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const problemLines = (logs: LogLine[], d: Damage): LogLine[] => logs.filter((l) => problem[d].test(l.msg));

describe.each(Object.keys(damaged) as Damage[])('state %s', (d) => {
  test('--on-bad-state reverify: says so in one line, keeps exactly the good pieces, result exact', async () => {
    const out = setUp(`${d}-reverify`, damaged[d]());
    const good = goodPieces(partA, fs.readFileSync(srcA));
    expect(good.count).toBeGreaterThanOrEqual(4); // the setup left real work to keep
    const r = await runFetcher(['-o', out, '-p', ...fast.ports.map(String), '--on-bad-state', 'reverify']);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
    expect(sha256File(out)).toBe(sha256File(srcA));
    const lines = problemLines(r.logs, d);
    expect(lines.map((l) => l.level)).toEqual(['warn']);
    expect(lines[0].msg).toMatch(/re-verifying the part file piece by piece \(--on-bad-state reverify\)/);
    expect(r.logs.map((l) => l.msg)).toContain(`re-verified the part file: ${good.count} of ${PIECES} pieces are good and kept`);
    const done = completion(r.logs);
    expect(done.resumedBytes).toBe(good.bytes);
    expect(done.bytesReceived).toBeLessThanOrEqual(SIZE - done.resumedBytes + 2 * PIECE);
  }, 60_000);

  test('--on-bad-state restart: says so in one line, starts over, result exact', async () => {
    const out = setUp(`${d}-restart`, damaged[d]());
    const r = await runFetcher(['-o', out, '-p', ...fast.ports.map(String), '--on-bad-state', 'restart']);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
    expect(sha256File(out)).toBe(sha256File(srcA));
    const lines = problemLines(r.logs, d);
    expect(lines.map((l) => l.level)).toEqual(['warn']);
    expect(lines[0].msg).toMatch(/starting over \(--on-bad-state restart\)/);
    const done = completion(r.logs);
    expect(done.resumedBytes).toBe(0);
    expect(done.bytesReceived).toBeGreaterThanOrEqual(SIZE);
  }, 60_000);

  test('--on-bad-state fail: exit 5 with one clear error, the part file and state untouched', async () => {
    const out = setUp(`${d}-fail`, damaged[d]());
    const before = [sha(`${out}.part`), sha(`${out}.part.state`)];
    const r = await runFetcher(['-o', out, '-p', ...fast.ports.map(String), '--on-bad-state', 'fail']);
    expect(r.code).toBe(5);
    const lines = problemLines(r.logs, d);
    expect(lines.map((l) => ({ level: l.level, code: l.code }))).toEqual([{ level: 'error', code: 'E_BAD_STATE' }]);
    expect(lines[0].msg).toMatch(/nothing was changed\. Rerun with --on-bad-state reverify .* or --on-bad-state restart/);
    expect([sha(`${out}.part`), sha(`${out}.part.state`)]).toEqual(before);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(path.dirname(out)).sort()).toEqual(['out.bin.part', 'out.bin.part.state']);
  }, 60_000);
});
