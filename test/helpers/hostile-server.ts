/**
 * A segment server (protocol v1, docs/protocol.md) that lists and serves whatever names a test
 * gives it, byte for byte, including names no real server would list (`../x`, `/abs`, NUL,
 * backslashes, invalid UTF-8): for tests of the fetcher's client-side path safety, which must not
 * trust a server to keep it inside its output directory. Directory mode only (the empty name gets
 * NEEDS_NAME); no authentication, no TLS, no limits. Frames come from the codec in @msd/common
 * wherever it can express them; names go on the wire as raw bytes, which the codec would refuse.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import {
  contentIdentity, decodeClientHello, DIGEST_SIZE, encodeInfoBody, encodeListPage, encodeResponseHeader, encodeServerHello,
  errorResponse, MAX_DIGESTS_PER_INFO, PROTOCOL_VERSION, ProtocolError, readU64, REQUEST_HEADER_SIZE, RequestType,
  segmentRange, Status, writeU64,
} from '@msd/common';

export interface HostileFile {
  /** The name as listed and looked up; a Buffer goes on the wire as is (e.g. invalid UTF-8). */
  name: string | Buffer;
  content: Buffer;
}

export interface HostileServerOptions {
  files: HostileFile[];
  /** Piece size announced by INFO (default 64 KiB; the fetcher accepts 4 KiB .. 16 MiB). */
  pieceSize?: number;
  serverId?: number;
  serverCount?: number;
}

export interface HostileServer {
  port: number;
  /** Every request received, in order, with its name as raw bytes. */
  requests: Array<{ type: number; name: Buffer }>;
  close(): Promise<void>;
}

/** A served file with what INFO says about it, computed once. */
interface Served {
  name: Buffer;
  content: Buffer;
  digests: Buffer;
  contentId: Buffer;
}

const DEFAULT_PIECE = 64 * 1024;

