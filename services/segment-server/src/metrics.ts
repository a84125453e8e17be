import { Histogram, type Registry } from 'prom-client';
import {
  BoundedLabel,
  CellCounter,
  CellTable,
  serverCells,
  packageVersion,
  registerBuildInfo,
  type BuildInfo,
  REQUEST_KINDS,
  type RequestKind,
} from '@msd/common';
import type { LimitName, ServerEvents } from './server-events';

/** Every segment-server metric name starts with this. */
export const SERVER_METRIC_PREFIX = 'msd_server_';

/**
 * Request outcomes the session emits: `ok`, the lower-cased status of a request-level refusal
 * (request-handler), or `internal` when serving failed mid-way (the connection is then closed).
 * Anything else a caller passes is kept but bounded (see `BoundedLabel`).
 */
export const REQUEST_OUTCOMES = ['ok', 'not_found', 'out_of_range', 'busy', 'needs_name', 'internal'] as const;
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number] | (string & {});
export type AuthFailurePlace = 'data' | 'grpc';
/** Why a data connection was refused; registered at zero. Other strings are kept but bounded. */
export const REFUSE_REASONS = ['draining', 'not_indexed', 'too_many_connections', 'auth', 'protocol', 'tls'] as const;
export type RefuseReason = (typeof REFUSE_REASONS)[number];
const AUTH_PLACES: readonly AuthFailurePlace[] = ['data', 'grpc'];

/** Request duration buckets in seconds: sub-millisecond INFO up to multi-minute rate-limited ranges. */
export const REQUEST_DURATION_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

const MAX_REASONS = 16;

/**
 * The segment-server's Prometheus metrics (`msd_server_*`) on a registry the process owns.
 * Every method is O(1); `bytesSent`, `request` and the connection methods allocate nothing after
 * the first call for a label tuple, so the data path may call them per socket write.
 * `segment` labels only original-style "segment i of n" requests (bounded by n); never pass a
 * piece index, offset or path as a label.
 */
export class ServerMetrics implements ServerEvents {
  private readonly sentBytes: CellTable<string>;
  private readonly requests: Record<RequestKind, CellTable<string>>;
  private readonly requestSeconds: Histogram<'server_id' | 'kind'>;
  private readonly requestLabels = new Map<number, Map<string, Record<'server_id' | 'kind', string>>>();
  private readonly activeConnections: CellTable<null>;
  private readonly connectionsTotal: CellTable<null>;
  private readonly refused: CellTable<string>;
  private readonly fileSize: CellTable<null>;
  private readonly filePieces: CellTable<null>;
  private readonly indexed: CellTable<null>;
  private readonly throttledSeconds: CellTable<null>;
  private readonly authFailures: CellTable<string>;
  private readonly limitHits: CellTable<string>;
  private readonly outcomeLabel = new BoundedLabel(MAX_REASONS, REQUEST_OUTCOMES);
  private readonly refuseLabel = new BoundedLabel(MAX_REASONS, REFUSE_REASONS);
  private readonly limitLabel = new BoundedLabel(MAX_REASONS);

