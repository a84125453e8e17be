/**
 * One segment server: a server ID bound to one data port. Several can live in one process (the
 * original `-p P1 P2 ...` form); they share the catalog but each has its own rate limit, counters
 * and connections.
 */
import * as net from 'node:net';
import type { Logger } from '@msd/common';
import type { Catalog } from './catalog';
import { Session } from './session';
import type { ServerEvents } from './server-events';
import { TokenBucket } from './token-bucket';

export interface ListenerOptions {
  bind: string;
  numServers: number;
  token: string | undefined;
  rateLimit: number;
  handshakeTimeoutMs: number;
}

export class Listener {
  private readonly server: net.Server;
  readonly sessions = new Set<Session>();
  readonly bucket: TokenBucket;
  bytesSent = 0;
  requests = 0;
  draining = false;
  port = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly serverId: number,
    readonly catalog: Catalog,
    readonly options: ListenerOptions,
    readonly events: ServerEvents,
    readonly log: Logger,
  ) {
    this.bucket = new TokenBucket(options.rateLimit);
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ port, host: this.options.bind }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.log.error('listener error', { error: err.message }));
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    if (this.draining) {
      this.events.connectionRefused(this.serverId, 'draining');
      socket.destroy();
      return;
    }
    this.events.connectionOpened(this.serverId);
    this.sessions.add(new Session(socket, this));
  }

  sessionClosed(s: Session): void {
    if (this.sessions.delete(s)) this.events.connectionClosed(this.serverId);
    if (this.sessions.size === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  setRateLimit(bytesPerSecond: number): void {
    this.bucket.setRate(bytesPerSecond);
  }

  /** Stops accepting; running transfers finish; connections close as they go idle. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.server.close();
    for (const s of this.sessions) s.endWhenIdle();
  }

  /** Resolves when no connection is left (or after timeoutMs, closing the rest). */
  async idle(timeoutMs: number): Promise<void> {
    if (this.sessions.size === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      t.unref();
      this.idleWaiters.push(() => { clearTimeout(t); resolve(); });
    });
    for (const s of [...this.sessions]) s.close();
  }
}
