/**
 * Wire messages of msd.segmentserver.v1.SegmentServerControl
 * (proto/msd/segmentserver/v1/segment_server_control.proto), as the proto
 * loader presents them (keepCase, longs as numbers, defaults filled in).
 */

export type Empty = Record<string, never>;

export interface TransferMessage {
  client: string;
  file: string;
  offset: number;
  length: number;
  sent: number;
}

export interface ListenerStatusMessage {
  server_id: number;
  port: number;
  connections: number;
  bytes_sent: number;
  requests: number;
  rate_limit: number;
  draining: boolean;
  transfers: TransferMessage[];
}

export interface ServerStatusMessage {
  file: string;
  size: number;
  piece_size: number;
  pieces: number;
  content_id: string;
  num_servers: number;
  indexed: boolean;
  draining: boolean;
  listeners: ListenerStatusMessage[];
}

export interface GetStatusResponse {
  status: ServerStatusMessage;
}

export interface DrainRequest {
  exit_when_idle: boolean;
}

export interface DrainResponse {
  active_transfers: number;
}

export interface SetRateLimitRequest {
  /** absent = every listener */
  server_id?: number;
  bytes_per_second: number;
}

export interface SetRateLimitResponse {
  listeners: { server_id: number; rate_limit: number }[];
}

export interface FileEntryMessage {
  name: string;
  size: number;
  content_id: string;
}

export interface ListFilesResponse {
  files: FileEntryMessage[];
}

/** Method name -> [request, response]; unary methods only. */
export interface SegmentServerControlMethods {
  GetStatus: [Empty, GetStatusResponse];
  Drain: [DrainRequest, DrainResponse];
  SetRateLimit: [SetRateLimitRequest, SetRateLimitResponse];
  ListFiles: [Empty, ListFilesResponse];
}
