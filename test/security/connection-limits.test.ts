/**
 * The server's connection and request limits, hit on purpose from several loopback source
 * addresses: an extra connection (per server, per client address) is greeted and then told why
 * with a fatal error frame whose status names the limit, and closed; a pipeline flood past --max-inflight gets BUSY and a closed connection, an oversized
 * request is refused; every hit is counted in msd_server_limit_hits_total{limit}, logged at most
 * once a minute per limit, and the server keeps serving everyone else.
 */
import * as path from 'node:path';
import { encodeRequest, REQUEST_HEADER_SIZE, RequestType, Status } from '@msd/common';
import { randomFile, removeDir, tempDir } from '../helpers/files';
import { openSockets } from '../helpers/process-sockets';
import { freePorts, killAll } from '../helpers/processes';
import { ObservedServer, startObservedServer } from '../helpers/observed-server';
import { RawConnection } from '../helpers/raw-protocol-client';

let dir: string;
let server: ObservedServer;
const open: RawConnection[] = [];

const MAX_CONNECTIONS = 6;
const PER_CLIENT = 3;
const MAX_INFLIGHT = 4;

const hits = (limit: string): Promise<number> => server.metric('msd_server_limit_hits_total', { limit });

/** Connects from `from`; resolves with the connection and whether the server greeted it. */
async function dial(from: string): Promise<{ conn: RawConnection; greeted: boolean }> {
  const conn = await RawConnection.open({ port: server.ports[0], localAddress: from });
  open.push(conn);
  const greeted = await conn.greeting(2000).then(() => true, () => false);
  return { conn, greeted };
}

/** The one frame a connection turned away at a limit gets: id 0, the limit's status, a message naming the setting. */
async function expectTurnedAway(conn: RawConnection, status: Status, setting: RegExp): Promise<void> {
  expect(await conn.closedWithin(2000)).toBe(true);
  const { greeting, frames, error } = conn.parsed();
  expect(error).toBeUndefined();
  expect(greeting).toBeDefined();
  expect(frames.map((f) => [f.header.type, f.header.id, f.header.status])).toEqual([[RequestType.INFO, 0, status]]);
  expect(frames[0].body.toString('utf8')).toMatch(setting);
}

async function closeAll(): Promise<void> {
  const all = open.splice(0);
  for (const c of all) c.destroy();
  await Promise.all(all.map((c) => c.closed));
  // the server learns of the closes asynchronously
  await new Promise((r) => setTimeout(r, 200));
}

beforeAll(async () => {
  dir = tempDir('msd-limits-');
  const src = randomFile(path.join(dir, 'src.bin'), 2 << 20);
  const [port] = await freePorts(1);
  server = await startObservedServer(['-f', src, '--port', String(port), '--piece-size', '64KiB',
    '--max-connections', String(MAX_CONNECTIONS), '--max-connections-per-client', String(PER_CLIENT), '--max-inflight', String(MAX_INFLIGHT)]);
}, 60_000);

afterEach(closeAll);

afterAll(async () => {
  await server?.stop();
  killAll();
  removeDir(dir);
});

describe('connection limits', () => {
  it('--max-connections-per-client turns away the extra connection of one address with CLIENT_CONNECTION_LIMIT, not another address', async () => {
    const before = await hits('max_connections_per_client');
    for (let i = 0; i < PER_CLIENT; i++) expect((await dial('127.0.0.2')).greeted).toBe(true);
    const extra = await dial('127.0.0.2');
    await expectTurnedAway(extra.conn, Status.CLIENT_CONNECTION_LIMIT, /3 connections open from 127\.0\.0\.2.*--max-connections-per-client/);
    expect((await dial('127.0.0.3')).greeted).toBe(true);
    expect(await hits('max_connections_per_client')).toBe(before + 1);
  });

  it('--max-connections turns away connections past the total, from any address, with CONNECTION_LIMIT', async () => {
    const before = await hits('max_connections');
    for (let i = 0; i < MAX_CONNECTIONS; i++) expect((await dial(`127.0.1.${i + 1}`)).greeted).toBe(true);
    const extra = await dial('127.0.2.1');
    await expectTurnedAway(extra.conn, Status.CONNECTION_LIMIT, /6 connections open, its limit \(--max-connections\)/);
    expect(await hits('max_connections')).toBe(before + 1);
  });

  it('gives the slots back when connections close (no leaked per-client counts)', async () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < PER_CLIENT; i++) expect((await dial('127.0.0.4')).greeted).toBe(true);
      await closeAll();
    }
    expect((await dial('127.0.0.4')).greeted).toBe(true);
  });

  it('survives a storm of 300 connections past the limit, logging the limit once', async () => {
    const before = await hits('max_connections');
    for (let i = 0; i < MAX_CONNECTIONS; i++) await dial(`127.0.3.${i + 1}`);
    const storm = await Promise.all(Array.from({ length: 300 }, (_, i) => RawConnection.open({ port: server.ports[0], localAddress: `127.0.4.${(i % 250) + 1}` })));
    const closedAll = await Promise.all(storm.map((c) => c.closedWithin(5000)));
    expect(closedAll.every(Boolean)).toBe(true);
    expect(storm.map((c) => c.parsed().frames.map((f) => f.header.status))).toEqual(storm.map(() => [Status.CONNECTION_LIMIT]));
    expect(await hits('max_connections')).toBe(before + 300);
    const logged = server.logs().filter((l) => l.msg === 'limit reached: max_connections');
    expect(logged.length).toBe(1); // once a minute per limit; the rest are counted, not logged
    await closeAll();
    const after = await dial('127.0.0.5');
    expect(after.greeted).toBe(true);
    expect(server.child.exitCode).toBeNull();
  });
});

