/** What the data path reports as it works; metrics (and tests) implement it. All methods are cheap. */
export interface ServerEvents {
  connectionOpened(serverId: number): void;
  connectionClosed(serverId: number): void;
  connectionRefused(serverId: number, reason: string): void;
  bytesSent(serverId: number, segment: string, n: number): void;
  request(serverId: number, kind: 'info' | 'get' | 'segment' | 'list', outcome: string, seconds: number): void;
  throttled(serverId: number, seconds: number): void;
  authFailure(serverId: number, where: 'data' | 'grpc'): void;
  limitHit(serverId: number, limit: string): void;
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
