/**
 * Connection scripts for the protocol fuzzer, drawn from a seeded PRNG: bad greetings, truncated
 * hellos, a valid hello followed by garbage, random request headers (unknown types, flags, huge
 * name lengths, 64-bit fields past 2^53, invalid UTF-8), pipelines of thousands of requests in one
 * write, oversized blobs, byte-by-byte writes, half-closed sockets and instant resets.
 * Case i depends only on the seed and i, so a failing case can be regenerated.
 */
import { CLIENT_HELLO_FIXED, CLIENT_MAGIC, encodeClientHello, encodeRequest, PROTOCOL_VERSION, REQUEST_HEADER_SIZE, RequestType } from '@msd/common';
import { SeededRandom } from '../../helpers/seeded-random';

export type FuzzKind =
  | 'reset' | 'bad-greeting' | 'truncated-hello' | 'hello-garbage' | 'random-headers' | 'pipeline-flood'
  | 'pipeline-mixed' | 'oversized' | 'half-close' | 'split-writes';

export interface FuzzCase {
  index: number;
  kind: FuzzKind;
  /** Sent in order, each as its own write. */
  writes: Buffer[];
  /** What the client does after writing: wait for the server, half-close, or reset. */
  then: 'wait' | 'end' | 'reset';
  /** Malformed, truncated, oversized or random frames (hellos, requests, blobs) this case sends. */
  frames: number;
  /** Well-formed requests it sends besides (pipelines). */
  wellFormed: number;
}

export interface FuzzTarget {
  /** Size of the served file, so some ranges are near its end. */
  fileSize: number;
  pieces: number;
}

const KINDS: Array<[FuzzKind, number]> = [
  ['reset', 6], ['bad-greeting', 10], ['truncated-hello', 8], ['hello-garbage', 12], ['random-headers', 30],
  ['pipeline-flood', 3], ['pipeline-mixed', 8], ['oversized', 3], ['half-close', 10], ['split-writes', 10],
];
const TOTAL_WEIGHT = KINDS.reduce((s, [, w]) => s + w, 0);
const NAMES = ['', 'src.bin', 'x', '../../etc/passwd', '/etc/shadow', 'a\u0000b', '%2e%2e%2f', '\\\\server\\share', 'é'.repeat(300)];

function hello(): Buffer {
  return encodeClientHello({ version: PROTOCOL_VERSION, flags: 0, auth: Buffer.alloc(0), traceparent: '' });
}

/** A 64-bit field as two u32 halves: small, near the file end, at and past 2^53, all ones, or random. */
function u64(r: SeededRandom, t: FuzzTarget): [number, number] {
  const TWO32 = 0x1_0000_0000;
  const split = (v: number): [number, number] => [Math.floor(v / TWO32), v % TWO32];
  switch (r.int(0, 7)) {
    case 0: return [0, r.int(0, 1 << 20)];
    case 1: return split(Math.max(0, t.fileSize + r.int(-70_000, 70_000)));
    case 2: return [0x1f_ffff, 0xffffffff]; // 2^53 - 1
    case 3: return [0x20_0000, r.u32()]; // 2^53 and beyond
    case 4: return [0xffffffff, 0xffffffff];
    case 5: return [0, r.int(0, t.pieces + 2)];
    default: return [r.u32(), r.u32()];
  }
}

function randomName(r: SeededRandom, declared: number): Buffer {
  if (r.chance(0.4)) return r.bytes(declared); // likely invalid UTF-8
  let s = r.pick(NAMES);
  while (Buffer.byteLength(s) < declared) s += r.pick(NAMES) || 'y';
  return Buffer.from(s).subarray(0, declared);
}

/** One request header with random (often invalid) fields, and its name; the name may be cut short. */
function randomRequest(r: SeededRandom, t: FuzzTarget, mayTruncate: boolean): Buffer {
  const h = Buffer.alloc(REQUEST_HEADER_SIZE);
  h.writeUInt8(r.chance(0.85) ? r.int(1, 4) : r.int(0, 255), 0);
  h.writeUInt8(r.chance(0.9) ? 0 : r.int(1, 255), 1);
  const nameLen = r.pick([0, 0, r.int(1, 40), 1024, 1025, 65535, r.int(0, 2000)]);
  h.writeUInt16BE(nameLen, 2);
  h.writeUInt32BE(r.u32(), 4);
  const [ahi, alo] = u64(r, t);
  const [bhi, blo] = u64(r, t);
  h.writeUInt32BE(ahi, 8); h.writeUInt32BE(alo, 12);
  h.writeUInt32BE(bhi, 16); h.writeUInt32BE(blo, 20);
  const nameBytes = randomName(r, Math.min(nameLen, 2048));
  const whole = Buffer.concat([h, nameBytes]);
  return mayTruncate && r.chance(0.3) ? whole.subarray(0, r.int(0, whole.length - 1)) : whole;
}

