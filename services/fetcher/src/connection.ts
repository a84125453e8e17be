/**
 * One connection to one segment server: greeting, handshake, pipelined requests whose responses
 * come back in order. The socket receives into one reused buffer (`onread`), and GET bodies are
 * handed to the sink as slices of it: no allocation or copy per chunk on the data path. The sink
 * must consume the slice synchronously (the buffer is reused as soon as it returns).
 *
 * (Over 300 lines: the greeting, the handshake and the response parser are one byte-level state
 * machine over the same buffers; the codec itself is protocol.ts, the peer sniffing peer-sniff.ts.)
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  authMac, decodeInfoBody, decodeListBody, decodeResponseHeader, decodeServerHello,
  encodeClientHello, encodeRequest, FileInfo, ListEntry, maxBodyFor, PROTOCOL_VERSION, ProtocolError,
  RequestType, RESPONSE_HEADER_SIZE, SERVER_HELLO_SIZE, SERVER_MAGIC, ServerFlags, ServerHello, Status,
  isConnectionLimit, type ClientTlsMaterial,
} from '@msd/common';
import { classify, ConnectionError, RemoteError } from './failure';
import { SILENT_PEER_PROBE, sniffPeer } from './peer-sniff';
import type { ServerAddress } from './server-address';

export { ConnectionError, RemoteError };

/**
 * What a fatal frame (a server turning the connection away) means. Only a version the server does
 * not speak is a protocol mismatch; a handshake timeout or an internal error may pass.
 */
const FATAL_FRAME_REASON: Partial<Record<Status, ConnectionError['reason']>> = {
  [Status.AUTH_FAILED]: 'auth',
  [Status.UNSUPPORTED_VERSION]: 'protocol',
};

/** How long a silent peer gets to answer the probe before it counts as silent. */
const PROBE_ANSWER_MS = 1000;

export interface GetRequest<T> {
  id: number;
  offset: number;
  length: number;
  received: number;
  ctx: T;
}

export interface BodySink<T> {
  /** Bytes buf[start, end) are the response body for req at file position `pos`. Synchronous. */
  onBody(req: GetRequest<T>, buf: Buffer, start: number, end: number, pos: number): void;
  onDone(req: GetRequest<T>): void;
  onFailed(req: GetRequest<T>, err: Error): void;
}

type Pending<T> =
  | { kind: 'get'; type: RequestType; req: GetRequest<T> }
  | { kind: 'call'; type: RequestType; id: number; resolve: (body: Buffer, offset: number) => void; reject: (e: Error) => void };

export interface ConnectionOptions {
  token?: string;
  traceparent?: string;
  connectTimeoutMs: number;
  readBufferSize: number;
  /** TLS: trust anchors, optional client certificate (mutual TLS), optional name to verify. */
  tls?: ClientTlsMaterial;
  /**
   * Where the socket reads into (plain TCP only): a ring that a hashing thread reads from. Without
   * it, one private buffer of readBufferSize is reused.
   */
  ring?: ReceiveRing;
}

/** Receive memory handed out slice by slice; `consumed` says a read was processed, false = pause. */
export interface ReceiveRing {
  next(): Buffer;
  consumed(n: number): boolean;
  /** Calls back once there is room to read again after consumed() returned false. */
  whenRoom(cb: () => void): void;
}

const TLS_VERIFY_CODES = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ECONNRESET_TLS']);

export class ServerConnection<T> {
  private socket: net.Socket | undefined;
  private readonly rbuf: Buffer;
  private readonly header = Buffer.alloc(Math.max(RESPONSE_HEADER_SIZE, SERVER_HELLO_SIZE));
  private headerHave = 0;
  private greeting: ServerHello | undefined;
  private readonly pending: Array<Pending<T>> = [];
  private current: Pending<T> | undefined;
  private bodyLeft = 0;
  private bodyBuf: Buffer | undefined;
  private bodyHave = 0;
  private bodyStatus = Status.OK;
  /** The offset field of the response being read (LIST: the server's total entry count). */
  private bodyOffset = 0;
  private nextId = 1;
  private dead: Error | undefined;
  lastByteAt = 0;
  bytesReceived = 0;
  private onCloseCb: ((err: Error) => void) | undefined;

  constructor(readonly addr: ServerAddress, private readonly sink: BodySink<T>, private readonly opts: ConnectionOptions) {
    this.rbuf = opts.tls || opts.ring ? Buffer.alloc(0) : Buffer.allocUnsafe(opts.readBufferSize);
  }

