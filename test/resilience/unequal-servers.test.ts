/**
 * Four servers, one at a quarter of the others' rate (server-side --rate-limit). With stealing,
 * the slow one ends up serving clearly less than 1/4 of the bytes; with --no-steal (the
 * original's static split) it serves its full quarter and the whole download waits for it.
 * Bytes per server are what each server says it sent (its `server stopped` line).
 */
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { completion } from '../helpers/fetcher-run';
import { killAll, runFetcher } from '../helpers/processes';
import { startFleet, stopForBytesSent } from '../helpers/server-fleet';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const FAST = 12 * MiB;
const RATES = [FAST, FAST, FAST, FAST / 4]; // server 3 is slow

let dir: string;
let src: string;
let want: string;
beforeAll(() => {
  dir = tempDir('msd-unequal-');
  src = randomFile(path.join(dir, 'src.bin'), SIZE);
  want = sha256File(src);
});
afterAll(() => { killAll(); removeDir(dir); });

async function download(extra: string[], name: string): Promise<{ shares: number[]; seconds: number }> {
  const fleet = await startFleet(src, RATES);
  const out = path.join(dir, `${name}.bin`);
  const started = performance.now();
  const r = await runFetcher(['-o', out, '-p', ...fleet.map((s) => String(s.ports[0])), ...extra], { timeoutMs: 60_000 });
  const seconds = (performance.now() - started) / 1000;
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(want);
  const sent = (await Promise.all(fleet.map(stopForBytesSent))).map((b) => b[0]);
  const total = sent.reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThanOrEqual(SIZE);
  const shares = sent.map((b) => b / total);
  process.stdout.write(`${name}: ${seconds.toFixed(2)} s, shares ${shares.map((s) => `${(100 * s).toFixed(1)}%`).join(' ')}, sent ${(total / SIZE).toFixed(3)} × size\n`);
  return { shares, seconds };
}

test('with stealing the slow server serves clearly less than 1/N; with --no-steal about 1/N', async () => {
  const steal = await download([], 'steal');
  const fixed = await download(['--no-steal'], 'no-steal');
  // ideal share by rate: 3 / (3 × 12 + 3) ≈ 7.7 %
  expect(steal.shares[3]).toBeLessThan(0.15);
  expect(fixed.shares[3]).toBeGreaterThan(0.22);
  expect(fixed.shares[3]).toBeLessThan(0.28);
  // the static split waits for the slow quarter (≈ 16 MiB at 3 MiB/s); stealing does not
  expect(steal.seconds).toBeLessThan(fixed.seconds);
}, 90_000);

test('end game: pieces in flight on a crawling server are duplicated on fast ones; the download does not wait for it', async () => {
  // 128 KiB/s: one 1 MiB piece takes 8 s there, and it is asked for its first pipeline of pieces at once
  const crawl = 128 * 1024;
  const size = 24 * MiB;
  const file = randomFile(path.join(dir, 'endgame.bin'), size);
  const fleet = await startFleet(file, [8 * MiB, 8 * MiB, 8 * MiB, crawl]);
  const out = path.join(dir, 'endgame-out.bin');
  const r = await runFetcher(['-o', out, '-p', ...fleet.map((s) => String(s.ports[0]))], { timeoutMs: 60_000 });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(sha256File(file));
  const seconds = Number(completion(r.logs).seconds);
  const sent = (await Promise.all(fleet.map(stopForBytesSent))).map((b) => b[0]);
  process.stdout.write(`end game: ${seconds.toFixed(2)} s, crawling server sent ${sent[3]} bytes\n`);
  // ideal ≈ 24 MiB / 24 MiB/s = 1 s; a single piece left to the crawling server alone would take 8 s
  expect(seconds).toBeLessThan(6);
  expect(sent[3]).toBeLessThan(2 * MiB);
}, 60_000);
