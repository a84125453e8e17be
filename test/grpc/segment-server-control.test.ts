/**
 * The segment-server control listener over a real socket, against an in-test
 * target: health transitions (indexing -> SERVING -> Drain -> NOT_SERVING)
 * seen by Check and by a Watch stream, the control calls, token checks.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ControlCallError, ControlClient, SEGMENT_SERVER_CONTROL, type SegmentServerControlMessages as M } from '@msd/common';
import { startSegmentServerControl, type SegmentServerControl } from '../../services/segment-server/src/control-service';
import { FakeSegmentServer } from './support/fake-targets';
import { watchHealth } from './support/health-watch';

const TOKEN = 's3cret-token';
const SERVICE = SEGMENT_SERVER_CONTROL.service;

describe('segment-server gRPC control', () => {
  let target: FakeSegmentServer;
  let control: SegmentServerControl;
  let address: string;
  const authFailures: string[] = [];
  const clients: ControlClient<M.SegmentServerControlMethods>[] = [];
  const client = (token?: string): ControlClient<M.SegmentServerControlMethods> => {
    const c = new ControlClient<M.SegmentServerControlMethods>(address, SEGMENT_SERVER_CONTROL, { token, timeoutMs: 5000 });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    target = new FakeSegmentServer();
    authFailures.length = 0;
    control = await startSegmentServerControl({ bind: '127.0.0.1', port: 0, token: TOKEN, onAuthFailure: (m) => authFailures.push(m), target });
    address = `127.0.0.1:${control.port}`;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await control.close(500);
  });

  it('is NOT_SERVING while indexing, SERVING once indexed, NOT_SERVING after Drain; Watch streams each change', async () => {
    expect(control.port).toBeGreaterThan(0);
    const watch = watchHealth(address, '');
    const watchService = watchHealth(address, SERVICE);
    expect(await watch.waitFor(1)).toEqual(['NOT_SERVING']);
    expect(await client().check('')).toBe('NOT_SERVING');
    expect(await client().check(SERVICE)).toBe('NOT_SERVING');

    target.indexed = true;
    control.refreshHealth();
    expect(await watch.waitFor(2)).toEqual(['NOT_SERVING', 'SERVING']);
    expect(await client().check('')).toBe('SERVING');
    expect(await client().check(SERVICE)).toBe('SERVING');
    control.refreshHealth(); // no change: no message
    const drain = await client(TOKEN).call('Drain', { exit_when_idle: true });
    expect(drain).toEqual({ active_transfers: 1 });
    expect(target.draining).toBe(true);
    expect(target.exitWhenIdle).toBe(true);
    expect(await watch.waitFor(3)).toEqual(['NOT_SERVING', 'SERVING', 'NOT_SERVING']);
    expect(await watchService.waitFor(3)).toEqual(['NOT_SERVING', 'SERVING', 'NOT_SERVING']);
    expect(await client().check('')).toBe('NOT_SERVING');
    await new Promise((r) => setTimeout(r, 100));
    expect(watch.statuses).toHaveLength(3);

    // close() ends open Watch streams instead of waiting out the grace period
    const started = Date.now();
    await control.close(5000);
    await Promise.all([watch.ended, watchService.ended]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('health of an unknown service is NOT_FOUND', async () => {
    await expect(client().check('no.such.Service')).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
  });

  it('GetStatus and ListFiles need no token and carry every field, 64-bit sizes intact', async () => {
    const { status } = await client().call('GetStatus', {});
    expect(status).toEqual({
      file: 'data.bin',
      size: 5 * 2 ** 32 + 7,
      piece_size: 1 << 20,
      pieces: 20481,
      content_id: 'c0ffee',
      num_servers: 2,
      indexed: false,
      draining: false,
      listeners: [
        {
          server_id: 0,
          port: 4450,
          connections: 1,
          bytes_sent: 123456789,
          requests: 3,
          rate_limit: 0,
          draining: false,
          transfers: [{ client: '127.0.0.1:50000', file: 'data.bin', offset: 0, length: 4096, sent: 1024 }],
        },
        { server_id: 1, port: 4451, connections: 0, bytes_sent: 0, requests: 0, rate_limit: 0, draining: false, transfers: [] },
      ],
    });
    const { files } = await client().call('ListFiles', {});
    expect(files).toEqual([
      { name: 'data.bin', size: 5 * 2 ** 32 + 7, content_id: 'c0ffee' },
      { name: 'sub/b.bin', size: 10, content_id: 'beef' },
    ]);
  });

  it('SetRateLimit applies to one listener or to all, and rejects an unknown server ID', async () => {
    const one = await client(TOKEN).call('SetRateLimit', { server_id: 1, bytes_per_second: 3 * 2 ** 32 });
    expect(one.listeners).toEqual([
      { server_id: 0, rate_limit: 0 },
      { server_id: 1, rate_limit: 3 * 2 ** 32 },
    ]);
    // server_id 0 is a real value, not "unset"
    await client(TOKEN).call('SetRateLimit', { server_id: 0, bytes_per_second: 1000 });
    expect([...target.rateLimits]).toEqual([
      [0, 1000],
      [1, 3 * 2 ** 32],
    ]);
    const all = await client(TOKEN).call('SetRateLimit', { bytes_per_second: 0 });
    expect(all.listeners.map((l) => l.rate_limit)).toEqual([0, 0]);
    await expect(client(TOKEN).call('SetRateLimit', { server_id: 7, bytes_per_second: 1 })).rejects.toMatchObject({
      code: GrpcStatus.NOT_FOUND,
      details: expect.stringContaining('server ID 7'),
    });
  });

  it('refuses Drain and SetRateLimit with a missing or wrong token (UNAUTHENTICATED, counted), state unchanged', async () => {
    for (const token of [undefined, 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const err = await client(token).call('Drain', { exit_when_idle: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ControlCallError);
      expect(err).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
      await expect(client(token).call('SetRateLimit', { bytes_per_second: 5 })).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    }
    expect(target.draining).toBe(false);
    expect([...target.rateLimits.values()]).toEqual([0, 0]);
    expect(authFailures).toEqual(['Drain', 'SetRateLimit', 'Drain', 'SetRateLimit', 'Drain', 'SetRateLimit', 'Drain', 'SetRateLimit']);
    // read-only calls and health need no token
    await expect(client().call('GetStatus', {})).resolves.toBeDefined();
  });

  it('without a configured token, mutating calls are open', async () => {
    await control.close(500);
    control = await startSegmentServerControl({ bind: '127.0.0.1', port: 0, target });
    address = `127.0.0.1:${control.port}`;
    await expect(client().call('Drain', { exit_when_idle: false })).resolves.toEqual({ active_transfers: 1 });
    expect(target.draining).toBe(true);
  });

  it('an error thrown by the target becomes a gRPC status with its message', async () => {
    target.drain = () => {
      throw new Error('disk on fire');
    };
    await expect(client(TOKEN).call('Drain', { exit_when_idle: false })).rejects.toMatchObject({
      code: GrpcStatus.INTERNAL,
      details: 'disk on fire',
    });
    // a failed drain did not flip health
    target.indexed = true;
    control.refreshHealth();
    expect(await client().check('')).toBe('SERVING');
  });
});
