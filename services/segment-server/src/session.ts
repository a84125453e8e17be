/**
 * One client connection: greeting, handshake, then pipelined requests answered in order.
 * Reads the file in bounded chunks into two reused buffers and writes with backpressure, so a
 * connection holds at most two chunks however large the range. Any malformed input ends the
 * connection with an error frame; nothing a client sends can throw out of here.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import {
  decodeClientHello, decodeRequest, encodeInfoBody, encodeListBody, encodeResponseHeader, encodeServerHello,
  errorResponse, MAX_DIGESTS_PER_INFO, NONCE_SIZE, PROTOCOL_VERSION, ProtocolError, Request, RequestType,
  segmentRange, ServerFlags, Status, verifyAuthMac, DIGEST_SIZE, REQUEST_HEADER_SIZE, MAX_NAME_BYTES,
  contextFromTraceparent, endSpan, SPAN, SPAN_ATTR, startSpan, tracingEnabled,
} from '@msd/common';
import type { Span } from '@opentelemetry/api';
import type { Listener } from './listener';
import type { CatalogEntry } from './catalog';

const readAsync = promisify(fs.read);
export const CHUNK_SIZE = 1024 * 1024;
const MAX_PENDING_INPUT = REQUEST_HEADER_SIZE + MAX_NAME_BYTES;
const KIND: Record<RequestType, 'info' | 'get' | 'segment' | 'list'> = {
  [RequestType.INFO]: 'info', [RequestType.GET]: 'get', [RequestType.SEGMENT]: 'segment', [RequestType.LIST]: 'list',
};

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

  constructor(private readonly socket: Socket, private readonly owner: Listener, readonly address: string) {
    this.client = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    this.handshakeTimer = setTimeout(() => {
      owner.limit('handshake_timeout', this.client);
      this.fail(RequestType.INFO, 0, new ProtocolError(Status.BAD_REQUEST, 'handshake timeout'));
    }, owner.options.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    if (owner.options.idleTimeoutMs > 0) {
      // no bytes either way for this long: a silent client, or one that stopped reading
      socket.setTimeout(owner.options.idleTimeoutMs, () => {
        owner.limit('idle_timeout', this.client);
        this.close();
      });
    }
    socket.write(encodeServerHello({
      version: PROTOCOL_VERSION,
      flags: owner.options.token ? ServerFlags.AUTH_REQUIRED : 0,
      nonce: this.nonce,
      serverId: owner.serverId,
      numServers: owner.options.numServers,
    }));
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
    this.owner.sessionClosed(this);
  }

  /** Ends the connection once queued work is done (drain). */
  endWhenIdle(): void {
    if (this.idle) this.socket.end();
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    this.input = this.input.length ? Buffer.concat([this.input, d]) : d;
    try {
      if (!this.handshaken) {
        const h = decodeClientHello(this.input);
        if (!h) return this.checkPending();
        this.input = this.input.subarray(h.size);
        const token = this.owner.options.token;
        if (token && !verifyAuthMac(token, this.nonce, h.hello.auth)) {
          this.owner.events.authFailure(this.owner.serverId, 'data');
          this.owner.events.connectionRefused(this.owner.serverId, 'auth');
          throw new ProtocolError(Status.AUTH_FAILED, h.hello.auth.length ? 'authentication failed: wrong token' : 'authentication required: this server needs a token (--token or --token-file)');
        }
        this.handshaken = true;
        this.traceparent = h.hello.traceparent;
        clearTimeout(this.handshakeTimer);
      }
      for (;;) {
        if (this.input.length >= 4 && this.input.readUInt8(0) >= RequestType.INFO && this.input.readUInt8(0) <= RequestType.LIST && this.input.readUInt16BE(2) > MAX_NAME_BYTES) {
          this.owner.limit('max_request_bytes', this.client); // decodeRequest refuses it just below
        }
        const r = decodeRequest(this.input);
        if (!r) break;
        this.input = this.input.subarray(r.size);
        this.queue.push(r.request);
        if (this.queue.length > this.owner.options.maxInflight * 2) {
          this.owner.limit('max_inflight', this.client);
          throw new ProtocolError(Status.BUSY, `more than ${this.owner.options.maxInflight} requests in flight on one connection`);
        }
      }
      this.checkPending();
    } catch (err) {
      const type = this.input.length ? this.input.readUInt8(0) : 0;
      return this.fail(type >= 1 && type <= 4 ? type : RequestType.INFO, 0, err);
    }
    if (this.queue.length >= this.owner.options.maxInflight) this.socket.pause();
    void this.pump();
    this.armFrameTimer();
  }

  /**
   * A request begun but not finished while the connection has nothing else to do must complete
   * within the idle timeout. The socket timeout alone would not do: a client sending one byte a
   * second (slowloris) resets it forever.
   */
  private armFrameTimer(): void {
    const waiting = this.handshaken && !this.closed && this.input.length > 0 && this.idle && this.owner.options.idleTimeoutMs > 0;
    if (!waiting) {
      clearTimeout(this.frameTimer);
      this.frameTimer = undefined;
      return;
    }
    if (this.frameTimer) return;
    this.frameTimer = setTimeout(() => {
      this.owner.limit('request_timeout', this.client);
      this.close();
    }, this.owner.options.idleTimeoutMs);
    this.frameTimer.unref();
  }

  private checkPending(): void {
    if (this.input.length > MAX_PENDING_INPUT + 64) {
      this.owner.limit('max_request_bytes', this.client);
      throw new ProtocolError(Status.BAD_REQUEST, 'frame too large');
    }
    if (this.input.length === 0) this.input = Buffer.alloc(0);
  }

  /** Writes an error frame and closes: the stream cannot be trusted after a malformed frame. */
  private fail(type: RequestType, id: number, err: unknown): void {
    if (this.closed) return;
    const status = err instanceof ProtocolError ? err.status : Status.INTERNAL;
    const msg = err instanceof Error ? err.message : String(err);
    if (status === Status.BAD_REQUEST || status === Status.UNSUPPORTED_VERSION) this.owner.events.connectionRefused(this.owner.serverId, 'protocol');
    this.socket.end(errorResponse(type, id, status, msg));
    // `closed` is set below, so close() would do nothing here: destroy the socket itself, or a
    // peer that never closes its side (allowHalfOpen) would hold the descriptor forever, uncounted
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.frameTimer);
    this.owner.sessionClosed(this);
  }

  private async pump(): Promise<void> {
    if (this.working) return;
    this.working = true;
    try {
      while (this.queue.length && !this.closed) {
        const req = this.queue.shift()!;
        if (this.queue.length < this.owner.options.maxInflight / 2) this.socket.resume();
        await this.serve(req);
      }
    } finally {
      this.working = false;
    }
    this.armFrameTimer();
    if (this.owner.draining && this.idle && !this.closed) this.socket.end();
  }

  private async serve(req: Request): Promise<void> {
    const started = performance.now();
    const kind = KIND[req.type];
    const ev = this.owner.events;
    const sid = this.owner.serverId;
    this.owner.requests++;
    let span: Span | undefined;
    if (tracingEnabled()) {
      span = startSpan(SPAN.serverRequest, { [SPAN_ATTR.kind]: kind, [SPAN_ATTR.serverId]: sid, [SPAN_ATTR.rangeStart]: req.a, [SPAN_ATTR.rangeLength]: req.b }, this.traceparent ? contextFromTraceparent(this.traceparent) : undefined);
    }
    let outcome = 'ok';
    let failure: unknown;
    const sentBefore = this.sent;
    let sentBytes = 0;
    try {
      if (this.owner.draining && (req.type === RequestType.GET || req.type === RequestType.SEGMENT)) {
        throw new ProtocolError(Status.BUSY, 'server is draining; fetch this range from another server');
      }
      switch (req.type) {
        case RequestType.LIST: {
          const body = encodeListBody(this.owner.catalog.list().map((e) => ({ name: e.name, size: e.index.size })));
          this.socket.write(Buffer.concat([encodeResponseHeader({ type: req.type, status: Status.OK, id: req.id, offset: 0, length: body.length }), body]));
          break;
        }
        case RequestType.INFO: {
          const e = this.lookup(req.name);
          const count = e.index.grid.count;
          if (req.a > count) throw new ProtocolError(Status.OUT_OF_RANGE, `first digest ${req.a} is past the last piece (${count} pieces)`);
          const n = Math.min(req.b, MAX_DIGESTS_PER_INFO, count - req.a);
          const body = encodeInfoBody({
            size: e.index.size, pieceSize: e.index.pieceSize, pieceCount: count, serverId: sid,
            numServers: this.owner.options.numServers, contentId: e.index.contentId, name: e.name,
            firstDigest: req.a, digests: e.index.digests.subarray(req.a * DIGEST_SIZE, (req.a + n) * DIGEST_SIZE),
          });
          this.socket.write(Buffer.concat([encodeResponseHeader({ type: req.type, status: Status.OK, id: req.id, offset: 0, length: body.length }), body]));
          break;
        }
        case RequestType.GET:
        case RequestType.SEGMENT: {
          const e = this.lookup(req.name);
          let offset = req.a;
          let length = req.b;
          let segment = '';
          if (req.type === RequestType.SEGMENT) {
            ({ offset, length } = segmentRange(e.index.size, req.a, req.b));
            segment = req.b <= 64 ? String(req.a) : 'other';
          } else if (offset + length > e.index.size) {
            throw new ProtocolError(Status.OUT_OF_RANGE, `range ${offset}+${length} is past the end of ${e.name} (${e.index.size} bytes)`);
          }
          this.socket.write(encodeResponseHeader({ type: req.type, status: Status.OK, id: req.id, offset, length }));
          await this.sendRange(e, offset, length, segment);
          break;
        }
      }
      ev.request(sid, kind, 'ok', (performance.now() - started) / 1000);
    } catch (err) {
      failure = err;
      if (err instanceof ProtocolError) {
        outcome = Status[err.status].toLowerCase();
        ev.request(sid, kind, outcome, (performance.now() - started) / 1000);
        // a request-level error keeps the connection: the frame was well formed
        if (!this.closed) this.socket.write(errorResponse(req.type, req.id, err.status, err.message));
      } else {
        outcome = 'internal';
        ev.request(sid, kind, outcome, (performance.now() - started) / 1000);
        this.owner.log.error('request failed', { client: this.client, error: err instanceof Error ? err.message : String(err) });
        this.close(); // the response may be half written: the only safe thing is to end the stream
      }
    } finally {
      sentBytes = this.sent - sentBefore;
      if (span) endSpan(span, outcome, failure, { [SPAN_ATTR.bytes]: sentBytes });
    }
  }

  private lookup(name: string): CatalogEntry {
    const e = this.owner.catalog.get(name);
    if (e) return e;
    if (name === '' && this.owner.catalog.directoryMode) throw new ProtocolError(Status.NEEDS_NAME, 'this server serves a directory: name a file (fetcher --file NAME)');
    throw new ProtocolError(Status.NOT_FOUND, `no such file: ${JSON.stringify(name)}`);
  }

  private async sendRange(e: CatalogEntry, offset: number, length: number, segment: string): Promise<void> {
    const bufs = (this.bufs ??= [Buffer.allocUnsafe(CHUNK_SIZE), Buffer.allocUnsafe(CHUNK_SIZE)]);
    const inFlight: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
    const t: Transfer = { file: e.name, offset, length, sent: 0 };
    this.current = t;
    const bucket = this.owner.bucket;
    const ev = this.owner.events;
    const sid = this.owner.serverId;
    let pos = offset;
    let left = length;
    let i = 0;
    try {
      while (left > 0) {
        await inFlight[i];
        if (this.closed || this.socket.destroyed) return;
        const n = Math.min(left, CHUNK_SIZE);
        const wait = bucket.take(n);
        if (wait > 0) {
          ev.throttled(sid, wait / 1000);
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
        this.owner.bytesSent += bytesRead;
        ev.bytesSent(sid, segment, bytesRead);
        i ^= 1;
      }
      await Promise.all(inFlight);
    } finally {
      this.current = undefined;
    }
  }
}
