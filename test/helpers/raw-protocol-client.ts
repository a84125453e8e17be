/**
 * A bare data-protocol client for tests that must say things the fetcher never would: it opens a
 * real socket (plain or TLS, from any loopback source address), keeps every byte the server sends,
 * and parses them back into frames, so a test can check both what was answered and that the
 * stream stayed well formed.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  authMac, decodeResponseHeader, decodeServerHello, encodeClientHello, encodeRequest, PROTOCOL_VERSION, Request,
  RESPONSE_HEADER_SIZE, ResponseHeader, SERVER_HELLO_SIZE, ServerFlags, ServerHello,
} from '@msd/common';

export interface RawConnectOptions {
  port: number;
  host?: string;
  /** Source address, e.g. 127.0.0.7, so one test can look like many clients (plain TCP only). */
  localAddress?: string;
  /** TLS options (ca, cert, key...); plain TCP when omitted. */
  tls?: tls.ConnectionOptions;
  /** Stop keeping received bytes beyond this many (they are still counted). */
  keepBytes?: number;
  connectTimeoutMs?: number;
  /** Keep our side open after the server ends its side (a peer that never closes). */
  allowHalfOpen?: boolean;
}

export interface Frame {
  header: ResponseHeader;
  body: Buffer;
}

export interface ParsedStream {
  greeting?: ServerHello;
  frames: Frame[];
  /** Bytes at the end that do not (yet) make a whole frame. */
  trailing: number;
  /** Set when the bytes are not a valid greeting + frame sequence. */
  error?: string;
}

/** Parses what a server sent on one connection: the greeting, then response frames. */
export function parseServerStream(buf: Buffer): ParsedStream {
  const out: ParsedStream = { frames: [], trailing: 0 };
  if (buf.length < SERVER_HELLO_SIZE) {
    out.trailing = buf.length;
    return out;
  }
  try {
    out.greeting = decodeServerHello(buf);
  } catch (err) {
    out.error = `greeting: ${(err as Error).message}`;
    return out;
  }
  let at = SERVER_HELLO_SIZE;
  while (at + RESPONSE_HEADER_SIZE <= buf.length) {
    let header: ResponseHeader;
    try {
      header = decodeResponseHeader(buf, at);
    } catch (err) {
      out.error = `frame at byte ${at}: ${(err as Error).message}`;
      return out;
    }
    if (at + RESPONSE_HEADER_SIZE + header.length > buf.length) break;
    out.frames.push({ header, body: buf.subarray(at + RESPONSE_HEADER_SIZE, at + RESPONSE_HEADER_SIZE + header.length) });
    at += RESPONSE_HEADER_SIZE + header.length;
  }
  out.trailing = buf.length - at;
  return out;
}

export interface CloseInfo {
  /** ms from connect to close */
  afterMs: number;
  hadError: boolean;
  errorCode?: string;
}

export class RawConnection {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** All bytes received, kept or not. */
  receivedBytes = 0;
  readonly openedAt = Date.now();
  readonly closed: Promise<CloseInfo>;
  isClosed = false;
  private waiters: Array<() => void> = [];
  private lastError: NodeJS.ErrnoException | undefined;

  private constructor(readonly socket: net.Socket, private readonly keepBytes: number) {
    socket.on('data', (d: Buffer) => {
      this.receivedBytes += d.length;
      if (this.kept < this.keepBytes) {
        const take = d.subarray(0, this.keepBytes - this.kept);
        this.chunks.push(Buffer.from(take));
        this.kept += take.length;
      }
      this.wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => { this.lastError = err; });
    this.closed = new Promise((resolve) => {
      socket.on('close', (hadError) => {
        this.isClosed = true;
        this.wake();
        resolve({ afterMs: Date.now() - this.openedAt, hadError, errorCode: this.lastError?.code });
      });
    });
  }

  /** Connects (and for TLS completes the TLS handshake); rejects on connection errors. */
  static open(o: RawConnectOptions): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const host = o.host ?? '127.0.0.1';
      const socket = o.tls
        ? tls.connect({ host, port: o.port, ...o.tls })
        : net.connect({ host, port: o.port, localAddress: o.localAddress, allowHalfOpen: o.allowHalfOpen });
      const conn = new RawConnection(socket, o.keepBytes ?? 16 << 20);
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`connect to ${host}:${o.port} timed out`)); }, o.connectTimeoutMs ?? 5000);
      const onErr = (err: Error): void => { clearTimeout(timer); reject(err); };
      socket.once('error', onErr);
      socket.once(o.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onErr);
        resolve(conn);
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Every byte kept so far. */
  data(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  parsed(): ParsedStream {
    return parseServerStream(this.data());
  }

  /** Resolves once `pred` holds (checked on every arrival and at close); rejects after timeoutMs. */
  waitUntil(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (pred()) { clearTimeout(timer); resolve(); return; }
        if (this.isClosed) { clearTimeout(timer); reject(new Error(`connection closed before ${what}; received ${this.receivedBytes} bytes`)); return; }
        this.waiters.push(check);
      };
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${this.receivedBytes} bytes`)), timeoutMs);
      check();
    });
  }

  async greeting(timeoutMs = 5000): Promise<ServerHello> {
    await this.waitUntil(() => this.kept >= SERVER_HELLO_SIZE, 'the server greeting', timeoutMs);
    return decodeServerHello(this.data());
  }

  /** Reads the greeting and answers with a client hello, proving `token` when the server asks. */
  async handshake(token?: string, timeoutMs = 5000): Promise<ServerHello> {
    const h = await this.greeting(timeoutMs);
    const auth = token && h.flags & ServerFlags.AUTH_REQUIRED ? authMac(token, h.nonce) : Buffer.alloc(0);
    this.send(encodeClientHello({ version: PROTOCOL_VERSION, flags: 0, auth, traceparent: '' }));
    return h;
  }

  send(b: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(b);
  }

  request(r: Request): void {
    this.send(encodeRequest(r));
  }

  /** Waits until `n` complete frames arrived after the greeting. */
  async frames(n: number, timeoutMs = 5000): Promise<Frame[]> {
    await this.waitUntil(() => this.parsed().frames.length >= n, `${n} response frame(s)`, timeoutMs);
    return this.parsed().frames;
  }

  /** True when the server closed the connection within timeoutMs. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); }),
    ]);
    clearTimeout(timer);
    return r;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
