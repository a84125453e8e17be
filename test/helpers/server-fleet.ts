/**
 * Segment servers as separate processes (one listener each, `--port`/`--server-id`, the
 * Kubernetes form), each with its own rate limit, and the bytes each listener sent, read from the
 * `server stopped` line it logs when stopped with SIGTERM.
 */
import { freePorts, Proc, ServerSet, startServers } from './processes';

export interface FleetServerOptions {
  serverId: number;
  numServers: number;
  /** Port to listen on; a free one when omitted. */
  port?: number;
  /** Bytes per second (0 = unlimited). */
  rateLimit?: number;
  extra?: string[];
}

/** Starts one single-listener segment-server process; resolves once it listens. */
export async function startFleetServer(file: string, o: FleetServerOptions): Promise<ServerSet> {
  const port = o.port ?? (await freePorts(1))[0];
  return startServers([
    '-f', file, '--port', String(port), '--server-id', String(o.serverId), '-n', String(o.numServers),
    '--rate-limit', String(Math.round(o.rateLimit ?? 0)), '--shutdown-timeout', '2', ...(o.extra ?? []),
  ]);
}

/** One process per rate: server i gets rates[i] bytes/s (0 = unlimited). */
export async function startFleet(file: string, rates: number[], extra: string[] = []): Promise<ServerSet[]> {
  return Promise.all(rates.map((rateLimit, serverId) => startFleetServer(file, { serverId, numServers: rates.length, rateLimit, extra })));
}

/** Stops a server process with SIGTERM and returns what each of its listeners sent, by listener order. */
export async function stopForBytesSent(server: Proc): Promise<number[]> {
  const r = await server.stop('SIGTERM');
  if (r.code !== 0) throw new Error(`segment-server exited with ${r.code ?? r.signal} on SIGTERM; stderr:\n${server.stderr().slice(-2000)}`);
  const lines = server.logs().filter((l) => l.msg === 'server stopped');
  if (lines.length === 0) throw new Error(`segment-server logged no "server stopped" line; stderr:\n${server.stderr().slice(-2000)}`);
  return lines.map((l) => Number(l.bytesSent));
}