describe('request limits', () => {
  it(`serves a pipeline of ${MAX_INFLIGHT} requests in order`, async () => {
    const { conn } = await dial('127.0.0.6');
    await conn.handshake();
    const reqs = Array.from({ length: MAX_INFLIGHT }, (_, i) => encodeRequest({ type: RequestType.GET, id: 100 + i, a: i * 65536, b: 65536, name: '' }));
    conn.send(Buffer.concat(reqs));
    const frames = await conn.frames(MAX_INFLIGHT);
    expect(frames.map((f) => [f.header.id, f.header.status, f.body.length])).toEqual(reqs.map((_, i) => [100 + i, Status.OK, 65536]));
  });

  it('answers a flood of 5000 pipelined requests in one write with BUSY and closes', async () => {
    const before = await hits('max_inflight');
    const { conn } = await dial('127.0.0.7');
    await conn.handshake();
    const one = encodeRequest({ type: RequestType.INFO, id: 1, a: 0, b: 0, name: '' });
    conn.send(Buffer.concat(Array.from({ length: 5000 }, () => one)));
    expect(await conn.closedWithin(5000)).toBe(true);
    const frames = conn.parsed().frames;
    expect(frames.length).toBeLessThanOrEqual(2 * MAX_INFLIGHT + 1);
    expect(frames[frames.length - 1].header.status).toBe(Status.BUSY);
    expect(await hits('max_inflight')).toBe(before + 1);
  });

  it('refuses a request whose name length is over the limit, counting it', async () => {
    const before = await hits('max_request_bytes');
    const { conn } = await dial('127.0.0.8');
    await conn.handshake();
    const head = encodeRequest({ type: RequestType.GET, id: 9, a: 0, b: 1, name: '' });
    head.writeUInt16BE(0xffff, 2);
    conn.send(Buffer.concat([head, Buffer.alloc(4096, 0x41)]));
    expect(await conn.closedWithin(5000)).toBe(true);
    const frames = conn.parsed().frames;
    expect(frames.map((f) => f.header.status)).toEqual([Status.BAD_REQUEST]);
    expect(conn.receivedBytes).toBeLessThan(REQUEST_HEADER_SIZE + 32 + 1100);
    expect(await hits('max_request_bytes')).toBe(before + 1);
  });
});

describe('refused connections give their descriptors back', () => {
  it('closes 100 malformed-frame connections whose peers never close their side', async () => {
    const sockets = (): number => openSockets(server.pid);
    const baseline = sockets();
    // in batches below --max-connections: each refusal frees its slot at once, so only the
    // server destroying the sockets keeps the descriptors bounded
    const peers: RawConnection[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const some = await Promise.all(Array.from({ length: MAX_CONNECTIONS - 1 }, (_, i) => RawConnection.open({ port: server.ports[0], localAddress: `127.0.5.${batch * 10 + i + 1}`, allowHalfOpen: true })));
      for (const p of some) p.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
      await Promise.all(some.map((p) => p.frames(1)));
      peers.push(...some);
    }
    // the server ends its side with an error frame, then must destroy the socket itself
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && sockets() > baseline) await new Promise((r) => setTimeout(r, 100));
    expect(sockets()).toBeLessThanOrEqual(baseline);
    for (const p of peers) expect(p.parsed().frames.map((f) => f.header.status)).toEqual([Status.BAD_REQUEST]);
    for (const p of peers) p.destroy();
  });
});
