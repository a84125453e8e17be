/**
 * The segment protocol, version 1: constants, frame layouts, and pure encoders/decoders.
 * docs/protocol.md is the byte-by-byte specification; this file is its only implementation.
 * All integers are big-endian. 64-bit fields must hold safe integers (< 2^53).
 *
 * Longer than 300 lines on purpose: it is the whole wire format in the order docs/protocol.md
 * gives it (hello, request, response, INFO, LIST), so a reader checks one against the other
 * section by section; split, each half would need the other's constants and helpers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const PROTOCOL_VERSION = 1;
export const SERVER_MAGIC = 0x4d534453; // "MSDS"
export const CLIENT_MAGIC = 0x4d534443; // "MSDC"
export const SERVER_HELLO_SIZE = 32;
export const CLIENT_HELLO_FIXED = 8;
export const NONCE_SIZE = 16;
export const AUTH_MAC_SIZE = 32;
export const MAX_TRACEPARENT = 55;
export const REQUEST_HEADER_SIZE = 24;
export const RESPONSE_HEADER_SIZE = 24;
export const MAX_NAME_BYTES = 1024;
export const MAX_ERROR_BYTES = 1024;
export const MAX_DIGESTS_PER_INFO = 32768;
export const MAX_LIST_BODY = 1 << 20;
export const MAX_INFO_BODY = 66 + MAX_NAME_BYTES + MAX_DIGESTS_PER_INFO * 32;
export const DIGEST_SIZE = 32;
/**
 * Piece sizes both programs accept: below 4 KiB the digest table outgrows its use (32 bytes per
 * piece); above 16 MiB stealing and resume get coarse. A server announcing another size is refused.
 */
export const MIN_PIECE_SIZE = 4 * 1024;
export const MAX_PIECE_SIZE = 16 * 1024 * 1024;

export const ServerFlags = { AUTH_REQUIRED: 1 } as const;

export enum RequestType {
  INFO = 1,
  GET = 2,
  SEGMENT = 3,
  LIST = 4,
}

/** The name of each request type in metrics, spans and logs: the one list of request kinds. */
export const REQUEST_KIND = {
  [RequestType.INFO]: 'info',
  [RequestType.GET]: 'get',
  [RequestType.SEGMENT]: 'segment',
  [RequestType.LIST]: 'list',
} as const satisfies Record<RequestType, string>;
export type RequestKind = (typeof REQUEST_KIND)[RequestType];
export const REQUEST_KINDS: readonly RequestKind[] = Object.values(REQUEST_KIND);

/** True for a type byte this version defines. */
export function isRequestType(t: number): t is RequestType {
  return Object.prototype.hasOwnProperty.call(REQUEST_KIND, t);
}

export enum Status {
  OK = 0,
  BAD_REQUEST = 1,
  UNSUPPORTED_VERSION = 2,
  AUTH_FAILED = 3,
  NOT_FOUND = 4,
  OUT_OF_RANGE = 5,
  BUSY = 6,
  INTERNAL = 7,
  NEEDS_NAME = 8,
  /** Fatal, sent instead of serving: the server has --max-connections connections open. */
  CONNECTION_LIMIT = 9,
  /** Fatal, sent instead of serving: this client address has --max-connections-per-client open. */
  CLIENT_CONNECTION_LIMIT = 10,
}

/** True for a status byte this version defines. */
export function isStatus(s: number): s is Status {
  return typeof Status[s] === 'string';
}

/** The statuses that mean "full now, try again later or elsewhere": not a fault of the client. */
export function isConnectionLimit(s: Status): boolean {
  return s === Status.CONNECTION_LIMIT || s === Status.CLIENT_CONNECTION_LIMIT;
}

