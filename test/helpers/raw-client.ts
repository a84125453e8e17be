/**
 * A minimal client of the segment protocol, written for tests from the codec in @msd/common and
 * nothing of the fetcher: it sends any request (including ones the fetcher would never send, such
 * as names that try to leave the served directory) and returns the raw response header and body.
 * Bodies are collected in memory: use it for small files only.
 */
import * as net from 'node:net';
import {
  decodeResponseHeader, decodeServerHello, encodeClientHello, encodeRequest, PROTOCOL_VERSION, RequestType,
  RESPONSE_HEADER_SIZE, ResponseHeader, SERVER_HELLO_SIZE, ServerHello,
} from '@msd/common';

export interface RawResponse { header: ResponseHeader; body: Buffer }

interface Waiter { resolve: (r: RawResponse) => void; reject: (e: Error) => void }

export class RawClient {
  private buffered = Buffer.alloc(0);
  private hello: ServerHello | undefined;
  private readonly waiters: Waiter[] = [];
  private nextId = 1;
  private failure: Error | undefined;
  /** Every byte the server sent on this connection (to search for leaked content). */
  received = Buffer.alloc(0);

  private constructor(private readonly socket: net.Socket, private readonly onHello: (h: ServerHello) => void) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed by server')));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const c: RawClient = new RawClient(socket, () => resolve(c));
      socket.once('error', reject);
    });
  }

  get serverHello(): ServerHello {
    if (!this.hello) throw new Error('no greeting yet');
    return this.hello;
  }

  /** Sends one request; responses arrive in request order. */
  request(type: RequestType, name: string, a = 0, b = 0): Promise<RawResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.socket.write(encodeRequest({ type, id: this.nextId++, a, b, name }));
    });
  }

  /** Sends bytes as they are (for frames the codec would refuse to build). */
  writeRaw(bytes: Buffer): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.received = Buffer.concat([this.received, d]);
    this.buffered = Buffer.concat([this.buffered, d]);
    if (!this.hello) {
      if (this.buffered.length < SERVER_HELLO_SIZE) return;
      this.hello = decodeServerHello(this.buffered.subarray(0, SERVER_HELLO_SIZE));
      this.buffered = this.buffered.subarray(SERVER_HELLO_SIZE);
      this.socket.write(encodeClientHello({ version: PROTOCOL_VERSION, flags: 0, auth: Buffer.alloc(0), traceparent: '' }));
      this.onHello(this.hello);
    }
    while (this.buffered.length >= RESPONSE_HEADER_SIZE) {
      const header = decodeResponseHeader(this.buffered);
      const end = RESPONSE_HEADER_SIZE + header.length;
      if (this.buffered.length < end) return;
      const body = Buffer.from(this.buffered.subarray(RESPONSE_HEADER_SIZE, end));
      this.buffered = this.buffered.subarray(end);
      this.waiters.shift()?.resolve({ header, body });
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }
}
