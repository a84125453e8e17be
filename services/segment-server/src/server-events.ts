/** What the data path reports as it works; metrics (and tests) implement it. All methods are cheap. */
import type { RequestKind } from '@msd/common';

/** The limits a client can run into; each is a value of msd_server_limit_hits_total{limit}. */
export const LIMIT_NAMES = [
  'max_connections', 'max_connections_per_client', 'max_inflight', 'max_request_bytes',
  'handshake_timeout', 'idle_timeout', 'request_timeout',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export interface ServerEvents {
  connectionOpened(serverId: number): void;
  connectionClosed(serverId: number): void;
  connectionRefused(serverId: number, reason: string): void;
  bytesSent(serverId: number, segment: string, n: number): void;
  request(serverId: number, kind: RequestKind, outcome: string, seconds: number): void;
  throttled(serverId: number, seconds: number): void;
  authFailure(serverId: number, where: 'data' | 'grpc'): void;
  limitHit(serverId: number, limit: LimitName): void;
}

export const noEvents: ServerEvents = {
  connectionOpened: () => undefined,
  connectionClosed: () => undefined,
  connectionRefused: () => undefined,
  bytesSent: () => undefined,
  request: () => undefined,
  throttled: () => undefined,
  authFailure: () => undefined,
  limitHit: () => undefined,
};
