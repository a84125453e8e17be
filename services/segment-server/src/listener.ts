/**
 * One segment server: a server ID bound to one data port. Several can live in one process (the
 * original `-p P1 P2 ...` form); they share the catalog but each has its own rate limit, counters
 * and connections.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  encodeServerHello, errorResponse, Logger, ServerTlsMaterial, NONCE_SIZE, PROTOCOL_VERSION, RequestType, ServerFlags, Status,
} from '@msd/common';
import type { Catalog } from './catalog';
import type { ListenerState } from './request-handler';
import { Session } from './session';
import type { SessionHost, SessionSettings } from './session-host';
import type { LimitName, ServerEvents } from './server-events';
import { TokenBucket } from './token-bucket';

export interface ListenerOptions extends SessionSettings {
  bind: string;
  numServers: number;
  rateLimit: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** TLS for the data port: key, certificate, and (for mutual TLS) the CA that client certificates must chain to. */
  tls?: ServerTlsMaterial;
}

const LIMIT_LOG_INTERVAL_MS = 60_000;

export class Listener implements SessionHost {
  private readonly server: net.Server;
  readonly sessions = new Set<Session>();
  readonly bucket: TokenBucket;
  private sent = 0;
  requests = 0;
  draining = false;
  port = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly perClient = new Map<string, number>();
  private served: Catalog | undefined;
  private readonly limitLog = new Map<string, { at: number; suppressed: number }>();

  constructor(
    readonly serverId: number,
    private readonly options: ListenerOptions,
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
  get files(): Catalog {
    if (!this.served) throw new Error('listener has no catalog yet');
    return this.served;
  }
  serve(catalog: Catalog): void {
    this.served = catalog;
  }

  get settings(): SessionSettings {
    return this.options;
  }

  state(): ListenerState {
    return { serverId: this.serverId, numServers: this.options.numServers, draining: this.draining };
  }

  greeting(nonce: Buffer): Buffer {
    return encodeServerHello({
      version: PROTOCOL_VERSION,
      flags: this.options.token ? ServerFlags.AUTH_REQUIRED : 0,
      nonce,
      serverId: this.serverId,
      numServers: this.options.numServers,
    });
  }

  throttle(n: number): number {
    const wait = this.bucket.take(n);
    if (wait > 0) this.events.throttled(this.serverId, wait / 1000);
    return wait;
  }

  requestTaken(): void {
    this.requests++;
  }

  bodySent(n: number, segment: string): void {
    this.sent += n;
    this.events.bytesSent(this.serverId, segment, n);
  }

  /** Body bytes all connections of this listener have sent. */
  get bytesSent(): number {
    return this.sent;
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
    const { maxConnections, maxConnectionsPerClient } = this.options;
    if (this.sessions.size >= maxConnections) {
      this.refuseAtLimit(socket, 'max_connections', addr, Status.CONNECTION_LIMIT,
        `server ${this.serverId} has ${maxConnections} connections open, its limit (--max-connections); try again later or fetch from another server`);
      return;
    }
    const mine = this.perClient.get(addr) ?? 0;
    if (mine >= maxConnectionsPerClient) {
      this.refuseAtLimit(socket, 'max_connections_per_client', addr, Status.CLIENT_CONNECTION_LIMIT,
        `server ${this.serverId} has ${mine} connections open from ${addr}, its limit per client (--max-connections-per-client); use fewer connections (--connections-per-server) or raise the limit`);
      return;
    }
    this.perClient.set(addr, mine + 1);
    this.events.connectionOpened(this.serverId);
    this.sessions.add(new Session(socket, this, addr));
  }

  /**
   * Tells a client why it is turned away before closing: the greeting (so it knows it reached a
   * segment server), then a fatal error frame whose status names the limit (docs/protocol.md §6).
   * No session is made; the socket is destroyed a second later if the client does not close first.
   */
  private refuseAtLimit(socket: net.Socket, limit: LimitName, addr: string, status: Status, message: string): void {
    this.events.connectionRefused(this.serverId, 'too_many_connections');
    this.limit(limit, addr);
    socket.write(this.greeting(randomBytes(NONCE_SIZE)));
    socket.end(errorResponse(RequestType.INFO, 0, status, message));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** A limit was hit: counted every time, logged at most once a minute per limit. */
  limit(name: LimitName, client: string): void {
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
