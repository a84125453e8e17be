/**
 * One client connection: greeting, handshake, then pipelined requests answered in order.
 * Reads the file in bounded chunks into two reused buffers and writes with backpressure, so a
 * connection holds at most two chunks however large the range. Any malformed input ends the
 * connection with an error frame; nothing a client sends can throw out of here. What to answer is
 * request-handler's pure `planResponse`; everything else it needs comes through `SessionHost`.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import {
  decodeClientHello, decodeRequest, errorResponse, isRequestType, NONCE_SIZE, ProtocolError, Request, REQUEST_KIND,
  RequestType, Status, verifyAuthMac, REQUEST_HEADER_SIZE, MAX_NAME_BYTES,
  contextFromTraceparent, endSpan, SPAN, SPAN_ATTR, startSpan, tracingEnabled,
} from '@msd/common';
import type { Span } from '@opentelemetry/api';
import { planResponse } from './request-handler';
import type { CatalogEntry } from './catalog';
import type { SessionHost } from './session-host';

const readAsync = promisify(fs.read);
export const CHUNK_SIZE = 1024 * 1024;
const MAX_PENDING_INPUT = REQUEST_HEADER_SIZE + MAX_NAME_BYTES;

export interface Transfer { file: string; offset: number; length: number; sent: number }

export class Session {
  readonly client: string;
  private readonly nonce = randomBytes(NONCE_SIZE);
  private input: Buffer = Buffer.alloc(0);
  private handshaken = false;
  private readonly queue: Request[] = [];
  private working = false;
  private closed = false;
  private bufs: Buffer[] | undefined;
  current: Transfer | undefined;
  private traceparent = '';
  /** Body bytes this connection has sent. */
  private sent = 0;
  private readonly handshakeTimer: NodeJS.Timeout;
  /** Runs while a begun request waits for its remaining bytes and nothing else is going on. */
  private frameTimer: NodeJS.Timeout | undefined;

  constructor(private readonly socket: Socket, private readonly host: SessionHost, readonly address: string) {
    this.client = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const settings = host.settings;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    this.handshakeTimer = setTimeout(() => {
      host.limit('handshake_timeout', this.client);
      this.fail(RequestType.INFO, 0, new ProtocolError(Status.BAD_REQUEST, 'handshake timeout'));
    }, settings.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    if (settings.idleTimeoutMs > 0) {
      // no bytes either way for this long: a silent client, or one that stopped reading
      socket.setTimeout(settings.idleTimeoutMs, () => {
        host.limit('idle_timeout', this.client);
        this.close();
      });
    }
    socket.write(host.greeting(this.nonce));
  }

  get idle(): boolean {
    return !this.working && this.queue.length === 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.frameTimer);
    this.socket.destroy();
    this.host.sessionClosed(this);
  }

  /** Ends the connection once queued work is done (drain). */
  endWhenIdle(): void {
    if (this.idle) this.socket.end();
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    const { settings } = this.host;
    this.input = this.input.length ? Buffer.concat([this.input, d]) : d;
    try {
      if (!this.handshaken) {
        const h = decodeClientHello(this.input);
        if (!h) return this.checkPending();
        this.input = this.input.subarray(h.size);
        if (settings.token && !verifyAuthMac(settings.token, this.nonce, h.hello.auth)) {
          const { serverId } = this.host.state();
          this.host.events.authFailure(serverId, 'data');
          this.host.events.connectionRefused(serverId, 'auth');
          throw new ProtocolError(Status.AUTH_FAILED, h.hello.auth.length ? 'authentication failed: wrong token' : 'authentication required: this server needs a token (--token or --token-file)');
        }
        this.handshaken = true;
        this.traceparent = h.hello.traceparent;
        clearTimeout(this.handshakeTimer);
      }
      for (;;) {
        if (this.input.length >= 4 && isRequestType(this.input.readUInt8(0)) && this.input.readUInt16BE(2) > MAX_NAME_BYTES) {
          this.host.limit('max_request_bytes', this.client); // decodeRequest refuses it just below
        }
        const r = decodeRequest(this.input);
        if (!r) break;
        this.input = this.input.subarray(r.size);
        this.queue.push(r.request);
        if (this.queue.length > settings.maxInflight * 2) {
          this.host.limit('max_inflight', this.client);
          throw new ProtocolError(Status.BUSY, `more than ${settings.maxInflight} requests in flight on one connection`);
        }
      }
      this.checkPending();
    } catch (err) {
      const type = this.input.length ? this.input.readUInt8(0) : 0;
      return this.fail(isRequestType(type) ? type : RequestType.INFO, 0, err);
    }
    if (this.queue.length >= settings.maxInflight) this.socket.pause();
    void this.pump();
    this.armFrameTimer();
  }

  /**
   * A request begun but not finished while the connection has nothing else to do must complete
   * within the idle timeout. The socket timeout alone would not do: a client sending one byte a
   * second (slowloris) resets it forever.
   */
  private armFrameTimer(): void {
    const timeout = this.host.settings.idleTimeoutMs;
    const waiting = this.handshaken && !this.closed && this.input.length > 0 && this.idle && timeout > 0;
    if (!waiting) {
      clearTimeout(this.frameTimer);
      this.frameTimer = undefined;
      return;
    }
    if (this.frameTimer) return;
    this.frameTimer = setTimeout(() => {
      this.host.limit('request_timeout', this.client);
      this.close();
    }, timeout);
    this.frameTimer.unref();
  }

  private checkPending(): void {
    if (this.input.length > MAX_PENDING_INPUT + 64) {
      this.host.limit('max_request_bytes', this.client);
      throw new ProtocolError(Status.BAD_REQUEST, 'frame too large');
    }
    if (this.input.length === 0) this.input = Buffer.alloc(0);
  }

  /** Writes an error frame and closes: the stream cannot be trusted after a malformed frame. */
  private fail(type: RequestType, id: number, err: unknown): void {
    if (this.closed) return;
    const status = err instanceof ProtocolError ? err.status : Status.INTERNAL;
    const msg = err instanceof Error ? err.message : String(err);
    if (status === Status.BAD_REQUEST || status === Status.UNSUPPORTED_VERSION) this.host.events.connectionRefused(this.host.state().serverId, 'protocol');
    // a frame goes only between responses: in the middle of a body it would read as body bytes,
    // so a connection failed while a range is being sent is closed without one
    if (this.current) this.socket.destroy();
    else this.socket.end(errorResponse(type, id, status, msg));
    // `closed` is set below, so close() would do nothing here: destroy the socket itself, or a
    // peer that never closes its side (allowHalfOpen) would hold the descriptor forever, uncounted
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.frameTimer);
    this.host.sessionClosed(this);
  }

  private async pump(): Promise<void> {
    if (this.working) return;
    this.working = true;
    try {
      while (this.queue.length && !this.closed) {
        const req = this.queue.shift()!;
        if (this.queue.length < this.host.settings.maxInflight / 2) this.socket.resume();
        await this.serve(req);
      }
    } finally {
      this.working = false;
    }
    this.armFrameTimer();
    if (this.host.state().draining && this.idle && !this.closed) this.socket.end();
  }

  private async serve(req: Request): Promise<void> {
    const started = performance.now();
    const kind = REQUEST_KIND[req.type];
    const state = this.host.state();
    this.host.requestTaken();
    const span = this.startSpan(req, state.serverId);
    let outcome = 'ok';
    let failure: unknown;
    const sentBefore = this.sent;
    try {
      const plan = planResponse(req, this.host.files, state);
      if (plan.kind === 'refusal') {
        // a request-level error keeps the connection: the frame was well formed
        outcome = Status[plan.status].toLowerCase();
        failure = new ProtocolError(plan.status, plan.message);
        this.socket.write(plan.frame);
      } else if (plan.kind === 'frame') {
        this.socket.write(plan.frame);
      } else {
        this.socket.write(plan.header);
        await this.sendRange(plan.entry, plan.offset, plan.length, plan.segment);
      }
    } catch (err) {
      failure = err;
      outcome = 'internal';
      this.host.log.error('request failed', { client: this.client, error: err instanceof Error ? err.message : String(err) });
      this.close(); // the response may be half written: the only safe thing is to end the stream
    } finally {
      this.host.events.request(state.serverId, kind, outcome, (performance.now() - started) / 1000);
      if (span) endSpan(span, outcome, failure, { [SPAN_ATTR.bytes]: this.sent - sentBefore });
    }
  }

  private startSpan(req: Request, serverId: number): Span | undefined {
    if (!tracingEnabled()) return undefined;
    const attrs = { [SPAN_ATTR.kind]: REQUEST_KIND[req.type], [SPAN_ATTR.serverId]: serverId, [SPAN_ATTR.rangeStart]: req.a, [SPAN_ATTR.rangeLength]: req.b };
    return startSpan(SPAN.serverRequest, attrs, this.traceparent ? contextFromTraceparent(this.traceparent) : undefined);
  }

  private async sendRange(e: CatalogEntry, offset: number, length: number, segment: string): Promise<void> {
    const bufs = (this.bufs ??= [Buffer.allocUnsafe(CHUNK_SIZE), Buffer.allocUnsafe(CHUNK_SIZE)]);
    const inFlight: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
    const t: Transfer = { file: e.name, offset, length, sent: 0 };
    this.current = t;
    const host = this.host;
    let pos = offset;
    let left = length;
    let i = 0;
    try {
      while (left > 0) {
        await inFlight[i];
        if (this.closed || this.socket.destroyed) return;
        const n = Math.min(left, CHUNK_SIZE);
        const wait = host.throttle(n);
        if (wait > 0) {
          await new Promise((r) => setTimeout(r, wait));
          if (this.closed) return;
        }
        const { bytesRead } = await readAsync(e.fd, bufs[i], 0, n, pos);
        if (bytesRead === 0) throw new Error(`${e.name} is shorter than indexed (at byte ${pos}); the file changed while served`);
        const buf = bufs[i];
        inFlight[i] = new Promise<void>((resolve) => { this.socket.write(buf.subarray(0, bytesRead), () => resolve()); });
        pos += bytesRead;
        left -= bytesRead;
        t.sent += bytesRead;
        this.sent += bytesRead;
        host.bodySent(bytesRead, segment);
        i ^= 1;
      }
      await Promise.all(inFlight);
    } finally {
      this.current = undefined;
    }
  }
}
