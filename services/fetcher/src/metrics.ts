import { Gauge, type Registry } from 'prom-client';
import {
  BoundedLabel,
  CellCounter,
  CellGauge,
  CellTable,
  serverCells,
  packageVersion,
  registerBuildInfo,
  type BuildInfo,
  type MetricCell,
} from '@msd/common';
import type { DownloadEvents } from './download-events';
import { FETCHER_STATES as DOWNLOAD_STATES, type PieceFailureReason, type ReassignReason, type RetryReason } from './model';

/** Every fetcher metric name starts with this. */
export const FETCHER_METRIC_PREFIX = 'msd_fetcher_';

/** Lifecycle states exported as `msd_fetcher_state{state}` (1 for the current one): the download's states, lower case. */
export const FETCHER_STATES = DOWNLOAD_STATES.map((s) => s.toLowerCase() as Lowercase<typeof s>);
export type FetcherState = (typeof FETCHER_STATES)[number];

const PIECE_FAILURE_REASONS = ['digest'] as const satisfies readonly PieceFailureReason[];
const RETRY_REASONS = ['timeout', 'error', 'refused', 'stall', 'protocol', 'auth'] as const satisfies readonly RetryReason[];

/**
 * The fetcher's Prometheus metrics (`msd_fetcher_*`) on a registry the process owns. Every
 * method is O(1); `bytesReceived`, `pieceVerified`, `setProgress` and `setFiles` allocate nothing after the
 * first call for a label tuple, so the data path may call them per socket read. `segment` is the
 * index of the initial assignment (bounded by the number of servers), never a piece or offset.
 */
export class FetcherMetrics implements DownloadEvents {
  private readonly receivedBytes: CellTable<number>;
  private readonly piecesVerified: CellTable<null>;
  private readonly pieceFailures: CellTable<PieceFailureReason>;
  private readonly retries: CellTable<RetryReason>;
  private readonly reassignments: Record<ReassignReason, MetricCell>;
  private readonly activeConnections: CellTable<null>;
  private readonly progressRatio: MetricCell;
  private readonly doneBytes: MetricCell;
  private readonly totalBytes: MetricCell;
  private readonly eta: MetricCell;
  private readonly setFileCount: MetricCell;
  private readonly setFilesComplete: MetricCell;
  private readonly resumes: MetricCell;
  private readonly resumedBytes: MetricCell;
  private readonly resumedRefetched: MetricCell;
  private readonly banned: CellTable<null>;
  private readonly lastSuccess: Gauge;
  private readonly state: Gauge<'state'>;
  private readonly stateLabel = new BoundedLabel(FETCHER_STATES.length + 4, FETCHER_STATES);
  private currentState: string | undefined;

  constructor(registry: Registry, build: BuildInfo = {}) {
    const p = FETCHER_METRIC_PREFIX;
    registerBuildInfo(registry, p, { ...build, version: build.version ?? packageVersion(__dirname) });

    const cells = <K extends string | number | null>(name: string, help: string, label?: string, gauge = false): CellTable<K> =>
      serverCells<K>({ registry, name: `${p}${name}`, help, label, gauge });
    this.receivedBytes = cells('received_bytes_total', 'File content bytes received, by server and by segment (the index of the initial assignment the bytes belong to).', 'segment');
    this.piecesVerified = cells('pieces_verified_total', 'Pieces whose SHA-256 matched the server digest, by the server that sent them.');
    this.pieceFailures = cells('piece_failures_total', 'Pieces rejected and fetched again, by the server that sent them: digest (SHA-256 mismatch).', 'reason');
    this.retries = cells('retries_total', `Requests or connections to a server tried again, by reason (${RETRY_REASONS.join(', ')}).`, 'reason');
    this.banned = cells('server_banned', '1 when the server sent too many pieces that failed verification and gets no more work in this run.', undefined, true);
    this.activeConnections = cells('active_connections', 'Data connections open now, by server.', undefined, true);
    const reassign = new CellCounter({
      registry, name: `${p}reassignments_total`, labelNames: ['reason'],
      help: 'Work moved between servers: steal (idle connection split a slower run), timeout, error, hedge (end-game duplicate).',
    });
    this.reassignments = {
      steal: reassign.cell({ reason: 'steal' }),
      timeout: reassign.cell({ reason: 'timeout' }),
      error: reassign.cell({ reason: 'error' }),
      hedge: reassign.cell({ reason: 'hedge' }),
    };

    const gauge = (name: string, help: string): MetricCell => new CellGauge({ registry, name: `${p}${name}`, help, labelNames: [] }).cell({});
    const counter = (name: string, help: string): MetricCell => new CellCounter({ registry, name: `${p}${name}`, help, labelNames: [] }).cell({});
    this.progressRatio = gauge('progress_ratio', 'Verified bytes / size of the download (the file, or all the set\'s files in directory mode), 0 to 1.');
    this.doneBytes = gauge('verified_bytes', 'Bytes verified and written so far, over the whole set in directory mode (including bytes recovered on resume).');
    this.totalBytes = gauge('file_size_bytes', 'Size of the download: the file, or the sum of the set\'s files in directory mode.');
    this.eta = gauge('eta_seconds', 'Estimated seconds until the download (the whole set in directory mode) completes (0 when done or unknown).');
    this.setFileCount = gauge('set_files', 'Files in the download: the set\'s files in directory mode, 1 for one file.');
    this.setFilesComplete = gauge('set_files_complete', 'Files in place and verified.');
    this.resumes = counter('resumes_total', 'Downloads resumed from saved state.');
    this.resumedBytes = counter('resumed_bytes_total', 'Bytes recovered from the part file on resume instead of downloaded again.');
    this.resumedRefetched = counter('resumed_pieces_refetched_total', 'Pieces kept from an earlier run that no longer matched their digest on disk (checked before the final rename) and were fetched again.');

    this.lastSuccess = new Gauge({
      registers: [registry], name: `${p}last_success_timestamp_seconds`,
      help: 'Unix time of the last download that completed and verified (absent until one has).',
    });
    // Absent, not 0, until a success: a failed run pushing with POST then leaves the
    // Pushgateway's record of the previous success in place.
    this.lastSuccess.remove();
    this.state = new Gauge({
      registers: [registry], name: `${p}state`, labelNames: ['state'],
      help: `Lifecycle state: 1 for the current one, 0 for the others (${FETCHER_STATES.join(', ')}).`,
    });
    for (const s of FETCHER_STATES) this.state.set({ state: s }, 0);
  }

