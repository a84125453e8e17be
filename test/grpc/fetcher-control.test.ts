/**
 * The fetcher control listener over a real socket, against an in-test target:
 * health follows the state, WatchProgress streams (throttled, ends on a final
 * state), Pause/Resume/Cancel with the token, errors as gRPC statuses.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ControlClient, FETCHER_CONTROL, MAX_FILES_IN_FLIGHT_SHOWN, type FetcherControlMessages as M } from '@msd/common';
import { startFetcherControl, type FetcherControl } from '../../services/fetcher/src/control-service';
import { FakeFetcher } from './support/fake-targets';
import { watchHealth } from './support/health-watch';

const TOKEN = 'fetch-token';
const MiB = 2 ** 20;
type Client = ControlClient<M.FetcherControlMethods, M.FetcherControlStreams>;

describe('fetcher gRPC control', () => {
  let target: FakeFetcher;
  let control: FetcherControl;
  let address: string;
  const authFailures: string[] = [];
  const clients: Client[] = [];
  const client = (token?: string): Client => {
    const c: Client = new ControlClient(`127.0.0.1:${control.port}`, FETCHER_CONTROL, { token, timeoutMs: 5000 });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    target = new FakeFetcher();
    authFailures.length = 0;
    control = await startFetcherControl({ bind: '127.0.0.1', port: 0, token: TOKEN, onAuthFailure: (m) => authFailures.push(m), target });
    address = `127.0.0.1:${control.port}`;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await control.close(500);
  });

  it('health follows the state: CONNECTING and STALLED are NOT_SERVING, DOWNLOADING and PAUSED SERVING', async () => {
    const watch = watchHealth(address, FETCHER_CONTROL.service);
    expect(await watch.waitFor(1)).toEqual(['NOT_SERVING']);
    target.set('DOWNLOADING', 1 << 20);
    expect(await watch.waitFor(2)).toEqual(['NOT_SERVING', 'SERVING']);
    target.set('STALLED');
    expect(await watch.waitFor(3)).toEqual(['NOT_SERVING', 'SERVING', 'NOT_SERVING']);
    target.set('DOWNLOADING');
    await client(TOKEN).call('Pause', {});
    await new Promise((r) => setTimeout(r, 300));
    expect(await client().check('')).toBe('SERVING');
    watch.cancel();
  });

  it('GetProgress carries totals and per-segment progress', async () => {
    target.set('DOWNLOADING', 5 << 20);
    const { progress } = await client().call('GetProgress', {});
    expect(progress).toEqual({
      file: 'data.bin',
      output: '/tmp/out/data.bin',
      size: 8 << 20,
      bytes_done: 5 << 20,
      pieces_done: 5,
      pieces: 8,
      bytes_per_second: 1.5e6,
      eta_seconds: -1,
      state: 'DOWNLOADING',
      segments: [
        { segment: 0, start: 0, end: 4 << 20, bytes_done: 4 << 20, bytes_per_second: 750000, server_id: 0, server: '127.0.0.1:4450' },
        { segment: 1, start: 4 << 20, end: 8 << 20, bytes_done: 1 << 20, bytes_per_second: 750000, server_id: 1, server: '127.0.0.1:4451' },
      ],
      // a single file: no set on the wire (an empty SetProgress would read as { files: 0, ... })
      set: null,
    });
  });

  it('GetProgress and WatchProgress carry a directory download\'s set exactly: counts, names with / and non-ASCII, sizes above 2^32', async () => {
    const inFlight = [
      { name: 'données/été/übergroß.bin', size: 5 * 2 ** 32 + 7, bytesDone: 3 * 2 ** 32 + 1 },
      { name: '日本/ファイル 1.bin', size: 30 * MiB, bytesDone: 12 * MiB },
      { name: 'a/b/c/d.txt', size: 1, bytesDone: 0 },
    ];
    target.setProgress = { files: 30, filesComplete: 12, inFlight };
    target.set('DOWNLOADING', 5 << 20);
    const wire = {
      files: 30,
      files_complete: 12,
      in_flight: inFlight.map((f) => ({ name: f.name, size: f.size, bytes_done: f.bytesDone })),
    };
    const { progress } = await client().call('GetProgress', {});
    expect(progress).toMatchObject({ file: '', output: '/tmp/out/tree', size: 8 << 20, state: 'DOWNLOADING' });
    expect(progress.set).toEqual(wire);

    const watched: M.ProgressMessage[] = [];
    let first: () => void = () => {};
    const firstArrived = new Promise<void>((resolve) => (first = resolve));
    const stream = client().stream('WatchProgress', { min_interval_ms: 0 }, ({ progress: p }) => {
      watched.push(p);
      first();
    });
    await firstArrived;
    target.setProgress = { files: 30, filesComplete: 30, inFlight: [] };
    target.set('DONE', 8 << 20);
    await stream;
    expect(watched[0]?.set).toEqual(wire);
    expect(watched[watched.length - 1]?.set).toEqual({ files: 30, files_complete: 30, in_flight: [] });
  });

  it('a set of no files is still a set, and at most MAX_FILES_IN_FLIGHT_SHOWN files in flight go on the wire', async () => {
    target.setProgress = { files: 0, filesComplete: 0, inFlight: [] };
    expect((await client().call('GetProgress', {})).progress.set).toEqual({ files: 0, files_complete: 0, in_flight: [] });

    const many = Array.from({ length: MAX_FILES_IN_FLIGHT_SHOWN + 5 }, (_, i) => ({ name: `f/${i}`, size: 100, bytesDone: 100 - i }));
    target.setProgress = { files: 100, filesComplete: 3, inFlight: many };
    const { progress } = await client().call('GetProgress', {});
    expect(progress.set?.in_flight.map((f) => f.name)).toEqual(many.slice(0, MAX_FILES_IN_FLIGHT_SHOWN).map((f) => f.name));
    expect(progress.set).toMatchObject({ files: 100, files_complete: 3 });
  });

  it('WatchProgress sends at once, then at most every interval, and ends after the final state', async () => {
    target.set('DOWNLOADING', 0);
    const received: { at: number; progress: M.ProgressMessage }[] = [];
    const started = Date.now();
    const stream = client().stream('WatchProgress', { min_interval_ms: 200 }, ({ progress }) => received.push({ at: Date.now() - started, progress }));
    // 100 changes per second for 1 s
    for (let i = 1; i <= 100; i++) {
      await new Promise((r) => setTimeout(r, 10));
      target.set('DOWNLOADING', i * 1000);
    }
    target.set('DONE', 8 << 20);
    await stream;
    const gaps = received.slice(1).map((r, i) => r.at - (received[i] as { at: number }).at);
    expect(received.length).toBeGreaterThanOrEqual(4);
    expect(received.length).toBeLessThanOrEqual(9); // ~1.1 s / 200 ms + first + last
    // the final state goes out at once (the stream ends with it); the others are throttled.
    // Arrival gaps can be a little shorter than send gaps (a delayed frame), hence the margin.
    for (const gap of gaps.slice(0, -1)) expect(gap).toBeGreaterThanOrEqual(150);
    const last = received[received.length - 1]?.progress;
    expect(last).toMatchObject({ state: 'DONE', bytes_done: 8 << 20 });
    expect(received.slice(0, -1).every((r) => r.progress.state === 'DOWNLOADING')).toBe(true);
    // the stream's subscription is gone (only the health listener remains)
    expect(target.listenerCount()).toBe(1);
  });

  it('a client that goes away unsubscribes its WatchProgress', async () => {
    target.set('DOWNLOADING', 0);
    const abort = new AbortController();
    const stream = client().stream('WatchProgress', { min_interval_ms: 0 }, () => {}, abort.signal);
    await new Promise((r) => setTimeout(r, 200));
    expect(target.listenerCount()).toBe(2);
    abort.abort();
    await expect(stream).rejects.toMatchObject({ code: GrpcStatus.CANCELLED });
    await new Promise((r) => setTimeout(r, 200));
    expect(target.listenerCount()).toBe(1);
  });

  it('close() sends the last progress to watchers and ends their streams', async () => {
    target.set('DOWNLOADING', 1234);
    const received: M.ProgressMessage[] = [];
    const stream = client().stream('WatchProgress', { min_interval_ms: 0 }, ({ progress }) => received.push(progress));
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await control.close(5000);
    await stream;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(received[received.length - 1]).toMatchObject({ state: 'DOWNLOADING', bytes_done: 1234 });
  });

  it('Pause, Resume and Cancel need the token and report the new state', async () => {
    target.set('DOWNLOADING', 3 << 20);
    for (const method of ['Pause', 'Resume', 'Cancel'] as const) {
      await expect(client().call(method, {})).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
      await expect(client('nope').call(method, {})).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    }
    expect(authFailures).toEqual(['Pause', 'Pause', 'Resume', 'Resume', 'Cancel', 'Cancel']);
    expect(target.state).toBe('DOWNLOADING');
    expect(target.cancelCalls).toBe(0);

    await expect(client(TOKEN).call('Pause', {})).resolves.toEqual({ state: 'PAUSED' });
    await expect(client(TOKEN).call('Resume', {})).resolves.toEqual({ state: 'DOWNLOADING' });
    await expect(client(TOKEN).call('Cancel', {})).resolves.toEqual({ state: 'CANCELLED', bytes_done: 3 << 20 });
    // the target refuses once the download has ended: FAILED_PRECONDITION with its message
    await expect(client(TOKEN).call('Pause', {})).rejects.toMatchObject({
      code: GrpcStatus.FAILED_PRECONDITION,
      details: 'cannot pause: the download is CANCELLED',
    });
  });
});
