/**
 * SIGTERM on a serving segment-server: it stops accepting at once and reports NOT_SERVING, lets
 * the transfer in progress finish (answering later pipelined ranges with BUSY so the client takes
 * them elsewhere), closes idle connections, and exits 0. With a deadline shorter than the running
 * transfer, it cuts the transfer at the deadline, still exits 0, and the fetcher finishes the
 * file from the other server.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeRequest, RequestType, RESPONSE_HEADER_SIZE, Status } from '@msd/common';
import { completion, exitOf, startFetcher, waitForBytesDone } from '../helpers/fetcher-run';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { freePorts, killAll, startServers } from '../helpers/processes';
import { startObservedServer } from '../helpers/observed-server';
import { RawConnection } from '../helpers/raw-protocol-client';

const SIZE = 16 << 20;
let dir: string;
let src: string;

beforeAll(() => {
  dir = tempDir('msd-sigterm-');
  src = randomFile(path.join(dir, 'src.bin'), SIZE);
});

afterAll(() => {
  killAll();
  removeDir(dir);
});

it('finishes the running transfer, refuses new work, and exits 0', async () => {
  const [port] = await freePorts(1);
  const server = await startObservedServer(['-f', src, '--port', String(port), '--rate-limit', '2MiB', '--shutdown-timeout', '20']);
  const idle = await RawConnection.open({ port });
  await idle.handshake();
  const busy = await RawConnection.open({ port, keepBytes: 8 << 20 });
  await busy.handshake();
  const length = 4 << 20; // two seconds at the rate limit
  busy.request({ type: RequestType.GET, id: 1, a: 1000, b: length, name: '' });
  await busy.waitUntil(() => busy.receivedBytes > 512 << 10, 'the transfer to be under way');

  const signalled = Date.now();
  server.child.kill('SIGTERM');
  await server.waitForLog((l) => l.msg.startsWith('shutting down'));
  busy.send(encodeRequest({ type: RequestType.GET, id: 2, a: 0, b: 1024, name: '' })); // pipelined behind the running one
  // new connections are refused while the transfer drains; health says NOT_SERVING
  await new Promise((r) => setTimeout(r, 200));
  await expect(RawConnection.open({ port, connectTimeoutMs: 2000 })).rejects.toThrow(/ECONNREFUSED/);
  expect(await server.health()).toBe('NOT_SERVING');
  // the idle connection is let go at once, not held until the deadline
  expect(await idle.closedWithin(2000)).toBe(true);

  const exit = await server.exited;
  const exitedAfter = Date.now() - signalled;
  expect(exit).toEqual({ code: 0, signal: null });
  expect(await busy.closedWithin(1000)).toBe(true);
  const frames = busy.parsed().frames;
  expect(frames.map((f) => [f.header.id, f.header.status])).toEqual([[1, Status.OK], [2, Status.BUSY]]);
  expect(frames[0].body.length).toBe(length);
  const want = Buffer.alloc(length);
  const fd = fs.openSync(src, 'r');
  fs.readSync(fd, want, 0, length, 1000);
  fs.closeSync(fd);
  expect(frames[0].body.equals(want)).toBe(true);
  expect(busy.receivedBytes).toBeGreaterThanOrEqual(32 + RESPONSE_HEADER_SIZE + length);
  expect(exitedAfter).toBeLessThan(15_000);
  expect(server.logs().some((l) => l.msg === 'server stopped')).toBe(true);
}, 60_000);

it('cuts transfers at --shutdown-timeout and exits 0; the fetcher finishes from the other server', async () => {
  const ports = await freePorts(2);
  const servers = await Promise.all(ports.map((port, id) => startServers(['-f', src, '--port', String(port), '--server-id', String(id), '-n', '2',
    '--rate-limit', '2MiB', '--shutdown-timeout', '1', '--piece-size', '1MiB'])));
  const out = path.join(dir, 'out.bin');
  const fetcher = startFetcher(['--servers', ports.map((p) => `127.0.0.1:${p}`).join(','), '-o', out, '--stall-timeout', '5']);
  await waitForBytesDone(fetcher, 2 << 20, 30_000);
  const signalled = Date.now();
  servers[0].child.kill('SIGTERM');
  const exit0 = await servers[0].exited;
  const stoppedAfter = Date.now() - signalled;
  const r = await exitOf(fetcher, 60_000);
  expect(exit0).toEqual({ code: 0, signal: null });
  expect(stoppedAfter).toBeLessThan(5000);
  expect(r.code).toBe(0);
  expect(sha256File(out)).toBe(sha256File(src));
  expect(completion(fetcher.logs()).size).toBe(SIZE);
  expect(servers[1].child.exitCode).toBeNull();
  expect((await servers[1].stop('SIGTERM')).code).toBe(0);
}, 90_000);