  get hello(): ServerHello | undefined {
    return this.greeting;
  }
  get inFlight(): number {
    return this.pending.length + (this.current ? 1 : 0);
  }
  get closed(): boolean {
    return this.dead !== undefined;
  }
  onClose(cb: (err: Error) => void): void {
    this.onCloseCb = cb;
  }

  connect(): Promise<ServerHello> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const silent = (): void => fail(new ConnectionError(`${this.addr.label}: no greeting within ${this.opts.connectTimeoutMs} ms; a segment server greets at once: check the address and port, and that the server is not stopped or overloaded`, 'timeout'));
      // silent past the timeout: send a TLS ClientHello, which an HTTP or TLS server (both wait for
      // the client) answers in a way that names it
      let probed = false;
      let timer = setTimeout(() => {
        if (!this.socket || this.socket.destroyed || this.opts.tls) { silent(); return; }
        probed = true;
        this.socket.write(SILENT_PEER_PROBE);
        timer = setTimeout(silent, PROBE_ANSWER_MS);
      }, this.opts.connectTimeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        if (!settled) { settled = true; reject(err); }
        this.destroy(err);
      };
      this.greetingWaiter = (h) => {
        // a segment server that greets after the probe went out has read the probe as our hello:
        // the connection is spoiled, but the server is real and only slow (retryable)
        if (probed) { silent(); return; }
        clearTimeout(timer);
        settled = true;
        if ((h.flags & ServerFlags.AUTH_REQUIRED) && !this.opts.token) {
          const e = new ConnectionError(`${this.addr.label} requires a token; give --token or --token-file`, 'auth');
          reject(e);
          this.destroy(e);
          return;
        }
        const auth = h.flags & ServerFlags.AUTH_REQUIRED && this.opts.token ? authMac(this.opts.token, h.nonce) : Buffer.alloc(0);
        this.socket!.write(encodeClientHello({ version: PROTOCOL_VERSION, flags: 0, auth, traceparent: this.opts.traceparent ?? '' }));
        resolve(h);
      };
      this.greetingFailer = fail;
      const t = this.opts.tls;
      let s: net.Socket;
      if (t) {
        // TLS sockets do not take `onread`: chunks arrive as 'data' buffers, parsed the same way
        s = tls.connect({
          host: this.addr.host, port: this.addr.port, ca: t.ca, cert: t.cert, key: t.key, minVersion: 'TLSv1.2',
          servername: t.servername ?? (net.isIP(this.addr.host) ? undefined : this.addr.host),
        });
        s.setNoDelay(true);
        s.on('data', (d: Buffer) => this.onRead(d.length, d));
      } else {
        const ring = this.opts.ring!;
        s = net.connect({
          host: this.addr.host,
          port: this.addr.port,
          noDelay: true,
          onread: this.opts.ring ? { buffer: () => ring.next(), callback: (n: number, buf: Uint8Array) => this.onRingRead(n, buf as Buffer) } : { buffer: this.rbuf, callback: (n: number, buf: Uint8Array) => { this.onRead(n, buf as Buffer); return true; } },
        });
      }
      this.socket = s;
      s.on('error', (err: NodeJS.ErrnoException) => {
        const reason = err.code === 'ECONNREFUSED' ? 'refused' : t && (TLS_VERIFY_CODES.has(err.code ?? '') || /certificate|alert|ssl/i.test(err.message)) ? 'tls' : 'error';
        if (reason === 'tls') {
          (settled ? (e: Error) => this.destroy(e) : fail)(new ConnectionError(`${this.addr.label}: TLS failed: ${err.code ?? ''} ${err.message}; check --tls-ca (and --tls-cert/--tls-key when the server requires a client certificate)`, 'tls'));
          return;
        }
        (settled ? (e: Error) => this.destroy(e) : fail)(reason === 'refused' ? new ConnectionError(`${this.addr.label}: connection refused`, 'refused', { cause: err }) : classify(err, this.addr.label));
      });
      let tlsUp = false;
      s.on('secureConnect', () => { tlsUp = true; });
      s.on('close', () => {
        if (t && tlsUp && this.bytesReceived === 0 && !this.greeting) {
          // a TLS server that refuses a client certificate may just close after the handshake
          this.destroy(new ConnectionError(`${this.addr.label}: the server closed the connection right after the TLS handshake: it does not accept this client certificate (--tls-cert/--tls-key must chain to its --tls-client-ca)`, 'tls'));
          return;
        }
        if (!this.greeting && this.headerHave > 0) {
          this.destroy(this.notSegmentServer(this.header.subarray(0, this.headerHave), 'closed the connection'));
          return;
        }
        this.destroy(new ConnectionError(`${this.addr.label}: connection closed by server`, 'closed'));
      });
    });
  }
  private greetingWaiter: ((h: ServerHello) => void) | undefined;
  private greetingFailer: ((e: Error) => void) | undefined;

  /** The peer's first bytes are not a segment server's greeting: say what they look like. */
  private notSegmentServer(first: Buffer, detail: string): ConnectionError {
    const peer = sniffPeer(first);
    if (peer.kind === 'tls' && !this.opts.tls) {
      return new ConnectionError(`${this.addr.label} speaks TLS: add --tls (and --tls-ca with the CA of its certificate)`, 'tls');
    }
    return new ConnectionError(`${this.addr.label}: not a segment server (it looks like ${peer.description}; ${detail}); check the port`, 'protocol');
  }

  info(name: string, first: number, max: number): Promise<FileInfo> {
    return this.call(RequestType.INFO, name, first, max).then((b) => decodeInfoBody(b));
  }
  /** The first page of the listing (all of it when it fits in one LIST body). */
  list(): Promise<ListEntry[]> {
    return this.listPage(0).then((p) => p.entries);
  }
  /** The entries from index `first` of the server's sorted listing, and how many it lists in all. */
  listPage(first: number): Promise<{ entries: ListEntry[]; total: number }> {
    return this.callWithOffset(RequestType.LIST, '', first, 0).then(({ body, offset }) => ({ entries: decodeListBody(body), total: offset }));
  }

  get(name: string, offset: number, length: number, ctx: T): GetRequest<T> {
    const req: GetRequest<T> = { id: this.nextId++, offset, length, received: 0, ctx };
    if (this.dead) {
      const err = this.dead;
      queueMicrotask(() => this.sink.onFailed(req, err));
      return req;
    }
    this.pending.push({ kind: 'get', type: RequestType.GET, req });
    this.socket!.write(encodeRequest({ type: RequestType.GET, id: req.id, a: offset, b: length, name }));
    return req;
  }

  private call(type: RequestType, name: string, a: number, b: number): Promise<Buffer> {
    return this.callWithOffset(type, name, a, b).then((r) => r.body);
  }
  /** A request answered by a whole body, with the header's offset field (LIST carries its total there). */
  private callWithOffset(type: RequestType, name: string, a: number, b: number): Promise<{ body: Buffer; offset: number }> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      const id = this.nextId++;
      this.pending.push({ kind: 'call', type, id, resolve: (body, offset) => resolve({ body, offset }), reject });
      this.socket!.write(encodeRequest({ type, id, a, b, name }));
    });
  }

  destroy(err: Error = new ConnectionError(`${this.addr.label}: closed`, 'closed')): void {
    if (this.dead) return;
    this.dead = err;
    this.socket?.destroy();
    const all = this.current ? [this.current, ...this.pending] : [...this.pending];
    this.current = undefined;
    this.pending.length = 0;
    if (!this.greeting && this.greetingFailer) this.greetingFailer(err);
    for (const p of all) {
      if (p.kind === 'get') this.sink.onFailed(p.req, err);
      else p.reject(err);
    }
    this.onCloseCb?.(err);
  }

  // ---- receive path ----
  /** A read into the ring: parse it, then tell the ring; pause the socket while the ring is full. */
  private onRingRead(n: number, buf: Buffer): boolean {
    this.onRead(n, buf);
    if (this.opts.ring!.consumed(n) || this.dead) return true;
    const s = this.socket!;
    this.opts.ring!.whenRoom(() => { if (!this.dead) s.resume(); });
    return false;
  }

  private onRead(n: number, buf: Buffer): void {
    if (this.dead) return;
    this.lastByteAt = performance.now();
    this.bytesReceived += n;
    try {
      let at = 0;
      while (at < n && !this.dead) at = this.step(buf, at, n);
    } catch (err) {
      const e = err instanceof ProtocolError ? new ConnectionError(`${this.addr.label}: ${this.greeting ? 'protocol error: ' : ''}${err.message}`, 'protocol', { cause: err }) : classify(err, this.addr.label);
      this.destroy(e);
    }
  }

  /** Consumes bytes from buf[at, n) for the current parse state; returns the new position. */
  private step(buf: Buffer, at: number, n: number): number {
    if (!this.greeting) {
      const take = Math.min(SERVER_HELLO_SIZE - this.headerHave, n - at);
      buf.copy(this.header, this.headerHave, at, at + take);
      this.headerHave += take;
      // the magic decides at once: a peer that sends a few wrong bytes and waits is named now
      if (this.headerHave >= 4 && this.header.readUInt32BE(0) !== SERVER_MAGIC) {
        throw this.notSegmentServer(this.header.subarray(0, this.headerHave), 'bad magic in greeting');
      }
      if (this.headerHave === SERVER_HELLO_SIZE) {
        this.headerHave = 0;
        this.greeting = decodeServerHello(this.header);
        this.greetingWaiter?.(this.greeting);
      }
      return at + take;
    }
    if (this.current && this.bodyLeft > 0) {
      const take = Math.min(this.bodyLeft, n - at);
      const cur = this.current;
      if (cur.kind === 'get' && this.bodyStatus === Status.OK) {
        const pos = cur.req.offset + cur.req.received;
        cur.req.received += take;
        this.bodyLeft -= take;
        this.sink.onBody(cur.req, buf, at, at + take, pos);
      } else {
        buf.copy(this.bodyBuf!, this.bodyHave, at, at + take);
        this.bodyHave += take;
        this.bodyLeft -= take;
      }
      if (this.bodyLeft === 0) this.finish();
      return at + take;
    }
    const take = Math.min(RESPONSE_HEADER_SIZE - this.headerHave, n - at);
    buf.copy(this.header, this.headerHave, at, at + take);
    this.headerHave += take;
    if (this.headerHave < RESPONSE_HEADER_SIZE) return at + take;
    this.headerHave = 0;
    const h = decodeResponseHeader(this.header);
    const p = this.pending.shift();
    if (!p) {
      // an unsolicited error frame (e.g. handshake refused) carries id 0
      if (h.status !== Status.OK && h.id === 0) {
        this.current = { kind: 'call', type: h.type, id: 0, resolve: () => undefined, reject: () => undefined };
        return this.beginBody(h.status, h.length, at + take, true);
      }
      throw new ProtocolError(Status.BAD_REQUEST, `response ${h.id} to no request`);
    }
    const pid = p.kind === 'get' ? p.req.id : p.id;
    if (h.id !== pid) {
      if (h.id === 0 && h.status !== Status.OK) {
        this.pending.unshift(p);
        this.current = { kind: 'call', type: h.type, id: 0, resolve: () => undefined, reject: () => undefined };
        return this.beginBody(h.status, h.length, at + take, true);
      }
      throw new ProtocolError(Status.BAD_REQUEST, `response id ${h.id} out of order (expected ${pid})`);
    }
    this.current = p;
    this.bodyOffset = h.offset;
    if (p.kind === 'get' && h.status === Status.OK && (h.offset !== p.req.offset || h.length !== p.req.length)) {
      throw new ProtocolError(Status.BAD_REQUEST, `server answered range ${h.offset}+${h.length} to a request for ${p.req.offset}+${p.req.length}`);
    }
    return this.beginBody(h.status, h.length, at + take, false);
  }

  private fatalFrame = false;
  private beginBody(status: Status, length: number, at: number, fatal: boolean): number {
    const cur = this.current!;
    this.bodyStatus = status;
    this.fatalFrame = fatal;
    const limit = maxBodyFor(cur.type, status);
    if (length > limit) throw new ProtocolError(Status.BAD_REQUEST, `response body of ${length} bytes exceeds the ${limit}-byte limit`);
    this.bodyLeft = length;
    if (!(cur.kind === 'get' && status === Status.OK)) {
      this.bodyBuf = Buffer.allocUnsafe(length);
      this.bodyHave = 0;
    }
    if (length === 0) this.finish();
    return at;
  }

  private finish(): void {
    const cur = this.current!;
    this.current = undefined;
    const body = this.bodyBuf;
    this.bodyBuf = undefined;
    if (this.bodyStatus !== Status.OK) {
      const err = new RemoteError(this.bodyStatus, `${this.addr.label}: ${Status[this.bodyStatus]}: ${body?.toString('utf8') ?? ''}`);
      if (this.fatalFrame) {
        const status = this.bodyStatus;
        this.destroy(isConnectionLimit(status)
          ? new ConnectionError(`${this.addr.label} is at its connection limit (${status === Status.CONNECTION_LIMIT ? '--max-connections' : '--max-connections-per-client'}): ${body?.toString('utf8') ?? ''}; retrying, or lower --connections-per-server`, 'busy')
          : new ConnectionError(err.message, FATAL_FRAME_REASON[status] ?? 'error'));
        return;
      }
      if (cur.kind === 'get') this.sink.onFailed(cur.req, err);
      else cur.reject(err);
      return;
    }
    if (cur.kind === 'get') this.sink.onDone(cur.req);
    else cur.resolve(body ?? Buffer.alloc(0), this.bodyOffset);
  }
}

