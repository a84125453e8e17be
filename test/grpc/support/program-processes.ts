/**
 * The real programs as child processes, with their gRPC control port on a free
 * loopback port and a typed client to it. Stopped by PID.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import * as path from 'node:path';
import {
  ControlCallError,
  ControlClient,
  FETCHER_CONTROL,
  SEGMENT_SERVER_CONTROL,
  type FetcherControlMessages as FM,
  type HealthServingStatus,
  type SegmentServerControlMessages as SM,
} from '@msd/common';
import { FETCHER_BIN, freePort, SERVER_BIN, spawnProcess, type Exit, type Proc } from '../../helpers/processes';

export { FETCHER_BIN, SERVER_BIN };
export const REPO = path.join(__dirname, '../../..');

export type ServerClient = ControlClient<SM.SegmentServerControlMethods>;
export type FetcherClient = ControlClient<FM.FetcherControlMethods, FM.FetcherControlStreams>;

export interface ProgramProcess<C> {
  readonly child: Proc;
  readonly grpcAddress: string;
  readonly client: C;
  stop(): Promise<Exit>;
}

async function startProgram<C extends { close(): void; check(s: string): Promise<HealthServingStatus> }>(
  bin: string,
  args: readonly string[],
  connect: (address: string) => C,
): Promise<ProgramProcess<C>> {
  const grpcPort = await freePort();
  const child = spawnProcess(process.execPath, [bin, ...args, '--grpc-port', String(grpcPort), '--metrics-bind', '127.0.0.1', '--log-format', 'json']);
  const grpcAddress = `127.0.0.1:${grpcPort}`;
  const client = connect(grpcAddress);
  return {
    child,
    grpcAddress,
    client,
    async stop() {
      client.close();
      return child.stop();
    },
  };
}

export function startSegmentServer(args: readonly string[], token?: string): Promise<ProgramProcess<ServerClient>> {
  return startProgram(SERVER_BIN, args, (address) => new ControlClient(address, SEGMENT_SERVER_CONTROL, { token, timeoutMs: 5000 }));
}

export function startFetcher(args: readonly string[], token?: string): Promise<ProgramProcess<FetcherClient>> {
  return startProgram(FETCHER_BIN, args, (address) => new ControlClient(address, FETCHER_CONTROL, { token, timeoutMs: 5000 }));
}

/** First health answer once the gRPC port is up (retries while UNAVAILABLE). */
export async function firstHealth(p: ProgramProcess<{ check(s: string): Promise<HealthServingStatus> }>, timeoutMs = 15000): Promise<HealthServingStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await p.client.check('');
    } catch (err) {
      const retry = err instanceof ControlCallError && err.code === GrpcStatus.UNAVAILABLE && Date.now() < deadline;
      if (!retry) throw new Error(`no health answer from ${p.grpcAddress}: ${String(err)}\n${p.child.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Polls `probe` until it returns true. */
export async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 15000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