export class ProtocolError extends Error {
  constructor(readonly status: Status, message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

// ---------- 64-bit helpers ----------
const TWO32 = 0x1_0000_0000;
export function writeU64(buf: Buffer, value: number, at: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`u64 out of range: ${value}`);
  buf.writeUInt32BE(Math.floor(value / TWO32), at);
  buf.writeUInt32BE(value % TWO32, at + 4);
}
export function readU64(buf: Buffer, at: number): number {
  const hi = buf.readUInt32BE(at);
  if (hi >= 0x20_0000) throw new ProtocolError(Status.OUT_OF_RANGE, '64-bit field exceeds 2^53');
  return hi * TWO32 + buf.readUInt32BE(at + 4);
}

// ---------- hello ----------
export interface ServerHello {
  version: number;
  flags: number;
  nonce: Buffer;
  serverId: number;
  numServers: number;
}

export function encodeServerHello(h: ServerHello): Buffer {
  const b = Buffer.alloc(SERVER_HELLO_SIZE);
  b.writeUInt32BE(SERVER_MAGIC, 0);
  b.writeUInt8(h.version, 4);
  b.writeUInt8(h.flags, 5);
  h.nonce.copy(b, 8, 0, NONCE_SIZE);
  b.writeUInt32BE(h.serverId, 24);
  b.writeUInt32BE(h.numServers, 28);
  return b;
}

export function decodeServerHello(b: Buffer): ServerHello {
  if (b.length < SERVER_HELLO_SIZE) throw new ProtocolError(Status.BAD_REQUEST, 'short server hello');
  if (b.readUInt32BE(0) !== SERVER_MAGIC) throw new ProtocolError(Status.BAD_REQUEST, 'not a segment server (bad magic in greeting)');
  const version = b.readUInt8(4);
  if (version !== PROTOCOL_VERSION) throw new ProtocolError(Status.UNSUPPORTED_VERSION, `server speaks protocol version ${version}, this client speaks ${PROTOCOL_VERSION}`);
  return { version, flags: b.readUInt8(5), nonce: Buffer.from(b.subarray(8, 24)), serverId: b.readUInt32BE(24), numServers: b.readUInt32BE(28) };
}

export interface ClientHello {
  version: number;
  flags: number;
  auth: Buffer; // empty or AUTH_MAC_SIZE bytes
  traceparent: string; // empty when not traced
}

export function encodeClientHello(h: ClientHello): Buffer {
  const tp = Buffer.from(h.traceparent, 'latin1');
  if (tp.length > MAX_TRACEPARENT) throw new RangeError('traceparent too long');
  if (h.auth.length !== 0 && h.auth.length !== AUTH_MAC_SIZE) throw new RangeError('auth must be empty or 32 bytes');
  const b = Buffer.alloc(CLIENT_HELLO_FIXED + h.auth.length + tp.length);
  b.writeUInt32BE(CLIENT_MAGIC, 0);
  b.writeUInt8(h.version, 4);
  b.writeUInt8(h.flags, 5);
  b.writeUInt8(h.auth.length, 6);
  b.writeUInt8(tp.length, 7);
  h.auth.copy(b, 8);
  tp.copy(b, 8 + h.auth.length);
  return b;
}

/** Returns the hello and its length, or undefined when more bytes are needed. */
export function decodeClientHello(b: Buffer): { hello: ClientHello; size: number } | undefined {
  if (b.length >= 4 && b.readUInt32BE(0) !== CLIENT_MAGIC) throw new ProtocolError(Status.BAD_REQUEST, 'bad magic in client hello');
  if (b.length < CLIENT_HELLO_FIXED) return undefined;
  const version = b.readUInt8(4);
  if (version !== PROTOCOL_VERSION) throw new ProtocolError(Status.UNSUPPORTED_VERSION, `client speaks protocol version ${version}, this server speaks ${PROTOCOL_VERSION}`);
  const authLen = b.readUInt8(6);
  const tpLen = b.readUInt8(7);
  if (authLen !== 0 && authLen !== AUTH_MAC_SIZE) throw new ProtocolError(Status.BAD_REQUEST, `bad auth length ${authLen}`);
  if (tpLen > MAX_TRACEPARENT) throw new ProtocolError(Status.BAD_REQUEST, `traceparent length ${tpLen} exceeds ${MAX_TRACEPARENT}`);
  const size = CLIENT_HELLO_FIXED + authLen + tpLen;
  if (b.length < size) return undefined;
  return {
    hello: {
      version,
      flags: b.readUInt8(5),
      auth: Buffer.from(b.subarray(8, 8 + authLen)),
      traceparent: b.toString('latin1', 8 + authLen, size),
    },
    size,
  };
}

/** The proof of the shared token: HMAC-SHA256(token, "msd-auth-v1" || nonce). The token never crosses the wire. */
export function authMac(token: string, nonce: Buffer): Buffer {
  return createHmac('sha256', token).update('msd-auth-v1').update(nonce).digest();
}
export function verifyAuthMac(token: string, nonce: Buffer, mac: Buffer): boolean {
  const want = authMac(token, nonce);
  return mac.length === want.length && timingSafeEqual(mac, want);
}

// ---------- requests ----------
export interface Request {
  type: RequestType;
  id: number;
  /** GET: byte offset; SEGMENT: segment index; INFO: first digest index; LIST: index of the first entry wanted. */
  a: number;
  /** GET: byte length; SEGMENT: segment count; INFO: max digests (0 = none); LIST: 0 (reserved). */
  b: number;
  name: string;
}

export function encodeRequest(r: Request): Buffer {
  const name = Buffer.from(r.name, 'utf8');
  if (name.length > MAX_NAME_BYTES) throw new RangeError(`name longer than ${MAX_NAME_BYTES} bytes`);
  const buf = Buffer.alloc(REQUEST_HEADER_SIZE + name.length);
  buf.writeUInt8(r.type, 0);
  buf.writeUInt8(0, 1);
  buf.writeUInt16BE(name.length, 2);
  buf.writeUInt32BE(r.id >>> 0, 4);
  writeU64(buf, r.a, 8);
  writeU64(buf, r.b, 16);
  name.copy(buf, REQUEST_HEADER_SIZE);
  return buf;
}

/** Decodes one request at the start of b; undefined when incomplete. Throws ProtocolError on a malformed frame. */
export function decodeRequest(b: Buffer): { request: Request; size: number } | undefined {
  if (b.length < 1) return undefined;
  const type = b.readUInt8(0);
  if (!isRequestType(type)) throw new ProtocolError(Status.BAD_REQUEST, `unknown request type ${type}`);
  if (b.length < REQUEST_HEADER_SIZE) return undefined;
  if (b.readUInt8(1) !== 0) throw new ProtocolError(Status.BAD_REQUEST, 'request flags must be 0');
  const nameLen = b.readUInt16BE(2);
  if (nameLen > MAX_NAME_BYTES) throw new ProtocolError(Status.BAD_REQUEST, `name length ${nameLen} exceeds ${MAX_NAME_BYTES}`);
  const size = REQUEST_HEADER_SIZE + nameLen;
  if (b.length < size) return undefined;
  const nameBytes = b.subarray(REQUEST_HEADER_SIZE, size);
  const name = nameBytes.toString('utf8');
  if (!Buffer.from(name, 'utf8').equals(nameBytes)) throw new ProtocolError(Status.BAD_REQUEST, 'name is not valid UTF-8');
  return { request: { type, id: b.readUInt32BE(4), a: readU64(b, 8), b: readU64(b, 16), name }, size };
}

// ---------- responses ----------
export interface ResponseHeader {
  type: RequestType;
  status: Status;
  id: number;
  /** GET/SEGMENT OK: first byte of the range; LIST OK: the total number of entries listed; else 0. */
  offset: number;
  length: number;
}

export function encodeResponseHeader(h: ResponseHeader, into?: Buffer): Buffer {
  const b = into ?? Buffer.alloc(RESPONSE_HEADER_SIZE);
  b.writeUInt8(h.type, 0);
  b.writeUInt8(h.status, 1);
  b.writeUInt16BE(0, 2);
  b.writeUInt32BE(h.id >>> 0, 4);
  writeU64(b, h.offset, 8);
  writeU64(b, h.length, 16);
  return b;
}

export function decodeResponseHeader(b: Buffer, at = 0): ResponseHeader {
  const type = b.readUInt8(at);
  const status = b.readUInt8(at + 1);
  if (!isRequestType(type)) throw new ProtocolError(Status.BAD_REQUEST, `unknown response type ${type}`);
  if (!isStatus(status)) throw new ProtocolError(Status.BAD_REQUEST, `unknown status ${status}`);
  return { type, status, id: b.readUInt32BE(at + 4), offset: readU64(b, at + 8), length: readU64(b, at + 16) };
}

export function errorResponse(type: RequestType, id: number, status: Status, message: string): Buffer {
  let body = Buffer.from(message, 'utf8');
  if (body.length > MAX_ERROR_BYTES) body = body.subarray(0, MAX_ERROR_BYTES);
  return Buffer.concat([encodeResponseHeader({ type, status, id, offset: 0, length: body.length }), body]);
}

/** The largest body the client accepts for a non-GET response. */
export function maxBodyFor(type: RequestType, status: Status): number {
  if (status !== Status.OK) return MAX_ERROR_BYTES;
  if (type === RequestType.INFO) return MAX_INFO_BODY;
  if (type === RequestType.LIST) return MAX_LIST_BODY;
  return Number.MAX_SAFE_INTEGER;
}

// ---------- INFO ----------
export interface FileInfo {
  size: number;
  pieceSize: number;
  pieceCount: number;
  serverId: number;
  numServers: number;
  contentId: Buffer; // 32 bytes
  name: string;
  firstDigest: number;
  digests: Buffer; // digestCount * 32 bytes
}

export function encodeInfoBody(i: FileInfo): Buffer {
  const name = Buffer.from(i.name, 'utf8');
  const b = Buffer.alloc(66 + name.length + i.digests.length);
  writeU64(b, i.size, 0);
  b.writeUInt32BE(i.pieceSize, 8);
  b.writeUInt32BE(i.pieceCount, 12);
  b.writeUInt32BE(i.serverId, 16);
  b.writeUInt32BE(i.numServers, 20);
  i.contentId.copy(b, 24);
  b.writeUInt32BE(i.firstDigest, 56);
  b.writeUInt32BE(i.digests.length / DIGEST_SIZE, 60);
  b.writeUInt16BE(name.length, 64);
  name.copy(b, 66);
  i.digests.copy(b, 66 + name.length);
  return b;
}

export function decodeInfoBody(b: Buffer): FileInfo {
  if (b.length < 66) throw new ProtocolError(Status.BAD_REQUEST, 'INFO body too short');
  const nameLen = b.readUInt16BE(64);
  const count = b.readUInt32BE(60);
  if (nameLen > MAX_NAME_BYTES || count > MAX_DIGESTS_PER_INFO || b.length !== 66 + nameLen + count * DIGEST_SIZE) {
    throw new ProtocolError(Status.BAD_REQUEST, 'INFO body has inconsistent lengths');
  }
  const info: FileInfo = {
    size: readU64(b, 0),
    pieceSize: b.readUInt32BE(8),
    pieceCount: b.readUInt32BE(12),
    serverId: b.readUInt32BE(16),
    numServers: b.readUInt32BE(20),
    contentId: Buffer.from(b.subarray(24, 56)),
    firstDigest: b.readUInt32BE(56),
    name: b.toString('utf8', 66, 66 + nameLen),
    digests: Buffer.from(b.subarray(66 + nameLen)),
  };
  if (info.pieceSize < MIN_PIECE_SIZE || info.pieceSize > MAX_PIECE_SIZE) throw new ProtocolError(Status.BAD_REQUEST, `INFO piece size ${info.pieceSize} is outside ${MIN_PIECE_SIZE}..${MAX_PIECE_SIZE}`);
  if (info.pieceCount !== Math.ceil(info.size / info.pieceSize)) throw new ProtocolError(Status.BAD_REQUEST, 'INFO piece count does not match size and piece size');
  if (info.firstDigest + count > info.pieceCount) throw new ProtocolError(Status.BAD_REQUEST, 'INFO digests beyond piece count');
  return info;
}

// ---------- LIST ----------
export interface ListEntry { name: string; size: number }

/**
 * The order of a listing: by the UTF-8 bytes of the names (= by code point). Not localeCompare,
 * which depends on the host's locale: a client checks a paged listing against this same order.
 */
export function compareListNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}
/** UTF-16 code units ranked in code point order: surrogates (code points above U+FFFF) after U+E000..U+FFFF. */
function codePointRank(u: number): number {
  if (u < 0xd800) return u;
  return u >= 0xe000 ? u - 0x800 : u + 0x2000;
}

