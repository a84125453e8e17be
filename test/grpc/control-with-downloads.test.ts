/**
 * Control calls on real processes while a real download runs: Drain lets the
 * running download finish and refuses a new one; SetRateLimit changes the
 * measured rate; Pause/Resume/Cancel on a running fetcher, and Cancel leaves a
 * state the next run resumes from.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCtl as fetcherCtl } from '../../services/fetcher/src/ctl';
import { runCtl as serverCtl } from '../../services/segment-server/src/ctl';
import { spawnProcess, type Proc } from '../helpers/processes';
import {
  FETCHER_BIN,
  firstHealth,
  startFetcher,
  startSegmentServer,
  until,
  type FetcherClient,
  type ProgramProcess,
  type ServerClient,
} from './support/program-processes';

const TOKEN = 'downloads-token';
const MiB = 2 ** 20;
const SIZE = 24 * MiB;
const quietIo = { out: () => {}, err: () => {} };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('control calls during real downloads', () => {
  let dir: string;
  let source: string;
  let digest: string;
  const started: { stop(): Promise<unknown> }[] = [];

  const server = async (rate: string): Promise<{ p: ProgramProcess<ServerClient>; dataPort: number }> => {
    const p = await startSegmentServer(['-f', source, '--port', '0', '--rate-limit', rate, '--token', TOKEN], TOKEN);
    started.push(p);
    await firstHealth(p);
    await until('server SERVING', async () => (await p.client.check('')) === 'SERVING');
    const { status } = await p.client.call('GetStatus', {});
    return { p, dataPort: status.listeners[0]?.port ?? 0 };
  };
  const fetcherArgs = (ports: number[], out: string): string[] => [
    '-a', '127.0.0.1', '-p', ...ports.map(String), '-o', out, '--token', TOKEN, '--state-interval', '0.2', '--progress', 'off',
  ];
  const bytesSent = async (c: ServerClient): Promise<number> => (await c.call('GetStatus', {})).status.listeners.reduce((s, l) => s + l.bytes_sent, 0);
  const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'msd-grpc-dl-'));
    source = path.join(dir, 'source.bin');
    const data = randomBytes(SIZE);
    writeFileSync(source, data);
    digest = createHash('sha256').update(data).digest('hex');
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop()));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SetRateLimit changes the measured send rate of a running transfer', async () => {
    const { p: srv, dataPort } = await server(String(MiB));
    const out = path.join(dir, 'rate.bin');
    const fetcher = spawnProcess(process.execPath, [FETCHER_BIN, ...fetcherArgs([dataPort], out)]);
    started.push(fetcher);
    const rateOver = async (ms: number): Promise<number> => {
      const before = await bytesSent(srv.client);
      const t0 = Date.now();
      await sleep(ms);
      return ((await bytesSent(srv.client)) - before) / ((Date.now() - t0) / 1000);
    };
    await until('bytes flowing', async () => (await bytesSent(srv.client)) > 0);
    await sleep(500);
    const slow = await rateOver(2000);
    expect(await serverCtl(['rate-limit', '4MiB', '--addr', srv.grpcAddress, '--token', TOKEN], quietIo)).toBe(0);
    await sleep(500);
    const fast = await rateOver(2000);
    expect(slow).toBeGreaterThan(0.6 * MiB);
    expect(slow).toBeLessThan(1.5 * MiB);
    expect(fast).toBeGreaterThan(3 * MiB);
    expect(fast).toBeLessThan(5.5 * MiB);
    // lift the limit: the download completes, intact
    expect(await serverCtl(['rate-limit', '0', '--server-id', '0', '--addr', srv.grpcAddress, '--token', TOKEN], quietIo)).toBe(0);
    expect((await fetcher.exited).code).toBe(0);
    expect(sha256(out)).toBe(digest);
    process.stdout.write(`measured send rate: ${(slow / MiB).toFixed(2)} MiB/s at 1 MiB/s, ${(fast / MiB).toFixed(2)} MiB/s at 4 MiB/s\n`);
  });

  it('Drain lets the running download finish (the other server takes over) and refuses a new one', async () => {
    const a = await server(String(2 * MiB));
    const b = await server(String(2 * MiB));
    const out = path.join(dir, 'drain.bin');
    const fetcher = spawnProcess(process.execPath, [FETCHER_BIN, ...fetcherArgs([a.dataPort, b.dataPort], out)]);
    started.push(fetcher);
    await until('4 MiB from server A', async () => (await bytesSent(a.p.client)) > 4 * MiB);
    expect(await serverCtl(['drain', '--addr', a.p.grpcAddress, '--token', TOKEN], quietIo)).toBe(0);
    expect(await a.p.client.check('')).toBe('NOT_SERVING');
    const atDrain = await bytesSent(a.p.client);

    expect((await fetcher.exited).code).toBe(0);
    expect(sha256(out)).toBe(digest);
    const fromA = await bytesSent(a.p.client);
    const fromB = await bytesSent(b.p.client);
    expect(fromA).toBeLessThan(SIZE / 2); // A stopped taking work: B served the rest
    expect(fromA + fromB).toBeGreaterThanOrEqual(SIZE);
    // once idle, A has no connection left and stays NOT_SERVING
    await until('A idle', async () => (await a.p.client.call('GetStatus', {})).status.listeners.every((l) => l.connections === 0 && l.transfers.length === 0));
    expect(await a.p.client.check('')).toBe('NOT_SERVING');

    // a new download from A alone is refused
    const refusedOut = path.join(dir, 'refused.bin');
    const second: Proc = spawnProcess(process.execPath, [FETCHER_BIN, ...fetcherArgs([a.dataPort], refusedOut), '--give-up-after', '2', '--connect-timeout', '1']);
    started.push(second);
    const { code } = await second.exited;
    expect(code).not.toBe(0);
    expect(existsSync(refusedOut)).toBe(false);
    expect(await bytesSent(a.p.client)).toBe(fromA);
    process.stdout.write(`drain: A sent ${(atDrain / MiB).toFixed(1)} MiB before and ${((fromA - atDrain) / MiB).toFixed(1)} MiB after the drain; new fetch exited ${code}\n`);
  });

  it('Pause, Resume and Cancel a running fetcher; the next run resumes from the saved state', async () => {
    const { p: srv, dataPort } = await server(String(3 * MiB));
    const out = path.join(dir, 'paused.bin');
    const f: ProgramProcess<FetcherClient> = await startFetcher(fetcherArgs([dataPort], out), TOKEN);
    started.push(f);
    const done = async (): Promise<number> => (await f.client.call('GetProgress', {})).progress.bytes_done;
    await firstHealth(f);
    await until('2 MiB verified', async () => (await done()) > 2 * MiB);
    expect(await f.client.check('')).toBe('SERVING');

    // Pause: once the requests in flight have landed, nothing more arrives
    expect(await fetcherCtl(['pause', '--addr', f.grpcAddress], quietIo)).toBe(1); // no token
    await expect(f.client.call('Pause', {})).resolves.toEqual({ state: 'PAUSED' });
    let settled = -1;
    await until('progress to settle', async () => {
      const a = await done();
      await sleep(700);
      const b = await done();
      settled = b;
      return a === b;
    }, 15000, 0);
    await sleep(1000);
    expect(await done()).toBe(settled);
    expect((await f.client.call('GetProgress', {})).progress.state).toBe('PAUSED');
    expect(settled).toBeLessThan(SIZE);

    // Resume: bytes flow again
    await expect(f.client.call('Resume', {})).resolves.toEqual({ state: 'DOWNLOADING' });
    await until('progress after resume', async () => (await done()) > settled + MiB);

    // Cancel: state saved, process ends with CANCELLED (7), no final file
    const cancelled = await f.client.call('Cancel', {});
    expect(cancelled.state).toBe('CANCELLED');
    expect(cancelled.bytes_done).toBeGreaterThan(settled);
    expect(cancelled.bytes_done).toBeLessThan(SIZE);
    expect((await f.child.exited).code).toBe(7);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.part`)).toBe(true);
    expect(existsSync(`${out}.part.state`)).toBe(true);

    // the next run continues from the saved state
    await srv.client.call('SetRateLimit', { bytes_per_second: 0 });
    const again = spawnProcess(process.execPath, [FETCHER_BIN, ...fetcherArgs([dataPort], out)]);
    started.push(again);
    expect((await again.exited).code).toBe(0);
    expect(sha256(out)).toBe(digest);
    const resumed = /([\d.]+ \w+) resumed/.exec(again.output());
    expect(resumed).not.toBeNull();
    process.stdout.write(`cancel at ${(cancelled.bytes_done / MiB).toFixed(1)} MiB; second run: ${resumed?.[1]} resumed\n`);
  });
});
