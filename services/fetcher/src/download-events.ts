/** What a download reports as it goes; metrics, tracing and tests implement it. All methods are cheap. */
export type RetryReason = 'timeout' | 'error' | 'refused' | 'stall' | 'protocol' | 'auth' | 'closed';
export type ReassignReason = 'steal' | 'timeout' | 'error' | 'hedge';

export interface DownloadEvents {
  bytesReceived(serverId: number, segment: number, n: number): void;
  pieceVerified(serverId: number): void;
  pieceFailed(serverId: number, reason: 'digest' | 'short' | 'io'): void;
  retry(serverId: number, reason: RetryReason): void;
  reassignment(reason: ReassignReason): void;
  connections(serverId: number, delta: number): void;
  resumed(bytesRecovered: number): void;
}

export const noDownloadEvents: DownloadEvents = {
  bytesReceived: () => undefined,
  pieceVerified: () => undefined,
  pieceFailed: () => undefined,
  retry: () => undefined,
  reassignment: () => undefined,
  connections: () => undefined,
  resumed: () => undefined,
};
