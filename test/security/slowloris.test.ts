/**
 * Slowloris: 300 connections from six loopback addresses that send nothing, trickle the
 * handshake one byte a second, trickle a request one byte a second after a good handshake, or ask
 * for the whole file and never read. The handshake and idle timeouts must close every one of them
 * while a real, rate-limited download from the same server proceeds and completes exact; health
 * stays SERVING throughout, and the timeouts show in msd_server_limit_hits_total.
 */
import * as path from 'node:path';
import { encodeClientHello, encodeRequest, PROTOCOL_VERSION, RequestType } from '@msd/common';
import { exitOf, startFetcher, waitForBytesDone } from '../helpers/fetcher-run';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { sampleMemory } from '../helpers/memory';
import { openSockets } from '../helpers/process-sockets';
import { freePorts, killAll } from '../helpers/processes';
import { ObservedServer, startObservedServer } from '../helpers/observed-server';
import { RawConnection } from '../helpers/raw-protocol-client';

const SIZE = 24 << 20;
const RATE = 4 << 20; // the download takes ~6 s: longer than every timeout below
const HANDSHAKE_TIMEOUT_S = 2;
const IDLE_TIMEOUT_S = 3;
const SOURCES = ['127.0.10.1', '127.0.10.2', '127.0.10.3', '127.0.10.4', '127.0.10.5', '127.0.10.6'];

type Kind = 'silent' | 'hello-trickle' | 'request-trickle';
const PLAN: Array<[Kind, number]> = [['silent', 120], ['hello-trickle', 90], ['request-trickle', 90]];

interface Slow { kind: Kind; conn: RawConnection; timer?: NodeJS.Timeout }

let dir: string;
let src: string;
let server: ObservedServer;

function countKinds(list: Slow[]): Partial<Record<Kind, number>> {
  const out: Partial<Record<Kind, number>> = {};
  for (const s of list) out[s.kind] = (out[s.kind] ?? 0) + 1;
  return out;
}

/** Sends `bytes` one byte a second until done or the connection closes. */
function trickle(s: Slow, bytes: Buffer): void {
  let at = 0;
  s.timer = setInterval(() => {
    if (s.conn.isClosed || at >= bytes.length) { clearInterval(s.timer); return; }
    s.conn.send(bytes.subarray(at, ++at));
  }, 1000);
}

async function startSlow(kind: Kind, i: number): Promise<Slow> {
  const conn = await RawConnection.open({ port: server.ports[0], localAddress: SOURCES[i % SOURCES.length] });
  const s: Slow = { kind, conn };
  const hello = encodeClientHello({ version: PROTOCOL_VERSION, flags: 0, auth: Buffer.alloc(0), traceparent: '' });
  switch (kind) {
    case 'silent':
      break;
    case 'hello-trickle':
      trickle(s, hello);
      break;
    case 'request-trickle':
      conn.send(hello);
      trickle(s, encodeRequest({ type: RequestType.INFO, id: 1, a: 0, b: 0, name: 'x'.repeat(200) }));
      break;
  }
  return s;
}

beforeAll(async () => {
  dir = tempDir('msd-slowloris-');
  src = randomFile(path.join(dir, 'src.bin'), SIZE);
  const [port] = await freePorts(1);
  server = await startObservedServer(['-f', src, '--port', String(port), '--piece-size', '1MiB', '--rate-limit', String(RATE),
    '--handshake-timeout', String(HANDSHAKE_TIMEOUT_S), '--idle-timeout', String(IDLE_TIMEOUT_S),
    '--max-connections', '400', '--max-connections-per-client', '60']);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  killAll();
  removeDir(dir);
});

