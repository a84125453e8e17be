/**
 * The real segment-server process: health on its gRPC port follows indexing and
 * drain; drain closes the data port to new connections; --exit-when-idle ends
 * the process. (Downloads through a draining or rate-limited server: see
 * control-with-downloads.test.ts.)
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCtl } from '../../services/segment-server/src/ctl';
import { watchHealth } from './support/health-watch';
import { firstHealth, startSegmentServer, until, type ProgramProcess, type ServerClient } from './support/program-processes';

const TOKEN = 'program-token';
const quietIo = { out: () => {}, err: () => {} };

function connectOutcome(port: number): Promise<'open' | 'refused' | 'closed'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      // a draining listener may accept at the TCP level and close at once
      socket.once('close', () => resolve('closed'));
      setTimeout(() => {
        socket.destroy();
        resolve('open');
      }, 300);
    });
    socket.once('error', () => resolve('refused'));
  });
}

describe('segment-server process: health and drain over gRPC', () => {
  let dir: string;
  let server: ProgramProcess<ServerClient> | undefined;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'msd-grpc-prog-'));
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('NOT_SERVING while indexing, SERVING when indexed, NOT_SERVING after Drain; new data connections refused', async () => {
    const file = path.join(dir, 'big.bin');
    writeFileSync(file, '');
    truncateSync(file, 2 ** 29); // sparse: hashing 512 MiB takes seconds here, long enough to watch
    server = await startSegmentServer(['-f', file, '--port', '0', '--token', TOKEN], TOKEN);
    expect(await firstHealth(server)).toBe('NOT_SERVING');
    const { status: indexing } = await server.client.call('GetStatus', {});
    expect(indexing.indexed).toBe(false);
    const watch = watchHealth(server.grpcAddress, '');

    // the Watch may start just after indexing ends on a fast machine: then it only sees SERVING
    await until('Watch to report SERVING', () => watch.statuses.includes('SERVING'), 60000);
    const beforeDrain = watch.statuses.slice();
    expect([['NOT_SERVING', 'SERVING'], ['SERVING']]).toContainEqual(beforeDrain);
    const { status } = await server.client.call('GetStatus', {});
    expect(status).toMatchObject({ file: 'big.bin', size: 2 ** 29, indexed: true, draining: false, num_servers: 1 });
    expect(status.content_id).toMatch(/^[0-9a-f]{16,}$/);
    const dataPort = status.listeners[0]?.port ?? 0;
    expect(dataPort).toBeGreaterThan(0);
    expect(await connectOutcome(dataPort)).toBe('open');

    expect(await runCtl(['drain', '--addr', server.grpcAddress, '--token', 'wrong'], quietIo)).toBe(1);
    expect(await server.client.check('')).toBe('SERVING');
    expect(await runCtl(['drain', '--addr', server.grpcAddress, '--token', TOKEN], quietIo)).toBe(0);
    expect(await watch.waitFor(beforeDrain.length + 1)).toEqual([...beforeDrain, 'NOT_SERVING']);
    const { status: drained } = await server.client.call('GetStatus', {});
    expect(drained.draining).toBe(true);
    expect(await connectOutcome(dataPort)).not.toBe('open');
    watch.cancel();
  });

  it('Drain with exit_when_idle ends an idle server with exit code 0', async () => {
    const file = path.join(dir, 'small.bin');
    writeFileSync(file, Buffer.alloc(3 << 20, 7));
    server = await startSegmentServer(['-f', file, '--port', '0']);
    await firstHealth(server);
    await until('SERVING', async () => (await server?.client.check('')) === 'SERVING');
    await expect(server.client.call('Drain', { exit_when_idle: true })).resolves.toEqual({ active_transfers: 0 });
    const code = await Promise.race([server.child.exited.then((e) => e.code), new Promise((r) => setTimeout(() => r('still running'), 10000))]);
    expect(code).toBe(0);
  });
});
