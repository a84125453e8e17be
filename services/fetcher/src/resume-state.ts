/**
 * The resume state codec (pure): which pieces are verified, which have bytes written, and the
 * identity of the content they belong to, protected by a SHA-256 of the whole record.
 *
 *   0  magic "MSDR"          4  version u16 (1)      6  flags u16 (0)
 *   8  size u64             16  piece size u32      20  piece count u32
 *  24  content id [32]      56  bitfield length u32 60  bitfield bytes
 *   .. partial count u32, then (piece u32, bytes u32) pairs
 *   .. SHA-256 of everything before it [32]
 */
import { createHash } from 'node:crypto';
import { Bitfield, readU64, writeU64 } from '@msd/common';

export const STATE_MAGIC = 0x4d534452; // "MSDR"
export const STATE_VERSION = 1;

export interface ResumeState {
  size: number;
  pieceSize: number;
  pieceCount: number;
  contentId: Buffer;
  done: Bitfield;
  partial: Map<number, number>;
}

export class StateDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateDecodeError';
  }
}

export function encodeState(s: ResumeState): Buffer {
  const bf = s.done.bytes;
  const b = Buffer.alloc(60 + bf.length + 4 + s.partial.size * 8 + 32);
  b.writeUInt32BE(STATE_MAGIC, 0);
  b.writeUInt16BE(STATE_VERSION, 4);
  b.writeUInt16BE(0, 6);
  writeU64(b, s.size, 8);
  b.writeUInt32BE(s.pieceSize, 16);
  b.writeUInt32BE(s.pieceCount, 20);
  s.contentId.copy(b, 24, 0, 32);
  b.writeUInt32BE(bf.length, 56);
  Buffer.from(bf.buffer, bf.byteOffset, bf.length).copy(b, 60);
  let at = 60 + bf.length;
  b.writeUInt32BE(s.partial.size, at);
  at += 4;
  for (const [p, n] of [...s.partial].sort((x, y) => x[0] - y[0])) {
    b.writeUInt32BE(p, at);
    b.writeUInt32BE(n, at + 4);
    at += 8;
  }
  createHash('sha256').update(b.subarray(0, at)).digest().copy(b, at);
  return b;
}

export function decodeState(b: Buffer): ResumeState {
  if (b.length < 60 + 4 + 32) throw new StateDecodeError(`too short (${b.length} bytes)`);
  if (b.readUInt32BE(0) !== STATE_MAGIC) throw new StateDecodeError('not a resume state file (bad magic)');
  const version = b.readUInt16BE(4);
  if (version !== STATE_VERSION) throw new StateDecodeError(`unsupported state version ${version}`);
  const body = b.subarray(0, b.length - 32);
  if (!createHash('sha256').update(body).digest().equals(b.subarray(b.length - 32))) throw new StateDecodeError('checksum mismatch (damaged or truncated)');
  let size: number;
  try {
    size = readU64(b, 8);
  } catch {
    throw new StateDecodeError('size out of range');
  }
  const pieceSize = b.readUInt32BE(16);
  const pieceCount = b.readUInt32BE(20);
  if (pieceSize === 0 || pieceCount !== Math.ceil(size / pieceSize)) throw new StateDecodeError('piece count does not match size and piece size');
  const bfLen = b.readUInt32BE(56);
  if (bfLen !== Math.ceil(pieceCount / 8) || 60 + bfLen + 4 > body.length) throw new StateDecodeError('bitfield length is wrong');
  let done: Bitfield;
  try {
    done = new Bitfield(pieceCount, b.subarray(60, 60 + bfLen));
  } catch (err) {
    throw new StateDecodeError((err as Error).message);
  }
  let at = 60 + bfLen;
  const n = b.readUInt32BE(at);
  at += 4;
  if (at + n * 8 !== body.length) throw new StateDecodeError('partial-piece list length is wrong');
  const partial = new Map<number, number>();
  for (let i = 0; i < n; i++, at += 8) {
    const p = b.readUInt32BE(at);
    const have = b.readUInt32BE(at + 4);
    if (p >= pieceCount || have > Math.min(pieceSize, size - p * pieceSize) || done.has(p)) throw new StateDecodeError(`bad partial entry for piece ${p}`);
    partial.set(p, have);
  }
  return { size, pieceSize, pieceCount, contentId: Buffer.from(b.subarray(24, 56)), done, partial };
}