it('closes 300 slow connections by the timeouts while a real download completes and health stays SERVING', async () => {
  const mem = sampleMemory(server.pid, 100);
  const out = path.join(dir, 'out.bin');
  const fetcher = startFetcher(['-p', String(server.ports[0]), '-o', out, '--stall-timeout', '20']);
  await waitForBytesDone(fetcher, 1, 30_000);

  const attackStarted = Date.now();
  const kinds = PLAN.flatMap(([kind, n]) => Array.from({ length: n }, () => kind));
  const slow = await Promise.all(kinds.map((k, i) => startSlow(k, i)));
  expect(slow.length).toBe(300);

  const healthSeen: string[] = [];
  let watching = true;
  const healthLoop = (async () => {
    while (watching && slow.some((s) => !s.conn.isClosed)) {
      healthSeen.push(await server.health().catch((e: Error) => `error: ${e.message}`));
      await new Promise((r) => setTimeout(r, 500));
    }
  })();

  const deadline = (HANDSHAKE_TIMEOUT_S + IDLE_TIMEOUT_S + 6) * 1000;
  const closed = await Promise.all(slow.map((s) => s.conn.closedWithin(deadline)));
  watching = false;
  await healthLoop;
  for (const s of slow) clearInterval(s.timer);
  const stillOpen = slow.filter((s, i) => !closed[i]);
  for (const s of slow) s.conn.destroy();

  const fetched = await exitOf(fetcher, 60_000);
  const downloadEnded = Date.now();
  const memory = mem.stop();

  expect(countKinds(stillOpen)).toEqual({});
  // the pre-handshake kinds are closed by the handshake timeout, not earlier and not much later
  for (const s of slow.filter((x) => x.kind === 'silent' || x.kind === 'hello-trickle')) {
    const c = await s.conn.closed;
    expect(c.afterMs).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_S * 1000 - 200);
    expect(c.afterMs).toBeLessThan(HANDSHAKE_TIMEOUT_S * 1000 + 3000);
  }
  expect(healthSeen.length).toBeGreaterThan(3);
  expect(healthSeen.filter((h) => h !== 'SERVING')).toEqual([]);
  expect(fetched.code).toBe(0);
  expect(sha256File(out)).toBe(sha256File(src));
  expect(downloadEnded).toBeGreaterThan(attackStarted + HANDSHAKE_TIMEOUT_S * 1000); // the download ran through the attack
  // a request trickled after a good handshake is cut off one idle timeout after its first byte
  for (const s of slow.filter((x) => x.kind === 'request-trickle')) {
    const c = await s.conn.closed;
    expect(c.afterMs).toBeLessThan(1000 + IDLE_TIMEOUT_S * 1000 + 3000);
  }
  expect(await server.metric('msd_server_limit_hits_total', { limit: 'handshake_timeout' })).toBeGreaterThanOrEqual(120 + 90);
  expect(await server.metric('msd_server_limit_hits_total', { limit: 'request_timeout' })).toBeGreaterThanOrEqual(90);
  expect(await server.metric('msd_server_active_connections')).toBe(0);
  expect(memory.maxRssKiB).toBeLessThan(200 * 1024);
  expect(server.child.exitCode).toBeNull();
}, 90_000);

it('closes clients that ask for the whole file and never read, holding no more than two chunks each', async () => {
  const [port] = await freePorts(1);
  const fast = await startObservedServer(['-f', src, '--port', String(port), '--piece-size', '1MiB', '--idle-timeout', '2', '--max-connections-per-client', '60']);
  let readers: RawConnection[] = [];
  const mem = sampleMemory(fast.pid, 50);
  try {
    const hello = encodeClientHello({ version: PROTOCOL_VERSION, flags: 0, auth: Buffer.alloc(0), traceparent: '' });
    readers = await Promise.all(Array.from({ length: 20 }, () => RawConnection.open({ port, keepBytes: 0 })));
    for (const c of readers) {
      c.socket.pause(); // never reads: the kernel buffers fill and the server's writes stop completing
      c.send(Buffer.concat([hello, encodeRequest({ type: RequestType.GET, id: 1, a: 0, b: SIZE, name: '' })]));
    }
    // The client cannot see the close (the FIN queues behind the bytes it does not read): watch
    // from the server's side, as its metrics and its descriptor table show it
    const started = Date.now();
    while (Date.now() - started < 20_000 && (await fast.metric('msd_server_active_connections')) > 0) await new Promise((r) => setTimeout(r, 250));
    const memory = mem.stop();
    expect(await fast.metric('msd_server_active_connections')).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await fast.metric('msd_server_limit_hits_total', { limit: 'idle_timeout' })).toBe(20);
    expect(openSockets(fast.pid)).toBeLessThan(10); // listeners and side ports only
    // each session reads into two 512 KiB buffers whatever the range: 20 stalled clients cost ~20 MiB, not 20 files
    expect(memory.maxRssKiB).toBeLessThan(200 * 1024);
    expect(await fast.health()).toBe('SERVING');
  } finally {
    mem.stop();
    for (const c of readers) c.destroy();
    await fast.stop();
  }
}, 60_000);
