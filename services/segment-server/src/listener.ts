/**
 * One segment server: a server ID bound to one data port. Several can live in one process (the
 * original `-p P1 P2 ...` form); they share the catalog but each has its own rate limit, counters
 * and connections.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
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
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  maxInflight: number;
  /** TLS for the data port: key, certificate, and (for mutual TLS) the CA that client certificates must chain to. */
  tls?: { key: Buffer; cert: Buffer; clientCa?: Buffer };
}

const LIMIT_LOG_INTERVAL_MS = 60_000;

export class Listener {
  private readonly server: net.Server;
  readonly sessions = new Set<Session>();
  readonly bucket: TokenBucket;
  bytesSent = 0;
  requests = 0;
  draining = false;
  port = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly perClient = new Map<string, number>();
  private served: Catalog | undefined;
  private readonly limitLog = new Map<string, { at: number; suppressed: number }>();

  constructor(
    readonly serverId: number,
    readonly options: ListenerOptions,
    readonly events: ServerEvents,
    readonly log: Logger,
  ) {
    this.bucket = new TokenBucket(options.rateLimit);
    const t = options.tls;
    this.server = t
      ? tls.createServer({
          key: t.key, cert: t.cert, ca: t.clientCa, requestCert: !!t.clientCa, rejectUnauthorized: !!t.clientCa,
          handshakeTimeout: options.handshakeTimeoutMs, minVersion: 'TLSv1.2',
        }, (socket) => this.accept(socket))
      : net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    if (t) this.server.on('tlsClientError', () => this.events.connectionRefused(this.serverId, 'tls'));
  }

  /** What this listener serves; until it is set (indexing), connections are refused. */
  get catalog(): Catalog {
    if (!this.served) throw new Error('listener has no catalog yet');
    return this.served;
  }
  serve(catalog: Catalog): void {
    this.served = catalog;
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
    if (this.draining || !this.served) {
      this.events.connectionRefused(this.serverId, this.draining ? 'draining' : 'not_indexed');
      socket.destroy();
      return;
    }
    const addr = socket.remoteAddress ?? '?';
    if (this.sessions.size >= this.options.maxConnections) {
      this.events.connectionRefused(this.serverId, 'too_many_connections');
      this.limit('max_connections', addr);
      socket.destroy();
      return;
    }
    const mine = this.perClient.get(addr) ?? 0;
    if (mine >= this.options.maxConnectionsPerClient) {
      this.events.connectionRefused(this.serverId, 'too_many_connections');
      this.limit('max_connections_per_client', addr);
      socket.destroy();
      return;
    }
    this.perClient.set(addr, mine + 1);
    this.events.connectionOpened(this.serverId);
    this.sessions.add(new Session(socket, this, addr));
  }

  /** A limit was hit: counted every time, logged at most once a minute per limit. */
  limit(name: string, client: string): void {
    this.events.limitHit(this.serverId, name);
    const now = Date.now();
    const entry = this.limitLog.get(name);
    if (entry && now - entry.at < LIMIT_LOG_INTERVAL_MS) {
      entry.suppressed++;
      return;
    }
    this.log.warn(`limit reached: ${name}`, { limit: name, client, suppressedSinceLastLog: entry?.suppressed ?? 0 });
    this.limitLog.set(name, { at: now, suppressed: 0 });
  }

  sessionClosed(s: Session): void {
    if (this.sessions.delete(s)) {
      this.events.connectionClosed(this.serverId);
      const n = (this.perClient.get(s.address) ?? 1) - 1;
      if (n <= 0) this.perClient.delete(s.address);
      else this.perClient.set(s.address, n);
    }
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
