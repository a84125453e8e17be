/**
 * The fetcher's program-wide vocabulary, declared once: download states, the progress views the
 * display and the control API share, and the reasons metrics count. The state list itself is the
 * control API's (services/common/src/grpc/control-types.ts), so the wire, the metrics and the
 * download can never disagree about it.
 */
import { FETCHER_STATES, FINAL_FETCHER_STATES, type FetcherProgress, type FetcherState, type SegmentProgress } from '@msd/common';

export { FETCHER_STATES };
export type DownloadState = FetcherState;

/** A state after which this run makes no more progress. */
export function isFinal(s: DownloadState): boolean {
  return FINAL_FETCHER_STATES.includes(s);
}

export type SegmentView = SegmentProgress;

/** How one configured server is doing, as the progress line and the display show it. */
export type ServerStatusWord = 'ok' | 'stalled' | 'retrying' | 'dropped' | 'banned' | 'done' | 'failed' | 'cancelled';
export interface ServerView { label: string; serverId: number; bytes: number; bytesPerSecond: number; status: ServerStatusWord }

/** The control API's progress plus the per-server view the terminal display adds. */
export interface ProgressView extends FetcherProgress {
  servers: ServerView[];
}

/** Why a connection is retried (label `reason` of msd_fetcher_retries_total). */
export type RetryReason = 'timeout' | 'error' | 'refused' | 'stall' | 'protocol' | 'auth';
/** Why work moved to another connection (label `reason` of msd_fetcher_reassignments_total). */
export type ReassignReason = 'steal' | 'timeout' | 'error' | 'hedge';
/** Why a piece a server sent was rejected (label `reason` of msd_fetcher_piece_failures_total). */
export type PieceFailureReason = 'digest';

export interface DownloadResult {
  /** The file, or the directory of a set. */
  path: string;
  /** Bytes of every file. */
  size: number;
  /** A directory download (of `files` files), or one file. */
  set: boolean;
  files: number;
  seconds: number;
  bytesReceived: number;
  resumedBytes: number;
  contentId: string;
  /** How the run ended: downloaded (some or all), or an existing output found complete. */
  outcome: 'downloaded' | 'already-complete';
}