  constructor(registry: Registry, build: BuildInfo = {}) {
    const p = SERVER_METRIC_PREFIX;
    registerBuildInfo(registry, p, { ...build, version: build.version ?? packageVersion(__dirname) });

    const cells = <K extends string | null>(name: string, help: string, label?: string, gauge = false): CellTable<K> =>
      serverCells<K>({ registry, name: `${p}${name}`, help, label, gauge });
    this.sentBytes = cells('sent_bytes_total', 'Bytes of file content written to data connections; segment is the index of an original-style segment request, empty for range requests.', 'segment');

    const requests = new CellCounter({
      registry, name: `${p}requests_total`, labelNames: ['server_id', 'kind', 'outcome'],
      help: 'Data-protocol requests answered, by kind (info, get, segment, list) and outcome.',
    });
    const requestTable = (kind: RequestKind): CellTable<string> =>
      new CellTable((s, outcome) => requests.cell({ server_id: String(s), kind, outcome }));
    this.requests = Object.fromEntries(REQUEST_KINDS.map((k) => [k, requestTable(k)])) as Record<RequestKind, CellTable<string>>;
    this.requestSeconds = new Histogram({
      registers: [registry], name: `${p}request_duration_seconds`, labelNames: ['server_id', 'kind'],
      help: 'Time from a request header read to its last byte written, by kind.',
      buckets: REQUEST_DURATION_BUCKETS,
    });

    this.activeConnections = cells('active_connections', 'Data connections open now.', undefined, true);
    this.connectionsTotal = cells('connections_total', 'Data connections accepted.');
    this.refused = cells('refused_connections_total', 'Data connections refused, by reason (draining, not_indexed, too_many_connections, auth, protocol, tls).', 'reason');
    this.fileSize = cells('file_size_bytes', 'Size of the served file (sum of the files when serving a directory).', undefined, true);
    this.filePieces = cells('file_pieces', 'Number of pieces of the served file (sum over files when serving a directory).', undefined, true);
    this.indexed = cells('indexed', '1 once the served file is indexed (piece digests computed) and the server is ready, else 0.', undefined, true);
    this.throttledSeconds = cells('throttled_seconds_total', 'Time data writes waited for the rate limiter.');
    this.authFailures = cells('auth_failures_total', 'Rejected tokens, on the data handshake (data) or a mutating gRPC call (grpc).', 'where');
    this.limitHits = cells('limit_hits_total', 'Times a configured limit was reached, by limit (e.g. max_connections, max_connections_per_client).', 'limit');
  }

  /** Registers a listener's series at zero so dashboards and alerts see them before traffic. Call once per server ID at start. */
  registerServer(serverId: number): void {
    this.activeConnections.get(serverId, null);
    this.connectionsTotal.get(serverId, null);
    this.sentBytes.get(serverId, '');
    this.indexed.get(serverId, null);
    this.throttledSeconds.get(serverId, null);
    for (const kind of REQUEST_KINDS) this.requestLabelsFor(serverId, kind);
    for (const reason of REFUSE_REASONS) this.refused.get(serverId, reason);
    for (const where of AUTH_PLACES) this.authFailures.get(serverId, where);
  }

  connectionOpened(serverId: number): void {
    this.activeConnections.get(serverId, null).value += 1;
    this.connectionsTotal.get(serverId, null).value += 1;
  }

  connectionClosed(serverId: number): void {
    this.activeConnections.get(serverId, null).value -= 1;
  }

  connectionRefused(serverId: number, reason: RefuseReason | (string & {})): void {
    this.refused.get(serverId, this.refuseLabel.map(reason)).value += 1;
  }

  /** Per socket write: `segment` is '' for range requests, else the segment index as a string. */
  bytesSent(serverId: number, segment: string, n: number): void {
    this.sentBytes.get(serverId, segment).value += n;
  }

  /** One finished request. */
  request(serverId: number, kind: RequestKind, outcome: RequestOutcome, seconds: number): void {
    this.requests[kind].get(serverId, this.outcomeLabel.map(outcome)).value += 1;
    this.requestSeconds.observe(this.requestLabelsFor(serverId, kind), seconds);
  }

  setFile(serverId: number, sizeBytes: number, pieces: number): void {
    this.fileSize.get(serverId, null).value = sizeBytes;
    this.filePieces.get(serverId, null).value = pieces;
  }

  setIndexed(serverId: number, indexed: boolean): void {
    this.indexed.get(serverId, null).value = indexed ? 1 : 0;
  }

  /** Time a write waited for the rate limiter. */
  throttled(serverId: number, seconds: number): void {
    this.throttledSeconds.get(serverId, null).value += seconds;
  }

  authFailure(serverId: number, where: AuthFailurePlace): void {
    this.authFailures.get(serverId, where).value += 1;
  }

  limitHit(serverId: number, limit: LimitName | (string & {})): void {
    this.limitHits.get(serverId, this.limitLabel.map(limit)).value += 1;
  }

  private requestLabelsFor(serverId: number, kind: RequestKind): Record<'server_id' | 'kind', string> {
    let row = this.requestLabels.get(serverId);
    if (row === undefined) {
      row = new Map();
      this.requestLabels.set(serverId, row);
    }
    let labels = row.get(kind);
    if (labels === undefined) {
      labels = { server_id: String(serverId), kind };
      row.set(kind, labels);
      this.requestSeconds.zero(labels);
    }
    return labels;
  }
}
