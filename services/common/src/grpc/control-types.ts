/**
 * What the programs hand to their gRPC control services. Plain data (numbers,
 * not bigint): the control services translate these to and from the wire
 * messages of services/common/proto.
 */

/** One range being sent to a client. */
export interface TransferStatus {
  client: string;
  file: string;
  offset: number;
  length: number;
  sent: number;
}

/** One data listener (one server ID) of a segment-server process. */
export interface ServerListenerStatus {
  serverId: number;
  port: number;
  connections: number;
  bytesSent: number;
  requests: number;
  /** bytes per second, 0 = unlimited */
  rateLimit: number;
  draining: boolean;
  transfers: TransferStatus[];
}

export interface ServerStatus {
  file: string;
  size: number;
  pieceSize: number;
  pieces: number;
  /** hex */
  contentId: string;
  numServers: number;
  /** false while the file is being hashed */
  indexed: boolean;
  draining: boolean;
  listeners: ServerListenerStatus[];
}

export interface ServedFile {
  name: string;
  size: number;
  contentId: string;
}

export interface SegmentServerControlTarget {
  status(): ServerStatus;
  /** Stop taking new transfers, finish the running ones; exit once idle when asked. */
  drain(exitWhenIdle: boolean): void;
  /** serverId undefined = every listener of the process; 0 bytes/s = unlimited. */
  setRateLimit(serverId: number | undefined, bytesPerSecond: number): void;
  listFiles(): ServedFile[];
}

export const FETCHER_STATES = ['CONNECTING', 'DOWNLOADING', 'PAUSED', 'STALLED', 'DONE', 'FAILED', 'CANCELLED'] as const;
export type FetcherState = (typeof FETCHER_STATES)[number];

/** States after which the fetcher makes no more progress in this run. */
export const FINAL_FETCHER_STATES: readonly FetcherState[] = ['DONE', 'FAILED', 'CANCELLED'];

export interface SegmentProgress {
  segment: number;
  start: number;
  end: number;
  bytesDone: number;
  bytesPerSecond: number;
  serverId: number;
  /** host:port */
  server: string;
}

export interface FetcherProgress {
  file: string;
  output: string;
  size: number;
  bytesDone: number;
  piecesDone: number;
  pieces: number;
  bytesPerSecond: number;
  /** -1 when unknown */
  etaSeconds: number;
  state: FetcherState;
  segments: SegmentProgress[];
  /** Present when the fetcher downloads a set of files (a served directory), absent for one file. */
  set?: SetProgress;
}

/** A directory download as a whole: how many files, how many are in place, and those being fetched. */
export interface SetProgress {
  files: number;
  filesComplete: number;
  /** Files with bytes on the way now (at most MAX_FILES_IN_FLIGHT_SHOWN of them, largest progress first). */
  inFlight: FileInFlight[];
}

export interface FileInFlight {
  /** Relative path in the served directory, `/` separated. */
  name: string;
  size: number;
  bytesDone: number;
}

/** The progress view names at most this many files in flight: the message stays small for any set. */
export const MAX_FILES_IN_FLIGHT_SHOWN = 16;

export interface FetcherControlTarget {
  progress(): FetcherProgress;
  pause(): void;
  resume(): void;
  /** Resolves once the resume state is saved. */
  cancel(): Promise<void>;
  /** Called on every state or progress change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}