  /** Per socket read: `n` content bytes from `serverId` for initial segment `segment`. */
  bytesReceived(serverId: number, segment: number, n: number): void {
    this.receivedBytes.get(serverId, segment).value += n;
  }

  pieceVerified(serverId: number): void {
    this.piecesVerified.get(serverId, null).value += 1;
  }

  pieceFailed(serverId: number, reason: PieceFailureReason): void {
    this.pieceFailures.get(serverId, reason).value += 1;
  }

  resumedPieceFailed(): void {
    this.resumedRefetched.value += 1;
  }

  serverBanned(serverId: number): void {
    this.banned.get(serverId, null).value = 1;
  }

  retry(serverId: number, reason: RetryReason): void {
    this.retries.get(serverId, reason).value += 1;
  }

  reassignment(reason: ReassignReason): void {
    this.reassignments[reason].value += 1;
  }

  /** Registers a server's series at zero so dashboards and alerts see it before any event. */
  registerServer(serverId: number, segment: number): void {
    this.receivedBytes.get(serverId, segment);
    this.piecesVerified.get(serverId, null);
    this.activeConnections.get(serverId, null);
    this.banned.get(serverId, null);
    for (const r of PIECE_FAILURE_REASONS) this.pieceFailures.get(serverId, r);
    for (const r of RETRY_REASONS) this.retries.get(serverId, r);
  }

  /** `etaSeconds`: estimated time left, or 0 when unknown or done. */
  setProgress(bytesDone: number, bytesTotal: number, etaSeconds: number): void {
    this.doneBytes.value = bytesDone;
    this.totalBytes.value = bytesTotal;
    this.progressRatio.value = bytesTotal > 0 ? bytesDone / bytesTotal : 0;
    this.eta.value = Number.isFinite(etaSeconds) && etaSeconds > 0 ? etaSeconds : 0;
  }

  /**
   * Files of the download and how many are in place and verified (a single-file download is a
   * set of one). Two stores, so the progress view may call it on every tick.
   */
  setFiles(total: number, complete: number): void {
    this.setFileCount.value = total;
    this.setFilesComplete.value = complete;
  }

  /** A resume from saved state recovered `bytesRecovered` bytes. */
  resumed(bytesRecovered: number): void {
    this.resumes.value += 1;
    this.resumedBytes.value += bytesRecovered;
  }

  /** The download completed and verified: sets the last-success timestamp. */
  success(nowMs: number = Date.now()): void {
    this.lastSuccess.set(nowMs / 1000);
  }

  /** `delta` +1 when a connection opens, -1 when it closes. */
  connections(serverId: number, delta: number): void {
    this.activeConnections.get(serverId, null).value += delta;
  }

  setState(state: FetcherState | (string & {})): void {
    const label = this.stateLabel.map(state);
    if (label === this.currentState) return;
    if (this.currentState !== undefined) this.state.set({ state: this.currentState }, 0);
    this.state.set({ state: label }, 1);
    this.currentState = label;
  }
}