export async function startHostileServer(o: HostileServerOptions): Promise<HostileServer> {
  const pieceSize = o.pieceSize ?? DEFAULT_PIECE;
  const served = o.files.map((f) => index(typeof f.name === 'string' ? Buffer.from(f.name, 'utf8') : f.name, f.content, pieceSize));
  const byName = new Map(served.map((s) => [s.name.toString('latin1'), s]));
  // the listing order of a real server: by the bytes of the names
  const listing = encodeListing([...served].sort((x, y) => Buffer.compare(x.name, y.name)));
  const requests: HostileServer['requests'] = [];
  const sockets = new Set<net.Socket>();
  const greeting = { version: PROTOCOL_VERSION, flags: 0, serverId: o.serverId ?? 0, numServers: o.serverCount ?? 1 };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.write(encodeServerHello({ ...greeting, nonce: randomBytes(16) }));
    let helloDone = false;
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      try {
        if (!helloDone) {
          const h = decodeClientHello(buf);
          if (!h) return;
          helloDone = true;
          buf = buf.subarray(h.size);
        }
        // requests in the order they came, each answered whole before the next: responses in order
        for (;;) {
          const r = takeRequest(buf);
          if (!r) return;
          buf = buf.subarray(r.size);
          requests.push({ type: r.type, name: r.name });
          for (const part of answer(r, byName, listing, pieceSize, greeting)) socket.write(part);
        }
      } catch (err) {
        // a frame we cannot parse: fatal, as a real server does (id 0, then close)
        const status = err instanceof ProtocolError ? err.status : Status.BAD_REQUEST;
        socket.end(errorResponse(RequestType.INFO, 0, status, (err as Error).message));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

function index(name: Buffer, content: Buffer, pieceSize: number): Served {
  const count = Math.ceil(content.length / pieceSize);
  const digests = Buffer.alloc(count * DIGEST_SIZE);
  for (let p = 0; p < count; p++) {
    createHash('sha256').update(content.subarray(p * pieceSize, (p + 1) * pieceSize)).digest().copy(digests, p * DIGEST_SIZE);
  }
  return { name, content, digests, contentId: contentIdentity(content.length, pieceSize, digests) };
}

/** LIST entries as wire records (`u16 m`, the raw name bytes, `u64 size`), for encodeListPage. */
function encodeListing(files: Served[]): Buffer[] {
  return files.map((f) => {
    const rec = Buffer.alloc(2 + f.name.length + 8);
    rec.writeUInt16BE(f.name.length, 0);
    f.name.copy(rec, 2);
    writeU64(rec, f.content.length, 2 + f.name.length);
    return rec;
  });
}

interface RawRequest { type: number; id: number; a: number; b: number; name: Buffer; size: number }

/** One request header and its name, read without decodeRequest's UTF-8 check (names are bytes here). */
function takeRequest(buf: Buffer): RawRequest | undefined {
  if (buf.length < REQUEST_HEADER_SIZE) return undefined;
  const size = REQUEST_HEADER_SIZE + buf.readUInt16BE(2);
  if (buf.length < size) return undefined;
  return { type: buf.readUInt8(0), id: buf.readUInt32BE(4), a: readU64(buf, 8), b: readU64(buf, 16), name: Buffer.from(buf.subarray(REQUEST_HEADER_SIZE, size)), size };
}

/** The response to one request, as the buffers to write. */
function answer(r: RawRequest, byName: Map<string, Served>, listing: Buffer[], pieceSize: number, g: { serverId: number; numServers: number }): Buffer[] {
  const type = r.type as RequestType;
  const ok = (offset: number, length: number): Buffer => encodeResponseHeader({ type, status: Status.OK, id: r.id, offset, length });
  const refuse = (status: Status, message: string): Buffer[] => [errorResponse(type, r.id, status, message)];
  if (type === RequestType.LIST) {
    const body = encodeListPage(listing, Math.min(r.a, listing.length));
    return [ok(listing.length, body.length), body];
  }
  if (type !== RequestType.INFO && type !== RequestType.GET && type !== RequestType.SEGMENT) return refuse(Status.BAD_REQUEST, `unknown request type ${r.type}`);
  if (r.name.length === 0) return refuse(Status.NEEDS_NAME, 'this server serves a directory: name a file (fetcher --file NAME)');
  const f = byName.get(r.name.toString('latin1'));
  if (!f) return refuse(Status.NOT_FOUND, `no such file: ${JSON.stringify(r.name.toString('utf8'))}`);
  const size = f.content.length;
  if (type === RequestType.INFO) {
    const count = f.digests.length / DIGEST_SIZE;
    if (r.a > count) return refuse(Status.OUT_OF_RANGE, `first digest ${r.a} is past the last piece (${count} pieces)`);
    const n = Math.min(r.b, MAX_DIGESTS_PER_INFO, count - r.a);
    const digests = f.digests.subarray(r.a * DIGEST_SIZE, (r.a + n) * DIGEST_SIZE);
    // the codec writes the name as UTF-8: encode without it, then put the raw bytes in its place
    const noName = encodeInfoBody({ size, pieceSize, pieceCount: count, serverId: g.serverId, numServers: g.numServers, contentId: f.contentId, name: '', firstDigest: r.a, digests });
    const head = Buffer.from(noName.subarray(0, 66));
    head.writeUInt16BE(f.name.length, 64);
    const body = Buffer.concat([head, f.name, digests]);
    return [ok(0, body.length), body];
  }
  let range: { offset: number; length: number };
  if (type === RequestType.SEGMENT) {
    try {
      range = segmentRange(size, r.a, r.b);
    } catch (err) {
      return refuse(Status.OUT_OF_RANGE, (err as Error).message);
    }
  } else {
    if (r.a + r.b > size) return refuse(Status.OUT_OF_RANGE, `range ${r.a}+${r.b} is past the end of the file (${size} bytes)`);
    range = { offset: r.a, length: r.b };
  }
  return [ok(range.offset, range.length), f.content.subarray(range.offset, range.offset + range.length)];
}
