/**
 * The shared token on the data port: the fetcher proves it (HMAC over the server's per-connection
 * nonce) without sending it; a wrong token, no token, or a client hello captured from another
 * connection and replayed are refused with AUTH_FAILED, nothing is served on that connection, and
 * every refusal is counted in msd_server_auth_failures_total{where="data"}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ControlClient, SEGMENT_SERVER_CONTROL, type SegmentServerControlMessages as SM, authMac, decodeClientHello, decodeServerHello, encodeClientHello, encodeRequest, PROTOCOL_VERSION, RequestType,
  SERVER_HELLO_SIZE, ServerFlags, Status,
} from '@msd/common';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { freePorts, killAll, runFetcher } from '../helpers/processes';
import { ObservedServer, startObservedServer } from '../helpers/observed-server';
import { RawConnection } from '../helpers/raw-protocol-client';
import { RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy';

const TOKEN = 'correct-horse-battery-staple-7d1f';
let dir: string;
let src: string;
let tokenFile: string;
let server: ObservedServer;
let proxy: RecordingProxy;

const authFailures = (): Promise<number> => server.metric('msd_server_auth_failures_total', { where: 'data' });
const authRefusals = (): Promise<number> => server.metric('msd_server_refused_connections_total', { reason: 'auth' });

/** Sends `hello` plus two requests in one write; returns the frames and whether the server closed. */
async function tryHello(hello: (nonce: Buffer) => Buffer): Promise<{ statuses: Status[]; message: string; closed: boolean; conn: RawConnection }> {
  const c = await RawConnection.open({ port: server.ports[0] });
  const g = await c.greeting();
  expect(g.flags & ServerFlags.AUTH_REQUIRED).toBeTruthy();
  c.send(Buffer.concat([
    hello(g.nonce),
    encodeRequest({ type: RequestType.INFO, id: 1, a: 0, b: 8, name: '' }),
    encodeRequest({ type: RequestType.GET, id: 2, a: 0, b: 4096, name: '' }),
  ]));
  const closed = await c.closedWithin(5000);
  const frames = c.parsed().frames;
  c.destroy();
  return { statuses: frames.map((f) => f.header.status), message: frames[0]?.body.toString('utf8') ?? '', closed, conn: c };
}

