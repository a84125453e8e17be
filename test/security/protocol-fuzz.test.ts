/**
 * Protocol fuzzer: thousands of connections carrying well over 10,000 malformed, truncated,
 * oversized and random frames (see support/fuzz-cases.ts) hit a two-listener segment server while
 * a real fetcher downloads from both listeners. The server must never crash, must answer only
 * with well-formed frames, must keep its memory bounded (VmRSS sampled from /proc) and its
 * sockets released, and the download must complete exact.
 *
 * Seeded and reproducible: the seed is printed with the summary and in every failure; replay one
 * with MSD_FUZZ_SEED=<seed>.
 */
import * as path from 'node:path';
import { RequestType, Status } from '@msd/common';
import { exitOf, startFetcher, waitForBytesDone } from '../helpers/fetcher-run';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { sampleMemory } from '../helpers/memory';
import { openSockets } from '../helpers/process-sockets';
import { freePorts, killAll } from '../helpers/processes';
import { ObservedServer, startObservedServer } from '../helpers/observed-server';
import { RawConnection } from '../helpers/raw-protocol-client';
import { SeededRandom } from '../helpers/seeded-random';
import { FuzzCase, fuzzCase, FuzzKind } from './support/fuzz-cases';

const SEED = SeededRandom.seedFrom('MSD_FUZZ_SEED');
const SIZE = 36 << 20;
const PIECE = 256 << 10;
const RATE = 3 << 20; // per listener: the download lasts several seconds, the whole fuzz run
const MIN_FRAMES = 10_000;
const MIN_CASES = 1500;
const CONCURRENCY = 32;
const RSS_LIMIT_KIB = 200 * 1024;

interface Outcome {
  c: FuzzCase;
  connectError?: string;
  streamError?: string;
  statuses: Status[];
}

let dir: string;
let src: string;
let server: ObservedServer;

function fail(what: string): never {
  throw new Error(`${what}\n(fuzz seed ${SEED}; replay with MSD_FUZZ_SEED=${SEED})`);
}

async function runCase(c: FuzzCase, port: number, from: string): Promise<Outcome> {
  let conn: RawConnection;
  try {
    conn = await RawConnection.open({ port, localAddress: from, keepBytes: 1 << 20 });
  } catch (err) {
    return { c, connectError: (err as Error).message, statuses: [] };
  }
  if (c.kind === 'split-writes') conn.socket.setNoDelay(true);
  for (const w of c.writes) {
    conn.send(w);
    if (c.writes.length > 1) await new Promise((r) => setImmediate(r));
  }
  if (c.then === 'reset') conn.socket.resetAndDestroy();
  else if (c.then === 'end') conn.socket.end();
  await conn.closedWithin(200);
  conn.destroy();
  await conn.closed;
  const p = conn.parsed();
  return { c, streamError: p.error, statuses: p.frames.map((f) => f.header.status) };
}

beforeAll(async () => {
  dir = tempDir('msd-fuzz-');
  src = randomFile(path.join(dir, 'src.bin'), SIZE);
  const ports = await freePorts(2);
  server = await startObservedServer(['-n', '2', '-f', src, '-p', ...ports.map(String), '--piece-size', String(PIECE), '--rate-limit', String(RATE),
    '--max-connections', '1000', '--max-connections-per-client', '200'], { listeners: 2 });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  killAll();
  removeDir(dir);
});