/** One LIST entry as it goes on the wire: `u16 m`, `m` bytes of UTF-8 name, `u64 size`. */
export function encodeListEntry(e: ListEntry): Buffer {
  const name = Buffer.from(e.name, 'utf8');
  if (name.length > MAX_NAME_BYTES) throw new RangeError(`name longer than ${MAX_NAME_BYTES} bytes`);
  const rec = Buffer.alloc(2 + name.length + 8);
  rec.writeUInt16BE(name.length, 0);
  name.copy(rec, 2);
  writeU64(rec, e.size, 2 + name.length);
  return rec;
}

/**
 * The LIST body of one page: the encoded entries from index `first` on, as many as fit under
 * MAX_LIST_BODY (none when `first` is past the end). The response header's offset carries
 * `entries.length`, the total, so that the client knows when it has them all.
 */
export function encodeListPage(entries: readonly Buffer[], first: number): Buffer {
  const parts: Buffer[] = [];
  let total = 4;
  for (let i = first; i < entries.length && total + entries[i].length <= MAX_LIST_BODY; i++) {
    parts.push(entries[i]);
    total += entries[i].length;
  }
  const head = Buffer.alloc(4);
  head.writeUInt32BE(parts.length, 0);
  return Buffer.concat([head, ...parts], total);
}

