/**
 * What a `Session` may ask of the listener that owns it, and nothing more: the session keeps
 * framing, backpressure and timers; counting, limits, the rate limit and the catalog stay with
 * the owner. Declared apart from both so that neither imports the other.
 */
import type { Logger } from '@msd/common';
import type { ListenerState, ServedFiles } from './request-handler';
import type { LimitName, ServerEvents } from './server-events';

/** The settings a connection runs by. */
export interface SessionSettings {
  token: string | undefined;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  maxInflight: number;
}

export interface SessionHost {
  readonly settings: SessionSettings;
  readonly events: ServerEvents;
  readonly log: Logger;
  /** The files served; a session exists only once they are indexed. */
  readonly files: ServedFiles;
  /** Server ID, server count and draining, as the request handler needs them. */
  state(): ListenerState;
  /** The greeting a new connection starts with. */
  greeting(nonce: Buffer): Buffer;
  /** Milliseconds to wait before sending n more bytes (the listener's rate limit). */
  throttle(n: number): number;
  /** A request was taken off a connection. */
  requestTaken(): void;
  /** n body bytes went out; `segment` labels them (see request-handler). */
  bodySent(n: number, segment: string): void;
  /** A limit was hit by `client`: counted, and logged now and then. */
  limit(name: LimitName, client: string): void;
  /** The session ended; it will call nothing more. */
  sessionClosed(session: { readonly address: string }): void;
}
