/**
 * A segment-server process with its side ports on: metrics (`--metrics-port 0`) and gRPC health
 * (`--grpc-port 0`), both read back from the 'metrics listening' / 'grpc listening' log lines.
 * Reads counters from its /metrics and its health through grpc.health.v1, as an operator would.
 */
import { type ClientTlsMaterial, ControlClient, SEGMENT_SERVER_CONTROL } from '@msd/common';
import { parseExposition, Sample, sampleValue } from '../observability/support/exposition';
import { ServerSet, startServers } from './processes';

export interface ObservedServer extends ServerSet {
  metricsPort: number;
  grpcPort: number;
  /** All samples of the server's /metrics now. */
  scrape(): Promise<Sample[]>;
  /** One sample's value (0 when the series does not exist yet). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** grpc.health.v1 Check of the whole process ('' service): 'SERVING', 'NOT_SERVING', ... */
  health(): Promise<string>;
}

export interface ObservedServerOptions {
  listeners?: number;
  env?: NodeJS.ProcessEnv;
  /** How health() reaches a gRPC port served over TLS (`--grpc-tls`): trust anchors and, for mutual TLS, a client certificate. */
  grpcTls?: ClientTlsMaterial;
}

/** Starts `segment-server ARGS --metrics-port 0 --grpc-port 0`; `listeners` as in startServers. */
export async function startObservedServer(args: string[], opts: ObservedServerOptions = {}): Promise<ObservedServer> {
  const p = await startServers([...args, '--metrics-port', '0', '--grpc-port', '0'], opts);
  const metricsPort = Number((await p.waitForLog((l) => l.msg === 'metrics listening')).port);
  const grpcPort = Number((await p.waitForLog((l) => l.msg === 'grpc listening')).port);
  const scrape = async (): Promise<Sample[]> => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
    return parseExposition(await res.text());
  };
  return Object.assign(p, {
    metricsPort,
    grpcPort,
    scrape,
    metric: async (name: string, labels: Record<string, string> = {}) => sampleValue(await scrape(), name, labels) ?? 0,
    health: async () => {
      const client = new ControlClient(`127.0.0.1:${grpcPort}`, SEGMENT_SERVER_CONTROL, { timeoutMs: 3000, tls: opts.grpcTls });
      try {
        return String(await client.check(''));
      } finally {
        client.close();
      }
    },
  });
}