/** The first page of entries (all of them when they fit in MAX_LIST_BODY). */
export function encodeListBody(entries: ListEntry[]): Buffer {
  return encodeListPage(entries.map(encodeListEntry), 0);
}

export function decodeListBody(b: Buffer): ListEntry[] {
  if (b.length < 4) throw new ProtocolError(Status.BAD_REQUEST, 'LIST body too short');
  const count = b.readUInt32BE(0);
  const out: ListEntry[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 2 > b.length) throw new ProtocolError(Status.BAD_REQUEST, 'LIST body truncated');
    const n = b.readUInt16BE(at);
    if (at + 2 + n + 8 > b.length) throw new ProtocolError(Status.BAD_REQUEST, 'LIST body truncated');
    out.push({ name: b.toString('utf8', at + 2, at + 2 + n), size: readU64(b, at + 2 + n) });
    at += 2 + n + 8;
  }
  if (at !== b.length) throw new ProtocolError(Status.BAD_REQUEST, `LIST body has ${b.length - at} trailing bytes after ${count} entries`);
  return out;
}

/** Byte range of segment `index` of `count` equal segments (the original request form). */
export function segmentRange(size: number, index: number, count: number): { offset: number; length: number } {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || index < 0 || count < 1 || index >= count) {
    throw new ProtocolError(Status.OUT_OF_RANGE, `segment ${index} of ${count} does not exist`);
  }
  // exact integer arithmetic: size * index can pass 2^53, where doubles would drop or add a byte
  const n = BigInt(count);
  const start = Number((BigInt(size) * BigInt(index)) / n);
  const end = Number((BigInt(size) * BigInt(index + 1)) / n);
  return { offset: start, length: end - start };
}