/** A well-formed request, in range or just past it. */
function validRequest(r: SeededRandom, t: FuzzTarget, id: number): Buffer {
  const type = r.pick([RequestType.INFO, RequestType.GET, RequestType.GET, RequestType.SEGMENT, RequestType.LIST]);
  const name = r.chance(0.9) ? '' : r.pick(NAMES);
  switch (type) {
    case RequestType.INFO: return encodeRequest({ type, id, a: r.int(0, t.pieces + 1), b: r.int(0, 40), name });
    case RequestType.GET: {
      const offset = r.int(0, t.fileSize);
      return encodeRequest({ type, id, a: offset, b: r.chance(0.9) ? r.int(0, Math.min(16_384, t.fileSize - offset)) : r.int(0, 1 << 20), name });
    }
    case RequestType.SEGMENT: {
      const count = r.int(1, 10_000);
      return encodeRequest({ type, id, a: r.chance(0.8) ? count - 1 : r.int(0, 20_000), b: count, name });
    }
    default: return encodeRequest({ type: RequestType.LIST, id, a: 0, b: 0, name: '' });
  }
}

export function fuzzCase(seed: number, index: number, t: FuzzTarget): FuzzCase {
  const r = new SeededRandom((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  let pickAt = r.int(0, TOTAL_WEIGHT - 1);
  let kind: FuzzKind = KINDS[0][0];
  for (const [k, w] of KINDS) {
    if (pickAt < w) { kind = k; break; }
    pickAt -= w;
  }
  const c = (writes: Buffer[], frames: number, wellFormed: number, then: FuzzCase['then'] = r.pick(['wait', 'wait', 'end', 'reset'] as const)): FuzzCase => ({ index, kind, writes, then, frames, wellFormed });
  switch (kind) {
    case 'reset':
      return c([], 0, 0, 'reset');
    case 'bad-greeting': {
      const b = r.bytes(r.int(1, 200));
      if (r.chance(0.5) && b.length >= CLIENT_HELLO_FIXED) {
        b.writeUInt32BE(CLIENT_MAGIC, 0); // right magic, then a wrong version or bad lengths
        if (r.chance(0.5)) b.writeUInt8(PROTOCOL_VERSION, 4);
      }
      return c([b], 1, 0);
    }
    case 'truncated-hello':
      return c([hello().subarray(0, r.int(0, CLIENT_HELLO_FIXED - 1))], 1, 0, r.pick(['end', 'reset', 'wait'] as const));
    case 'hello-garbage':
      return c([Buffer.concat([hello(), r.bytes(r.int(1, 4096))])], 1, 1);
    case 'random-headers': {
      const n = r.int(1, 60);
      const frames = Array.from({ length: n }, (_, i) => randomRequest(r, t, i === n - 1));
      return c([Buffer.concat([hello(), ...frames])], n, 1);
    }
    case 'pipeline-flood': {
      const n = r.int(1000, 4000);
      return c([Buffer.concat([hello(), ...Array.from({ length: n }, (_, i) => validRequest(r, t, i + 1))])], 0, n + 1);
    }
    case 'pipeline-mixed': {
      const n = r.int(2, 120);
      const random = Array.from({ length: n }, () => r.chance(0.1));
      const frames = random.map((bad, i) => (bad ? randomRequest(r, t, false) : validRequest(r, t, i + 1)));
      const bad = random.filter(Boolean).length;
      return c([Buffer.concat([hello(), ...frames])], bad, n + 1 - bad);
    }
    case 'oversized': {
      const blob = r.bytes(r.int(1 << 20, 3 << 20));
      blob.writeUInt8(RequestType.GET, 0);
      blob.writeUInt8(0, 1);
      return c([hello(), blob], 1, 1);
    }
    case 'half-close': {
      const req = r.chance(0.5) ? validRequest(r, t, 1) : randomRequest(r, t, false);
      return c([Buffer.concat([hello(), req.subarray(0, r.int(1, req.length))])], 1, 1, 'end');
    }
    case 'split-writes': {
      const n = r.int(1, 6);
      const random = Array.from({ length: n }, () => r.chance(0.3));
      const stream = Buffer.concat([hello(), ...random.map((bad, i) => (bad ? randomRequest(r, t, i === n - 1) : validRequest(r, t, i + 1)))]);
      const bad = random.filter(Boolean).length;
      const writes: Buffer[] = [];
      for (let at = 0; at < stream.length;) {
        const step = r.int(1, 7);
        writes.push(stream.subarray(at, at + step));
        at += step;
      }
      return c(writes, bad, n + 1 - bad);
    }
  }
}
