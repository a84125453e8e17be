/**
 * A TCP proxy in front of one segment server that understands just enough of the protocol's
 * server→client stream (greeting, then response header + body, repeated) to flip one byte of
 * file content: every GET/SEGMENT body that covers file offset `corruptAt` passes with that byte
 * inverted (or, given `{ every, at }`, every offset `at + k × every`: one byte of every piece).
 * Everything else is forwarded untouched. It counts the bytes it forwards each way.
 */
import * as net from 'node:net';
import { RESPONSE_HEADER_SIZE, RequestType, SERVER_HELLO_SIZE, Status, decodeResponseHeader } from '@msd/common';

/** One file offset, or one offset in every `every` bytes. */
export type CorruptAt = number | { every: number; at: number };

/** The offsets in [from, from + n) that are to be flipped. */
function targets(c: CorruptAt, from: number, n: number): number[] {
  if (typeof c === 'number') return c >= from && c < from + n ? [c] : [];
  const out: number[] = [];
  const first = from + ((((c.at - from) % c.every) + c.every) % c.every);
  for (let o = first; o < from + n; o += c.every) out.push(o);
  return out;
}

export interface CorruptingProxy {
  port: number;
  /** Bytes forwarded server→client so far. */
  bytesDown: () => number;
  /** How many times the byte at `corruptAt` was flipped. */
  corruptions: () => number;
  close: () => Promise<void>;
}

/** Parses the downstream stream of one connection and flips the target byte as it passes. */
class DownstreamCorrupter {
  private helloLeft = SERVER_HELLO_SIZE;
  private readonly header = Buffer.alloc(RESPONSE_HEADER_SIZE);
  private headerHave = 0;
  private bodyLeft = 0;
  private bodyFileOffset = -1; // file offset of the next body byte, -1 when the body is not file content
  flips = 0;

  constructor(private readonly corruptAt: CorruptAt) {}

  /** Rewrites `chunk` in place. */
  pass(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.helloLeft > 0) {
        const n = Math.min(this.helloLeft, chunk.length - at);
        this.helloLeft -= n;
        at += n;
      } else if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - at);
        if (this.bodyFileOffset >= 0) {
          for (const o of targets(this.corruptAt, this.bodyFileOffset, n)) {
            const i = at + (o - this.bodyFileOffset);
            chunk[i] = chunk[i] ^ 0xff;
            this.flips++;
          }
        }
        if (this.bodyFileOffset >= 0) this.bodyFileOffset += n;
        this.bodyLeft -= n;
        at += n;
      } else {
        const n = Math.min(RESPONSE_HEADER_SIZE - this.headerHave, chunk.length - at);
        chunk.copy(this.header, this.headerHave, at, at + n);
        this.headerHave += n;
        at += n;
        if (this.headerHave === RESPONSE_HEADER_SIZE) {
          this.headerHave = 0;
          const h = decodeResponseHeader(this.header);
          const content = h.status === Status.OK && (h.type === RequestType.GET || h.type === RequestType.SEGMENT);
          this.bodyLeft = h.length;
          this.bodyFileOffset = content ? h.offset : -1;
        }
      }
    }
  }
}

export async function startCorruptingProxy(targetPort: number, corruptAt: CorruptAt, targetHost = '127.0.0.1'): Promise<CorruptingProxy> {
  let down = 0;
  const parsers: DownstreamCorrupter[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: targetHost, port: targetPort });
    const parser = new DownstreamCorrupter(corruptAt);
    parsers.push(parser);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    upstream.on('data', (d: Buffer) => {
      try {
        parser.pass(d);
      } catch {
        // not our protocol any more: forward as is
      }
      down += d.length;
      if (!client.write(d)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    client.pipe(upstream);
    upstream.on('end', () => client.end());
    client.on('end', () => upstream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    bytesDown: () => down,
    corruptions: () => parsers.reduce((s, p) => s + p.flips, 0),
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
