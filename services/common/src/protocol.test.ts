/**
 * The protocol codec: round trips, the exact byte layout of docs/protocol.md, and every malformed
 * frame we could think of. Incomplete input is `undefined` (wait for more), never an exception;
 * malformed input is a ProtocolError with a status, never a wrong value.
 * Longer than 300 lines because it follows protocol.ts frame by frame (and the doc's examples byte
 * by byte); a reader checks one section of the spec against one describe block.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AUTH_MAC_SIZE, authMac, CLIENT_HELLO_FIXED, compareListNames, encodeListEntry, encodeListPage, CLIENT_MAGIC, decodeClientHello, decodeInfoBody, decodeListBody,
  decodeRequest, decodeResponseHeader, decodeServerHello, DIGEST_SIZE, encodeClientHello, encodeInfoBody,
  encodeListBody, encodeRequest, encodeResponseHeader, encodeServerHello, errorResponse, FileInfo,
  MAX_DIGESTS_PER_INFO, MAX_ERROR_BYTES, MAX_INFO_BODY, MAX_LIST_BODY, MAX_NAME_BYTES, MAX_TRACEPARENT,
  maxBodyFor, NONCE_SIZE, PROTOCOL_VERSION, ProtocolError, readU64, Request, REQUEST_HEADER_SIZE, RequestType,
  RESPONSE_HEADER_SIZE, segmentRange, SERVER_HELLO_SIZE, SERVER_MAGIC, ServerFlags, Status, verifyAuthMac, writeU64,
  MIN_PIECE_SIZE, MAX_PIECE_SIZE, isConnectionLimit, isRequestType, isStatus, REQUEST_KIND,
} from './protocol';

const TWO53 = 2 ** 53;

function expectProtocolError(fn: () => unknown, status: Status, message?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).status).toBe(status);
  if (message) expect((caught as ProtocolError).message).toMatch(message);
}

function hex(b: Buffer): string {
  return b.toString('hex');
}

describe('64-bit fields', () => {
  it.each([0, 1, 0xffffffff, 0x1_0000_0000, 0x1_0000_0001, 5 * 2 ** 32 + 7, TWO53 - 1])('round-trips %d', (v) => {
    const b = Buffer.alloc(8);
    writeU64(b, v, 0);
    expect(readU64(b, 0)).toBe(v);
  });

  it('is big-endian', () => {
    const b = Buffer.alloc(8);
    writeU64(b, 0x0102_0304_0506, 0);
    expect(hex(b)).toBe('0000010203040506');
  });

  it.each([-1, 1.5, TWO53, Number.MAX_VALUE, Number.NaN, Infinity])('refuses to write %d', (v) => {
    expect(() => writeU64(Buffer.alloc(8), v, 0)).toThrow(RangeError);
  });

  it.each(['0020000000000000', '0020000000000001', '7fffffffffffffff', 'ffffffffffffffff', '8000000000000000'])('refuses to read %s (>= 2^53)', (h) => {
    expectProtocolError(() => readU64(Buffer.from(h, 'hex'), 0), Status.OUT_OF_RANGE, /2\^53/);
  });

  it('reads 2^53 - 1, the largest safe value', () => {
    expect(readU64(Buffer.from('001fffffffffffff', 'hex'), 0)).toBe(TWO53 - 1);
  });
});

describe('server hello (greeting)', () => {
  const nonce = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  const hello = { version: PROTOCOL_VERSION, flags: ServerFlags.AUTH_REQUIRED, nonce, serverId: 2, numServers: 4 };

  it('has the documented layout', () => {
    const b = encodeServerHello(hello);
    expect(b.length).toBe(SERVER_HELLO_SIZE);
    expect(hex(b)).toBe('4d534453' + '01' + '01' + '0000' + hex(nonce) + '00000002' + '00000004');
  });

  it('round-trips', () => {
    const h = decodeServerHello(encodeServerHello(hello));
    expect(h).toEqual(hello);
    expect(h.nonce).not.toBe(nonce); // a copy, not a view of the receive buffer
  });

  it('copies the nonce out of the buffer it decodes', () => {
    const b = encodeServerHello(hello);
    const h = decodeServerHello(b);
    b.fill(0xee, 8, 24);
    expect(h.nonce).toEqual(nonce);
  });

  it('rejects a short greeting', () => {
    expectProtocolError(() => decodeServerHello(encodeServerHello(hello).subarray(0, SERVER_HELLO_SIZE - 1)), Status.BAD_REQUEST, /short/);
  });

  it.each([
    ['client magic', CLIENT_MAGIC],
    ['HTTP', 0x48545450],
    ['zero', 0],
    ['byte-swapped', 0x5344534d],
  ])('rejects bad magic (%s)', (_what, magic) => {
    const b = encodeServerHello(hello);
    b.writeUInt32BE(magic, 0);
    expectProtocolError(() => decodeServerHello(b), Status.BAD_REQUEST, /magic/);
  });

  it.each([0, 2, 255])('rejects version %d', (v) => {
    const b = encodeServerHello(hello);
    b.writeUInt8(v, 4);
    expectProtocolError(() => decodeServerHello(b), Status.UNSUPPORTED_VERSION, new RegExp(`version ${v}`));
  });
});

describe('client hello', () => {
  const token = 'correct horse battery staple';
  const nonce = Buffer.alloc(NONCE_SIZE, 7);
  const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('without auth or trace is 8 bytes', () => {
    const b = encodeClientHello({ version: 1, flags: 0, auth: Buffer.alloc(0), traceparent: '' });
    expect(hex(b)).toBe('4d534443' + '01' + '00' + '00' + '00');
    expect(decodeClientHello(b)).toEqual({ hello: { version: 1, flags: 0, auth: Buffer.alloc(0), traceparent: '' }, size: CLIENT_HELLO_FIXED });
  });

  it('round-trips auth and traceparent', () => {
    expect(tp.length).toBe(MAX_TRACEPARENT);
    const auth = authMac(token, nonce);
    const b = encodeClientHello({ version: 1, flags: 0, auth, traceparent: tp });
    expect(b.length).toBe(8 + 32 + 55);
    expect(b.readUInt8(6)).toBe(32);
    expect(b.readUInt8(7)).toBe(55);
    expect(b.subarray(8, 40)).toEqual(auth);
    expect(b.toString('latin1', 40)).toBe(tp);
    const d = decodeClientHello(b)!;
    expect(d.size).toBe(b.length);
    expect(d.hello.auth).toEqual(auth);
    expect(d.hello.traceparent).toBe(tp);
  });

  it('returns undefined for every incomplete prefix, then the hello; trailing bytes are left alone', () => {
    const b = Buffer.concat([encodeClientHello({ version: 1, flags: 0, auth: authMac(token, nonce), traceparent: tp }), encodeRequest({ type: RequestType.LIST, id: 1, a: 0, b: 0, name: '' })]);
    const helloSize = 8 + 32 + 55;
    for (let n = 0; n < helloSize; n++) expect(decodeClientHello(b.subarray(0, n))).toBeUndefined();
    expect(decodeClientHello(b)!.size).toBe(helloSize);
  });

  it('rejects bad magic as soon as 4 bytes are there', () => {
    expectProtocolError(() => decodeClientHello(Buffer.from('GET / HTTP/1.1\r\n')), Status.BAD_REQUEST, /magic/);
    expectProtocolError(() => decodeClientHello(Buffer.from('4d534453', 'hex')), Status.BAD_REQUEST, /magic/); // server magic
  });

  it.each([0, 2, 200])('rejects version %d', (v) => {
    const b = encodeClientHello({ version: 1, flags: 0, auth: Buffer.alloc(0), traceparent: '' });
    b.writeUInt8(v, 4);
    expectProtocolError(() => decodeClientHello(b), Status.UNSUPPORTED_VERSION);
  });

  it.each([1, 16, 31, 33, 255])('rejects auth length %d', (n) => {
    const b = Buffer.concat([encodeClientHello({ version: 1, flags: 0, auth: Buffer.alloc(0), traceparent: '' }), Buffer.alloc(n)]);
    b.writeUInt8(n, 6);
    expectProtocolError(() => decodeClientHello(b), Status.BAD_REQUEST, /auth length/);
    // even before the auth bytes have arrived
    expectProtocolError(() => decodeClientHello(b.subarray(0, 8)), Status.BAD_REQUEST, /auth length/);
  });

  it.each([56, 100, 255])('rejects traceparent length %d before reading it', (n) => {
    const b = encodeClientHello({ version: 1, flags: 0, auth: Buffer.alloc(0), traceparent: '' });
    b.writeUInt8(n, 7);
    expectProtocolError(() => decodeClientHello(b), Status.BAD_REQUEST, /traceparent/);
  });

  it('encoder refuses what the decoder would refuse', () => {
    expect(() => encodeClientHello({ version: 1, flags: 0, auth: Buffer.alloc(16), traceparent: '' })).toThrow(RangeError);
    expect(() => encodeClientHello({ version: 1, flags: 0, auth: Buffer.alloc(0), traceparent: 'x'.repeat(56) })).toThrow(RangeError);
  });
});

describe('authentication MAC', () => {
  const nonce = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

  it('is HMAC-SHA256(token, "msd-auth-v1" || nonce)', () => {
    const want = createHmac('sha256', 's3cret').update(Buffer.concat([Buffer.from('msd-auth-v1'), nonce])).digest();
    expect(authMac('s3cret', nonce)).toEqual(want);
    expect(authMac('s3cret', nonce).length).toBe(AUTH_MAC_SIZE);
    // the fixed vector of docs/protocol.md, so another implementation can check itself
    expect(hex(authMac('s3cret', nonce))).toBe('db2e35bc49abd466c194dcb09b1a3334be2edc91d8c4f8f0d66982df241105ac');
  });

  it('verifies the right token and nonce only', () => {
    const mac = authMac('s3cret', nonce);
    expect(verifyAuthMac('s3cret', nonce, mac)).toBe(true);
    expect(verifyAuthMac('s3cret!', nonce, mac)).toBe(false);
    expect(verifyAuthMac('S3cret', nonce, mac)).toBe(false);
    const otherNonce = Buffer.from(nonce);
    otherNonce[15] ^= 1;
    expect(verifyAuthMac('s3cret', otherNonce, mac)).toBe(false); // a replayed MAC from another connection
    for (let i = 0; i < mac.length; i++) {
      const bad = Buffer.from(mac);
      bad[i] ^= 0x80;
      expect(verifyAuthMac('s3cret', nonce, bad)).toBe(false);
    }
  });

  it('refuses empty and wrong-length MACs without throwing', () => {
    const mac = authMac('s3cret', nonce);
    expect(verifyAuthMac('s3cret', nonce, Buffer.alloc(0))).toBe(false);
    expect(verifyAuthMac('s3cret', nonce, mac.subarray(0, 31))).toBe(false);
    expect(verifyAuthMac('s3cret', nonce, Buffer.concat([mac, Buffer.alloc(1)]))).toBe(false);
  });
});

describe('requests', () => {
  const samples: Request[] = [
    { type: RequestType.INFO, id: 1, a: 0, b: MAX_DIGESTS_PER_INFO, name: '' },
    { type: RequestType.GET, id: 0xffffffff, a: TWO53 - 1, b: 0, name: 'a/b/c.bin' },
    { type: RequestType.GET, id: 7, a: 5 * 2 ** 32 + 3, b: 1 << 20, name: 'ünïcødé/文件.iso' },
    { type: RequestType.SEGMENT, id: 42, a: 3, b: 4, name: '' },
    { type: RequestType.LIST, id: 0, a: 0, b: 0, name: '' },
    { type: RequestType.GET, id: 9, a: 0, b: 1, name: 'x'.repeat(MAX_NAME_BYTES) },
  ];

  it.each(samples.map((s) => [RequestType[s.type], s.id, s]))('round-trips %s id %d', (_t, _id, r) => {
    const b = encodeRequest(r);
    expect(b.length).toBe(REQUEST_HEADER_SIZE + Buffer.byteLength(r.name));
    expect(decodeRequest(b)).toEqual({ request: r, size: b.length });
  });

  it('has the documented layout', () => {
    const b = encodeRequest({ type: RequestType.GET, id: 0x01020304, a: 0x1_0000_0000, b: 0x10_0000, name: 'f' });
    expect(hex(b)).toBe('02' + '00' + '0001' + '01020304' + '0000000100000000' + '0000000000100000' + '66');
  });

  it('returns undefined for every strict prefix and decodes pipelined frames one at a time', () => {
    const stream = Buffer.concat(samples.map(encodeRequest));
    let at = 0;
    for (const want of samples) {
      const len = REQUEST_HEADER_SIZE + Buffer.byteLength(want.name);
      for (let n = 0; n < len; n++) expect(decodeRequest(stream.subarray(at, at + n))).toBeUndefined();
      const got = decodeRequest(stream.subarray(at));
      expect(got).toEqual({ request: want, size: len });
      at += len;
    }
    expect(at).toBe(stream.length);
  });

  it.each([0, 5, 6, 0x7f, 0x80, 0xff])('rejects unknown type %d from its first byte', (t) => {
    expectProtocolError(() => decodeRequest(Buffer.from([t])), Status.BAD_REQUEST, /unknown request type/);
  });

  it.each([1, 0x80, 0xff])('rejects nonzero flags %d', (f) => {
    const b = encodeRequest(samples[1]);
    b.writeUInt8(f, 1);
    expectProtocolError(() => decodeRequest(b), Status.BAD_REQUEST, /flags/);
  });

  it.each([MAX_NAME_BYTES + 1, 0x8000, 0xffff])('rejects name length %d from the header alone', (n) => {
    const b = encodeRequest({ type: RequestType.GET, id: 1, a: 0, b: 0, name: '' });
    b.writeUInt16BE(n, 2);
    expectProtocolError(() => decodeRequest(b), Status.BAD_REQUEST, /name length/);
  });

  it('encoder refuses a name longer than the limit (in bytes, not characters)', () => {
    expect(() => encodeRequest({ type: RequestType.GET, id: 1, a: 0, b: 0, name: 'x'.repeat(MAX_NAME_BYTES + 1) })).toThrow(RangeError);
    expect(() => encodeRequest({ type: RequestType.GET, id: 1, a: 0, b: 0, name: 'é'.repeat(MAX_NAME_BYTES / 2 + 1) })).toThrow(RangeError);
    expect(() => encodeRequest({ type: RequestType.GET, id: 1, a: 0, b: 0, name: 'é'.repeat(MAX_NAME_BYTES / 2) })).not.toThrow();
  });

  it.each([
    ['lone continuation byte', [0x80]],
    ['truncated 2-byte sequence', [0xc3]],
    ['overlong slash', [0xc0, 0xaf]],
    ['overlong NUL', [0xe0, 0x80, 0x80]],
    ['UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['0xff', [0x61, 0xff, 0x62]],
    ['Latin-1 é', [0x63, 0x61, 0x66, 0xe9]],
  ])('rejects a name that is not valid UTF-8 (%s)', (_what, bytes) => {
    const name = Buffer.from(bytes);
    const head = encodeRequest({ type: RequestType.GET, id: 1, a: 0, b: 1, name: '' });
    head.writeUInt16BE(name.length, 2);
    expectProtocolError(() => decodeRequest(Buffer.concat([head, name])), Status.BAD_REQUEST, /UTF-8/);
  });

  it('accepts 4-byte UTF-8 and NUL-free names byte for byte', () => {
    const r = { type: RequestType.GET, id: 1, a: 0, b: 1, name: '🙂/data' };
    expect(decodeRequest(encodeRequest(r))!.request.name).toBe('🙂/data');
  });

  it.each([
    ['offset', 8],
    ['length', 16],
  ])('rejects a 64-bit %s >= 2^53', (_what, at) => {
    const b = encodeRequest({ type: RequestType.GET, id: 1, a: 0, b: 0, name: '' });
    b.writeUInt32BE(0x0020_0000, at);
    expectProtocolError(() => decodeRequest(b), Status.OUT_OF_RANGE);
    b.writeUInt32BE(0xffff_ffff, at);
    expectProtocolError(() => decodeRequest(b), Status.OUT_OF_RANGE);
  });

  it('checks the header before waiting for the name', () => {
    // a header that claims a name but has flags set fails without the name bytes
    const b = encodeRequest({ type: RequestType.GET, id: 1, a: 0, b: 0, name: 'abc' });
    b.writeUInt8(1, 1);
    expectProtocolError(() => decodeRequest(b.subarray(0, REQUEST_HEADER_SIZE)), Status.BAD_REQUEST);
  });

  it('never throws anything but ProtocolError on random garbage', () => {
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rnd() * 60);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(rnd() * 256);
      if (len > 0 && rnd() < 0.7) b[0] = 1 + Math.floor(rnd() * 4); // mostly valid types, to reach deeper checks
      if (len > 1 && rnd() < 0.5) b[1] = 0;
      if (len > 3 && rnd() < 0.5) b.writeUInt16BE(Math.floor(rnd() * 40), 2);
      try {
        const r = decodeRequest(b);
        if (r) {
          expect(r.size).toBeLessThanOrEqual(len);
          expect(encodeRequest(r.request)).toEqual(b.subarray(0, r.size));
        }
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
      }
    }
  });
});

describe('response header', () => {
  it('round-trips and has the documented layout', () => {
    const h = { type: RequestType.GET, status: Status.OK, id: 0xdeadbeef, offset: 5 * 2 ** 32, length: 1 << 20 };
    const b = encodeResponseHeader(h);
    expect(b.length).toBe(RESPONSE_HEADER_SIZE);
    expect(hex(b)).toBe('02' + '00' + '0000' + 'deadbeef' + '0000000500000000' + '0000000000100000');
    expect(decodeResponseHeader(b)).toEqual(h);
  });

  it('encodes into a caller buffer and decodes at an offset', () => {
    const into = Buffer.alloc(RESPONSE_HEADER_SIZE);
    const h = { type: RequestType.INFO, status: Status.NOT_FOUND, id: 3, offset: 0, length: 10 };
    expect(encodeResponseHeader(h, into)).toBe(into);
    const padded = Buffer.concat([Buffer.alloc(5, 0xaa), into]);
    expect(decodeResponseHeader(padded, 5)).toEqual(h);
  });

  it.each([0, 5, 255])('rejects response type %d', (t) => {
    const b = encodeResponseHeader({ type: RequestType.GET, status: Status.OK, id: 1, offset: 0, length: 0 });
    b.writeUInt8(t, 0);
    expectProtocolError(() => decodeResponseHeader(b), Status.BAD_REQUEST, /type/);
  });

  it.each([11, 100, 255])('rejects status %d', (s) => {
    const b = encodeResponseHeader({ type: RequestType.GET, status: Status.OK, id: 1, offset: 0, length: 0 });
    b.writeUInt8(s, 1);
    expectProtocolError(() => decodeResponseHeader(b), Status.BAD_REQUEST, /status/);
  });

  it('accepts every defined status', () => {
    for (let s = Status.OK; s <= Status.CLIENT_CONNECTION_LIMIT; s++) {
      expect(decodeResponseHeader(encodeResponseHeader({ type: RequestType.INFO, status: s, id: 1, offset: 0, length: 0 })).status).toBe(s);
    }
  });

  it('rejects offset or length >= 2^53', () => {
    for (const at of [8, 16]) {
      const b = encodeResponseHeader({ type: RequestType.GET, status: Status.OK, id: 1, offset: 0, length: 0 });
      b.writeUInt32BE(0x0020_0000, at);
      expectProtocolError(() => decodeResponseHeader(b), Status.OUT_OF_RANGE);
    }
  });

  it('the connection-limit statuses are 9 (server total) and 10 (per client), and only they are limits', () => {
    expect([Status.CONNECTION_LIMIT, Status.CLIENT_CONNECTION_LIMIT]).toEqual([9, 10]);
    const limits = [];
    for (let s = 0; s < 256; s++) if (isStatus(s) && isConnectionLimit(s)) limits.push(s);
    expect(limits).toEqual([9, 10]);
    const b = errorResponse(RequestType.INFO, 0, Status.CLIENT_CONNECTION_LIMIT, 'full');
    expect(b.subarray(0, 8)).toEqual(Buffer.from([1, 10, 0, 0, 0, 0, 0, 0]));
  });

  it('declares each request kind once, for exactly the types the codec accepts', () => {
    const accepted = [];
    for (let t = 0; t < 256; t++) if (isRequestType(t)) accepted.push(t);
    expect(accepted).toEqual([1, 2, 3, 4]);
    expect(accepted.map((t) => REQUEST_KIND[t as RequestType])).toEqual(['info', 'get', 'segment', 'list']);
  });

  it('error responses carry the message, cut at the limit', () => {
    const b = errorResponse(RequestType.GET, 9, Status.OUT_OF_RANGE, 'past the end');
    const h = decodeResponseHeader(b);
    expect(h).toEqual({ type: RequestType.GET, status: Status.OUT_OF_RANGE, id: 9, offset: 0, length: 12 });
    expect(b.toString('utf8', RESPONSE_HEADER_SIZE)).toBe('past the end');
    const long = errorResponse(RequestType.INFO, 0, Status.INTERNAL, 'y'.repeat(5000));
    expect(decodeResponseHeader(long).length).toBe(MAX_ERROR_BYTES);
    expect(long.length).toBe(RESPONSE_HEADER_SIZE + MAX_ERROR_BYTES);
  });

  it('bounds non-GET bodies', () => {
    expect(maxBodyFor(RequestType.GET, Status.OK)).toBe(Number.MAX_SAFE_INTEGER);
    expect(maxBodyFor(RequestType.SEGMENT, Status.OK)).toBe(Number.MAX_SAFE_INTEGER);
    expect(maxBodyFor(RequestType.INFO, Status.OK)).toBe(MAX_INFO_BODY);
    expect(maxBodyFor(RequestType.LIST, Status.OK)).toBe(MAX_LIST_BODY);
    for (const t of [RequestType.GET, RequestType.INFO, RequestType.LIST, RequestType.SEGMENT]) expect(maxBodyFor(t, Status.NOT_FOUND)).toBe(MAX_ERROR_BYTES);
  });
});

describe('INFO body', () => {
  function digestsFor(n: number): Buffer {
    const out = Buffer.alloc(n * DIGEST_SIZE);
    for (let i = 0; i < n; i++) createHash('sha256').update(String(i)).digest().copy(out, i * DIGEST_SIZE);
    return out;
  }
  const base: FileInfo = {
    size: 10 * 1024 * 1024 + 1,
    pieceSize: 1024 * 1024,
    pieceCount: 11,
    serverId: 3,
    numServers: 4,
    contentId: createHash('sha256').update('content').digest(),
    name: 'dir/file.bin',
    firstDigest: 0,
    digests: digestsFor(11),
  };

  it('round-trips with all, some and no digests', () => {
    expect(decodeInfoBody(encodeInfoBody(base))).toEqual(base);
    const page = { ...base, firstDigest: 8, digests: digestsFor(11).subarray(8 * 32) };
    expect(decodeInfoBody(encodeInfoBody(page))).toEqual(page);
    const none = { ...base, firstDigest: 0, digests: Buffer.alloc(0) };
    expect(decodeInfoBody(encodeInfoBody(none))).toEqual(none);
    const atEnd = { ...base, firstDigest: 11, digests: Buffer.alloc(0) };
    expect(decodeInfoBody(encodeInfoBody(atEnd))).toEqual(atEnd);
  });

  it('has the documented layout', () => {
    const b = encodeInfoBody({ ...base, name: 'f', digests: digestsFor(1), firstDigest: 2 });
    expect(b.length).toBe(66 + 1 + 32);
    expect(hex(b.subarray(0, 24))).toBe('0000000000a00001' + '00100000' + '0000000b' + '00000003' + '00000004');
    expect(b.subarray(24, 56)).toEqual(base.contentId);
    expect(hex(b.subarray(56, 67))).toBe('00000002' + '00000001' + '0001' + '66');
  });

  it('round-trips an empty file and a file above 4 GiB', () => {
    const empty = { ...base, size: 0, pieceCount: 0, digests: Buffer.alloc(0), name: '' };
    expect(decodeInfoBody(encodeInfoBody(empty))).toEqual(empty);
    const big = { ...base, size: 5 * 2 ** 32 + 1, pieceSize: 1 << 20, pieceCount: 5 * 4096 + 1, firstDigest: 20000, digests: digestsFor(3) };
    expect(decodeInfoBody(encodeInfoBody(big))).toEqual(big);
  });

  it('rejects a body shorter than the fixed part', () => {
    const b = encodeInfoBody(base);
    for (const n of [0, 1, 24, 65]) expectProtocolError(() => decodeInfoBody(b.subarray(0, n)), Status.BAD_REQUEST, /too short/);
  });

  it('rejects every truncation and any trailing byte', () => {
    const b = encodeInfoBody(base);
    for (let n = 66; n < b.length; n++) expectProtocolError(() => decodeInfoBody(b.subarray(0, n)), Status.BAD_REQUEST, /inconsistent/);
    expectProtocolError(() => decodeInfoBody(Buffer.concat([b, Buffer.alloc(1)])), Status.BAD_REQUEST, /inconsistent/);
  });

  it('rejects a digest count or name length that does not match the body', () => {
    const b = encodeInfoBody(base);
    const moreDigests = Buffer.from(b);
    moreDigests.writeUInt32BE(12, 60);
    expectProtocolError(() => decodeInfoBody(moreDigests), Status.BAD_REQUEST, /inconsistent/);
    const tooMany = Buffer.from(b);
    tooMany.writeUInt32BE(MAX_DIGESTS_PER_INFO + 1, 60);
    expectProtocolError(() => decodeInfoBody(tooMany), Status.BAD_REQUEST, /inconsistent/);
    const longName = Buffer.from(b);
    longName.writeUInt16BE(MAX_NAME_BYTES + 1, 64);
    expectProtocolError(() => decodeInfoBody(longName), Status.BAD_REQUEST, /inconsistent/);
    const shiftName = Buffer.from(b);
    shiftName.writeUInt16BE(base.name.length + 32, 64); // the name swallows a digest
    expectProtocolError(() => decodeInfoBody(shiftName), Status.BAD_REQUEST, /inconsistent/);
  });

  it('rejects piece sizes outside the accepted range, a piece count that does not match, and digests past the end', () => {
    for (const size of [0, MIN_PIECE_SIZE - 1, MAX_PIECE_SIZE + 1, 0xffffffff]) {
      const bad = encodeInfoBody(base);
      bad.writeUInt32BE(size, 8);
      expectProtocolError(() => decodeInfoBody(bad), Status.BAD_REQUEST, /piece size/);
    }
    for (const count of [10, 12, 0]) {
      const b = encodeInfoBody(base);
      b.writeUInt32BE(count, 12);
      expectProtocolError(() => decodeInfoBody(b), Status.BAD_REQUEST, /piece count/);
    }
    const beyond = encodeInfoBody({ ...base, firstDigest: 1 });
    expectProtocolError(() => decodeInfoBody(beyond), Status.BAD_REQUEST, /beyond/);
    const far = encodeInfoBody({ ...base, firstDigest: 12, digests: Buffer.alloc(0) });
    expectProtocolError(() => decodeInfoBody(far), Status.BAD_REQUEST, /beyond/);
  });

  it('rejects a size >= 2^53', () => {
    const b = encodeInfoBody(base);
    b.writeUInt32BE(0xffff_ffff, 0);
    expectProtocolError(() => decodeInfoBody(b), Status.OUT_OF_RANGE);
  });

  it('the largest page fits the client limit', () => {
    const n = MAX_DIGESTS_PER_INFO;
    const big = { ...base, size: n * 16384, pieceSize: 16384, pieceCount: n, name: 'n'.repeat(MAX_NAME_BYTES), digests: Buffer.alloc(n * 32) };
    const b = encodeInfoBody(big);
    expect(b.length).toBe(MAX_INFO_BODY);
    expect(decodeInfoBody(b).digests.length).toBe(n * 32);
  });
});

describe('LIST body', () => {
  const entries = [
    { name: 'a.bin', size: 0 },
    { name: 'sub/dir/b.iso', size: 5 * 2 ** 32 + 17 },
    { name: 'ünï', size: TWO53 - 1 },
  ];

  it('round-trips, including the empty list', () => {
    expect(decodeListBody(encodeListBody(entries))).toEqual(entries);
    expect(hex(encodeListBody([]))).toBe('00000000');
    expect(decodeListBody(encodeListBody([]))).toEqual([]);
  });

  it('has the documented layout', () => {
    expect(hex(encodeListBody([{ name: 'ab', size: 258 }]))).toBe('00000001' + '0002' + '6162' + '0000000000000102');
  });

  it('rejects a body too short for the count, and every truncation', () => {
    expectProtocolError(() => decodeListBody(Buffer.alloc(3)), Status.BAD_REQUEST, /too short/);
    const b = encodeListBody(entries);
    for (let n = 4; n < b.length; n++) expectProtocolError(() => decodeListBody(b.subarray(0, n)), Status.BAD_REQUEST, /truncated/);
  });

  it('rejects a count larger than the entries present', () => {
    const b = encodeListBody(entries);
    b.writeUInt32BE(0xffff_ffff, 0);
    expectProtocolError(() => decodeListBody(b), Status.BAD_REQUEST, /truncated/);
  });

  it('rejects trailing bytes after the last entry', () => {
    expectProtocolError(() => decodeListBody(Buffer.concat([encodeListBody(entries), Buffer.alloc(1)])), Status.BAD_REQUEST, /trailing/);
  });

  it('rejects an entry size >= 2^53', () => {
    const b = encodeListBody([{ name: 'x', size: 1 }]);
    b.writeUInt32BE(0x0020_0000, 4 + 2 + 1);
    expectProtocolError(() => decodeListBody(b), Status.OUT_OF_RANGE);
  });

  it('encodes one entry as u16 length, UTF-8 name, u64 size, and refuses a name over 1024 bytes', () => {
    expect(hex(encodeListEntry({ name: 'd/b', size: 7 }))).toBe('0003' + '642f62' + '0000000000000007');
    expect(hex(encodeListEntry({ name: 'é', size: 2 ** 32 }))).toBe('0002' + 'c3a9' + '0000000100000000');
    expect(encodeListEntry({ name: 'x'.repeat(MAX_NAME_BYTES), size: 0 }).length).toBe(2 + MAX_NAME_BYTES + 8);
    expect(() => encodeListEntry({ name: 'x'.repeat(MAX_NAME_BYTES + 1), size: 0 })).toThrow(RangeError);
  });

  it('pages from a start index: the entries from there, the count first', () => {
    const recs = [{ name: 'a', size: 1 }, { name: 'b', size: 2 }, { name: 'c', size: 3 }].map(encodeListEntry);
    expect(hex(encodeListPage(recs, 1))).toBe('00000002' + '0001' + '62' + '0000000000000002' + '0001' + '63' + '0000000000000003');
    expect(hex(encodeListPage(recs, 3))).toBe('00000000');
    expect(hex(encodeListPage(recs, 99))).toBe('00000000');
    expect(encodeListPage(recs, 0)).toEqual(encodeListBody([{ name: 'a', size: 1 }, { name: 'b', size: 2 }, { name: 'c', size: 3 }]));
  });

  it('fills each page up to MAX_LIST_BODY, and the pages together hold every entry once', () => {
    const recs = Array.from({ length: 20000 }, (_, i) => encodeListEntry({ name: `${String(i).padStart(6, '0')}-${'n'.repeat(100)}`, size: i }));
    const seen: number[] = [];
    let pages = 0;
    while (seen.length < recs.length) {
      const b = encodeListPage(recs, seen.length);
      expect(b.length).toBeLessThanOrEqual(MAX_LIST_BODY);
      const page = decodeListBody(b);
      // full: the next entry would not have fitted
      if (seen.length + page.length < recs.length) expect(b.length + recs[seen.length + page.length].length).toBeGreaterThan(MAX_LIST_BODY);
      seen.push(...page.map((e) => e.size));
      pages++;
    }
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(recs.map((_, i) => i));
  });

  it('orders names by UTF-8 bytes (code points), not by locale or UTF-16 units', () => {
    const names = ['\u{1f600}', 'a', 'B', '\u{e000}', 'ab', 'a/b', 'A', '\u00e9'];
    const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...names].sort(compareListNames)).toEqual(byBytes);
    expect(byBytes).toEqual(['A', 'B', 'a', 'a/b', 'ab', '\u00e9', '\u{e000}', '\u{1f600}']);
    expect(compareListNames('a', 'a')).toBe(0);
  });

  it('reads a LIST OK header whose offset carries the total, as a client before paging did', () => {
    const h = { type: RequestType.LIST, status: Status.OK, id: 4, offset: 12000, length: 4 };
    expect(hex(encodeResponseHeader(h))).toBe('04000000' + '00000004' + '0000000000002ee0' + '0000000000000004');
    expect(decodeResponseHeader(encodeResponseHeader(h))).toEqual(h);
  });

  it('stops at MAX_LIST_BODY and says how many it kept', () => {
    const many = Array.from({ length: 20000 }, (_, i) => ({ name: `file-${String(i).padStart(40, '0')}.bin`, size: i }));
    const b = encodeListBody(many);
    expect(b.length).toBeLessThanOrEqual(MAX_LIST_BODY);
    const got = decodeListBody(b);
    expect(got.length).toBeGreaterThan(1000);
    expect(got.length).toBeLessThan(many.length);
    expect(got).toEqual(many.slice(0, got.length));
  });
});

describe('segmentRange (segment i of n)', () => {
  function checkCover(size: number, count: number): void {
    let next = 0;
    for (let i = 0; i < count; i++) {
      const { offset, length } = segmentRange(size, i, count);
      expect(offset).toBe(next);
      expect(length).toBeGreaterThanOrEqual(0);
      // equal segments: every length is floor(size / count) or one more (exact, in BigInt)
      const q = BigInt(size) / BigInt(count);
      expect([q, q + 1n]).toContain(BigInt(length));
      next = offset + length;
    }
    expect(next).toBe(size);
  }

  it('covers the file exactly for small sizes and counts, including size 0 and size < count', () => {
    for (let size = 0; size <= 40; size++) for (let count = 1; count <= 12; count++) checkCover(size, count);
  });

  it.each([
    [1024 ** 3, 4], [1024 ** 3 + 1, 4], [1024 ** 3 - 1, 3], [5 * 2 ** 32 + 7, 7], [2 ** 40 + 3, 16], [2 ** 50 + 5, 3],
    [TWO53 - 1, 2], [TWO53 - 1, 3], [TWO53 - 1, 1000], [3958571905802462, 426], [8741746659366612, 677],
  ])('covers the file exactly for size %d in %d segments', (size, count) => {
    checkCover(size, count);
  });

  it('covers huge files exactly for random sizes and counts (no floating-point drift)', () => {
    let seed = 99;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    for (let t = 0; t < 300; t++) {
      const size = Math.floor(rnd() * TWO53);
      const count = 1 + Math.floor(rnd() * 64);
      checkCover(size, count);
    }
  });

  it('the original 4-way split', () => {
    expect([0, 1, 2, 3].map((i) => segmentRange(10, i, 4))).toEqual([
      { offset: 0, length: 2 }, { offset: 2, length: 3 }, { offset: 5, length: 2 }, { offset: 7, length: 3 },
    ]);
  });

  it.each([
    [0, 0], [4, 4], [5, 4], [TWO53 - 1, 2],
  ])('rejects segment %d of %d', (index, count) => {
    expectProtocolError(() => segmentRange(100, index, count), Status.OUT_OF_RANGE, /does not exist/);
  });
});

describe('constants match the spec', () => {
  it('magics spell MSDS and MSDC', () => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(SERVER_MAGIC, 0);
    b.writeUInt32BE(CLIENT_MAGIC, 4);
    expect(b.toString('latin1')).toBe('MSDSMSDC');
  });
  it('limits', () => {
    expect({ SERVER_HELLO_SIZE, CLIENT_HELLO_FIXED, REQUEST_HEADER_SIZE, RESPONSE_HEADER_SIZE, MAX_NAME_BYTES, MAX_ERROR_BYTES, MAX_DIGESTS_PER_INFO, MAX_LIST_BODY, MAX_INFO_BODY, MAX_TRACEPARENT })
      .toEqual({ SERVER_HELLO_SIZE: 32, CLIENT_HELLO_FIXED: 8, REQUEST_HEADER_SIZE: 24, RESPONSE_HEADER_SIZE: 24, MAX_NAME_BYTES: 1024, MAX_ERROR_BYTES: 1024, MAX_DIGESTS_PER_INFO: 32768, MAX_LIST_BODY: 1048576, MAX_INFO_BODY: 1049666, MAX_TRACEPARENT: 55 });
  });
});

describe('the examples in docs/protocol.md', () => {
  /** Hex frames of the doc's code blocks, in order; a frame ends at a blank line or the block's end. "..." marks a cut frame. */
  function docFrames(): Array<{ hex: string; cut: boolean }> {
    const text = readFileSync(join(__dirname, '../../../docs/protocol.md'), 'utf8');
    const frames: Array<{ hex: string; cut: boolean }> = [];
    for (const block of text.split('```').filter((_, i) => i % 2 === 1)) {
      for (const part of block.split(/\n\s*\n/)) {
        let hexText = '';
        let cut = false;
        for (const line of part.split('\n')) {
          if (line.trim() === '...') cut = true;
          for (const tok of line.trim().split(/\s+/)) {
            if (!/^[0-9a-f]{2}$/.test(tok)) break;
            hexText += tok;
          }
        }
        if (hexText) frames.push({ hex: hexText, cut });
      }
    }
    return frames;
  }

  it('are what the codec produces, byte for byte', () => {
    const nonce = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const digests = Buffer.concat([Buffer.alloc(32, 0xaa), Buffer.alloc(32, 0xbb)]);
    const info = encodeInfoBody({ size: 1048676, pieceSize: 1 << 20, pieceCount: 2, serverId: 2, numServers: 4, contentId: Buffer.alloc(32, 0xcc), name: 'data.bin', firstDigest: 0, digests });
    const listed = [{ name: 'a.iso', size: 2 ** 32 }, { name: 'd/b', size: 7 }].map(encodeListEntry);
    const list = encodeListPage(listed, 0);
    const page2 = encodeListPage(listed, 1);
    const seg = segmentRange(10_000_000, 1, 4);
    const want = [
      encodeServerHello({ version: 1, flags: ServerFlags.AUTH_REQUIRED, nonce, serverId: 2, numServers: 4 }),
      encodeClientHello({ version: 1, flags: 0, auth: authMac('s3cret', nonce), traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
      encodeRequest({ type: RequestType.INFO, id: 1, a: 0, b: 32768, name: 'data.bin' }),
      Buffer.concat([encodeResponseHeader({ type: RequestType.INFO, status: Status.OK, id: 1, offset: 0, length: info.length }), info]),
      encodeRequest({ type: RequestType.GET, id: 2, a: 5 * 2 ** 32, b: 4 << 20, name: 'data.bin' }),
      encodeResponseHeader({ type: RequestType.GET, status: Status.OK, id: 2, offset: 5 * 2 ** 32, length: 4 << 20 }),
      encodeRequest({ type: RequestType.SEGMENT, id: 3, a: 1, b: 4, name: '' }),
      encodeResponseHeader({ type: RequestType.SEGMENT, status: Status.OK, id: 3, ...seg }),
      encodeRequest({ type: RequestType.LIST, id: 4, a: 0, b: 0, name: '' }),
      Buffer.concat([encodeResponseHeader({ type: RequestType.LIST, status: Status.OK, id: 4, offset: 2, length: list.length }), list]),
      encodeRequest({ type: RequestType.LIST, id: 5, a: 1, b: 0, name: '' }),
      Buffer.concat([encodeResponseHeader({ type: RequestType.LIST, status: Status.OK, id: 5, offset: 2, length: page2.length }), page2]),
      errorResponse(RequestType.GET, 9, Status.OUT_OF_RANGE, 'range 100+1 is past the end of f (100 bytes)'),
      errorResponse(RequestType.INFO, 0, Status.CLIENT_CONNECTION_LIMIT, 'server 0 has 3 connections open from 127.0.0.2, its limit per client (--max-connections-per-client); use fewer connections (--connections-per-server) or raise the limit'),
      errorResponse(RequestType.INFO, 0, Status.AUTH_FAILED, 'authentication failed: wrong token'),
    ];
    const frames = docFrames();
    expect(frames).toHaveLength(want.length);
    frames.forEach((f, i) => {
      const w = hex(want[i]);
      if (f.cut) expect(w.startsWith(f.hex)).toBe(true);
      else expect(f.hex).toBe(w);
    });
    expect(seg).toEqual({ offset: 2_500_000, length: 2_500_000 });
  });
});