beforeAll(async () => {
  dir = tempDir('msd-auth-');
  src = randomFile(path.join(dir, 'src.bin'), 6 << 20);
  tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`);
  const [port] = await freePorts(1);
  server = await startObservedServer(['-f', src, '--port', String(port), '--token-file', tokenFile, '--piece-size', '256KiB']);
  proxy = await startRecordingProxy(port);
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  killAll();
  removeDir(dir);
});

describe('data-port authentication', () => {
  it('downloads with the right token, which never crosses the wire', async () => {
    const out = path.join(dir, 'ok.bin');
    const r = await runFetcher(['-p', String(proxy.port), '--token-file', tokenFile, '-o', out], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(sha256File(out)).toBe(sha256File(src));
    expect(proxy.connections.length).toBeGreaterThan(0);
    for (const c of proxy.connections) {
      expect(c.up.includes(Buffer.from(TOKEN))).toBe(false);
      expect(c.down.includes(Buffer.from(TOKEN))).toBe(false);
    }
    expect(await authFailures()).toBe(0);
  }, 90_000);

  it('refuses a client hello replayed from another connection', async () => {
    const captured = proxy.connections[0];
    const hello = decodeClientHello(captured.up);
    expect(hello).toBeDefined();
    expect(hello!.hello.auth.length).toBe(32);
    const replay = captured.up.subarray(0, hello!.size);
    const capturedNonce = decodeServerHello(captured.down.subarray(0, SERVER_HELLO_SIZE)).nonce;
    const before = await authFailures();
    let nonce: Buffer = Buffer.alloc(0);
    const r = await tryHello((n) => { nonce = n; return replay; });
    expect(nonce.equals(capturedNonce)).toBe(false); // a fresh nonce per connection is what defeats the replay
    expect(r.statuses).toEqual([Status.AUTH_FAILED]);
    expect(r.message).toMatch(/authentication failed/);
    expect(r.closed).toBe(true);
    expect(await authFailures()).toBe(before + 1);
  });

  it('refuses a wrong token and a missing token, answering none of the pipelined requests', async () => {
    const before = await authFailures();
    const refusedBefore = await authRefusals();
    const wrong = await tryHello((nonce) => encodeClientHello({ version: PROTOCOL_VERSION, flags: 0, auth: authMac('not-the-token', nonce), traceparent: '' }));
    expect(wrong.statuses).toEqual([Status.AUTH_FAILED]);
    expect(wrong.message).toMatch(/wrong token/);
    expect(wrong.closed).toBe(true);
    const none = await tryHello(() => encodeClientHello({ version: PROTOCOL_VERSION, flags: 0, auth: Buffer.alloc(0), traceparent: '' }));
    expect(none.statuses).toEqual([Status.AUTH_FAILED]);
    expect(none.message).toMatch(/authentication required/);
    expect(none.closed).toBe(true);
    // a MAC over a nonce of our own choosing, not the server's
    const ownNonce = await tryHello(() => encodeClientHello({ version: PROTOCOL_VERSION, flags: 0, auth: authMac(TOKEN, Buffer.alloc(16)), traceparent: '' }));
    expect(ownNonce.statuses).toEqual([Status.AUTH_FAILED]);
    for (const r of [wrong, none, ownNonce]) expect(r.conn.receivedBytes).toBeLessThan(SERVER_HELLO_SIZE + 24 + 1024 + 1);
    expect(await authFailures()).toBe(before + 3);
    expect(await authRefusals()).toBe(refusedBefore + 3);
  });

  it('the fetcher with a wrong token exits non-zero saying so', async () => {
    const before = await authFailures();
    const out = path.join(dir, 'wrong.bin');
    const r = await runFetcher(['-p', String(server.ports[0]), '--token', 'wrong-token', '-o', out, '--connect-timeout', '3', '--give-up-after', '5'], { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(/authentication failed: wrong token/);
    expect(fs.existsSync(out)).toBe(false);
    expect(await authFailures()).toBeGreaterThan(before);
  }, 60_000);

  it('the fetcher without a token exits non-zero saying a token is needed', async () => {
    const out = path.join(dir, 'none.bin');
    const r = await runFetcher(['-p', String(server.ports[0]), '-o', out, '--connect-timeout', '3', '--give-up-after', '5'], { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(/requires a token.*--token/);
    expect(fs.existsSync(out)).toBe(false);
  }, 60_000);

  it('still serves the right token after all the refusals', async () => {
    const c = await RawConnection.open({ port: server.ports[0] });
    await c.handshake(TOKEN);
    c.request({ type: RequestType.INFO, id: 7, a: 0, b: 0, name: '' });
    const [f] = await c.frames(1);
    c.destroy();
    expect(f.header.status).toBe(Status.OK);
    expect(f.header.id).toBe(7);
    expect(server.child.exitCode).toBeNull();
    expect(await server.health()).toBe('SERVING');
  });

  it('the same token guards mutating gRPC calls; reads need none', async () => {
    const addr = `127.0.0.1:${server.grpcPort}`;
    const before = await server.metric('msd_server_auth_failures_total', { where: 'grpc' });
    const client = (token?: string): ControlClient<SM.SegmentServerControlMethods> => new ControlClient(addr, SEGMENT_SERVER_CONTROL, { timeoutMs: 3000, token });
    const anonymous = client();
    const wrong = client('wrong-token');
    const right = client(TOKEN);
    try {
      await expect(anonymous.call('GetStatus', {})).resolves.toBeDefined();
      await expect(anonymous.call('SetRateLimit', { bytes_per_second: 1 })).rejects.toThrow(/UNAUTHENTICATED|token/i);
      await expect(wrong.call('SetRateLimit', { bytes_per_second: 1 })).rejects.toThrow(/UNAUTHENTICATED|token/i);
      const { status } = await right.call('GetStatus', {});
      expect(status.listeners.map((l) => Number(l.rate_limit))).toEqual([0]); // the refused calls changed nothing
      await expect(right.call('SetRateLimit', { bytes_per_second: 0 })).resolves.toBeDefined();
    } finally {
      anonymous.close();
      wrong.close();
      right.close();
    }
    expect(await server.metric('msd_server_auth_failures_total', { where: 'grpc' })).toBe(before + 2);
  });
});