it(`survives >= ${MIN_FRAMES} malformed frames during a real download (seeded)`, async () => {
  const ports = server.ports;
  const mem = sampleMemory(server.pid, 100);
  const baselineSockets = openSockets(server.pid);
  const out = path.join(dir, 'out.bin');
  const fetcher = startFetcher(['-p', ...ports.map(String), '-o', out, '--stall-timeout', '30']);
  await waitForBytesDone(fetcher, 1, 30_000);
  let fetcherDone = false;
  let casesDuringDownload = 0;
  const fetched = exitOf(fetcher, 120_000).then((r) => { fetcherDone = true; return r; });

  const target = { fileSize: SIZE, pieces: Math.ceil(SIZE / PIECE) };
  const outcomes: Outcome[] = [];
  let next = 0;
  let frames = 0;
  let wellFormed = 0;
  const deadline = Date.now() + 90_000;
  const worker = async (w: number): Promise<void> => {
    while ((frames < MIN_FRAMES || next < MIN_CASES || !fetcherDone) && Date.now() < deadline) {
      const c = fuzzCase(SEED, next++, target);
      frames += c.frames;
      wellFormed += c.wellFormed;
      const o = await runCase(c, ports[c.index % ports.length], `127.0.20.${(w % 200) + 1}`);
      if (!fetcherDone) casesDuringDownload++;
      outcomes.push(o);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  const download = await fetched;

  // every listener still answers, health is SERVING, and the fuzz connections are all gone
  for (const port of ports) {
    const c = await RawConnection.open({ port });
    await c.handshake();
    c.request({ type: RequestType.INFO, id: 1, a: 0, b: 1, name: '' });
    const [f] = await c.frames(1);
    c.destroy();
    if (f.header.status !== Status.OK) fail(`listener ${port} answered INFO with ${Status[f.header.status]} after the fuzz`);
  }
  const health = await server.health();
  const settle = Date.now() + 5000;
  while (Date.now() < settle && (await server.metric('msd_server_active_connections', { server_id: '0' })) + (await server.metric('msd_server_active_connections', { server_id: '1' })) > 0) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const active = (await server.metric('msd_server_active_connections', { server_id: '0' })) + (await server.metric('msd_server_active_connections', { server_id: '1' }));
  const sockets = openSockets(server.pid);
  const memory = mem.stop();

  const byKind: Partial<Record<FuzzKind, number>> = {};
  const byStatus: Record<string, number> = {};
  for (const o of outcomes) {
    byKind[o.c.kind] = (byKind[o.c.kind] ?? 0) + 1;
    for (const s of o.statuses) byStatus[Status[s] ?? String(s)] = (byStatus[Status[s] ?? String(s)] ?? 0) + 1;
  }
  const summary = { seed: SEED, cases: outcomes.length, malformedFrames: frames, wellFormedFrames: wellFormed, casesDuringDownload, maxRssMiB: Math.round(memory.maxRssKiB / 1024), byKind, byStatus };
  console.log(`protocol fuzz: ${JSON.stringify(summary)}`);

  if (server.child.exitCode !== null) fail(`the server exited (${server.child.exitCode}); stderr:\n${server.stderr().slice(-3000)}`);
  if (frames < MIN_FRAMES || outcomes.length < MIN_CASES) fail(`only ${frames} malformed frames in ${outcomes.length} connections before the deadline`);
  const connectErrors = outcomes.filter((o) => o.connectError);
  if (connectErrors.length) fail(`${connectErrors.length} connections could not connect, e.g. case ${connectErrors[0].c.index} (${connectErrors[0].c.kind}): ${connectErrors[0].connectError}`);
  const broken = outcomes.filter((o) => o.streamError);
  if (broken.length) fail(`${broken.length} response streams were not well-formed frames, e.g. case ${broken[0].c.index} (${broken[0].c.kind}): ${broken[0].streamError}`);
  if (byStatus.INTERNAL) fail(`${byStatus.INTERNAL} INTERNAL answers: input reached an unexpected failure`);
  const internalLogs = server.logs().filter((l) => l.level === 'error');
  if (internalLogs.length) fail(`the server logged errors: ${internalLogs.slice(0, 3).map((l) => JSON.stringify(l)).join('\n')}`);
  // the fuzzer reached the deep paths, not just the greeting check
  for (const s of ['OK', 'BAD_REQUEST', 'OUT_OF_RANGE', 'BUSY', 'NOT_FOUND', 'UNSUPPORTED_VERSION']) {
    if (!byStatus[s]) fail(`no ${s} answer in the whole run: the fuzzer did not reach that path (${JSON.stringify(byStatus)})`);
  }
  if (casesDuringDownload < 100) fail(`only ${casesDuringDownload} fuzz connections ran while the download did`);
  if (memory.maxRssKiB >= RSS_LIMIT_KIB) fail(`server RSS reached ${Math.round(memory.maxRssKiB / 1024)} MiB (limit ${RSS_LIMIT_KIB / 1024} MiB)`);
  if (health !== 'SERVING') fail(`health is ${health} after the fuzz`);
  if (active !== 0) fail(`${active} connections still open on the server 5 s after the fuzz ended`);
  if (sockets > baselineSockets + 2) fail(`the server holds ${sockets} sockets after the fuzz (baseline ${baselineSockets})`);
  if (download.code !== 0) fail(`the fetcher exited ${download.code ?? download.signal}; stderr:\n${fetcher.stderr().slice(-3000)}`);
  expect(sha256File(out)).toBe(sha256File(src));
}, 150_000);
