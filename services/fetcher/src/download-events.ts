/** What a download reports as it goes; metrics, tracing and tests implement it. All methods are cheap. */
import type { PieceFailureReason, ReassignReason, RetryReason } from './model';

export interface DownloadEvents {
  bytesReceived(serverId: number, segment: number, n: number): void;
  pieceVerified(serverId: number): void;
  pieceFailed(serverId: number, reason: PieceFailureReason): void;
  /** A piece kept from an earlier run failed its re-check on disk and is fetched again. */
  resumedPieceFailed(): void;
  /** The server sent too many bad pieces: it gets no more work in this run. */
  serverBanned(serverId: number): void;
  retry(serverId: number, reason: RetryReason): void;
  reassignment(reason: ReassignReason): void;
  connections(serverId: number, delta: number): void;
  resumed(bytesRecovered: number): void;
}

export const noDownloadEvents: DownloadEvents = {
  bytesReceived: () => undefined,
  pieceVerified: () => undefined,
  pieceFailed: () => undefined,
  resumedPieceFailed: () => undefined,
  serverBanned: () => undefined,
  retry: () => undefined,
  reassignment: () => undefined,
  connections: () => undefined,
  resumed: () => undefined,
};
