/**
 * Wire messages of msd.fetcher.v1.FetcherControl
 * (proto/msd/fetcher/v1/fetcher_control.proto), as the proto loader presents
 * them (keepCase, enums as names, longs as numbers, defaults filled in).
 */
import type { FetcherState } from './control-types';
import type { Empty } from './segment-server-control-messages';

/** FETCHER_STATE_UNSPECIFIED only appears when a peer sends nothing. */
export type FetcherStateMessage = FetcherState | 'FETCHER_STATE_UNSPECIFIED';

export interface SegmentProgressMessage {
  segment: number;
  start: number;
  end: number;
  bytes_done: number;
  bytes_per_second: number;
  server_id: number;
  server: string;
}

export interface ProgressMessage {
  file: string;
  output: string;
  size: number;
  bytes_done: number;
  pieces_done: number;
  pieces: number;
  bytes_per_second: number;
  eta_seconds: number;
  state: FetcherStateMessage;
  segments: SegmentProgressMessage[];
  /**
   * Only for a directory download. Senders leave it out for a single file;
   * receivers then read null (the loader fills unset message fields with null).
   */
  set?: SetProgressMessage | null;
}

export interface SetProgressMessage {
  files: number;
  files_complete: number;
  in_flight: FileInFlightMessage[];
}

export interface FileInFlightMessage {
  name: string;
  size: number;
  bytes_done: number;
}

export interface ProgressResponse {
  progress: ProgressMessage;
}

export interface WatchProgressRequest {
  /** 0 = default */
  min_interval_ms: number;
}

export interface StateResponse {
  state: FetcherStateMessage;
}

export interface CancelResponse {
  state: FetcherStateMessage;
  bytes_done: number;
}

/** Unary method name -> [request, response]. */
export interface FetcherControlMethods {
  GetProgress: [Empty, ProgressResponse];
  Pause: [Empty, StateResponse];
  Resume: [Empty, StateResponse];
  Cancel: [Empty, CancelResponse];
}

/** Server-streaming method name -> [request, response]. */
export interface FetcherControlStreams {
  WatchProgress: [WatchProgressRequest, ProgressResponse];
}
