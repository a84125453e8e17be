/**
 * The resume state of a directory download (pure codec): for each file still in progress, what it
 * is (name, size, content identity) and which of its pieces are verified or partly written,
 * protected by a SHA-256 of the whole record. Files already renamed into place are not in it: a
 * rerun finds them under their names and checks them there. Matching by name and content, a rerun
 * keeps every file's progress whatever was added to or removed from the listing meanwhile.
 *
 *   0  magic "MSDT"    4  version u16 (1)    6  flags u16 (0)
 *   8  piece size u32  12  entry count u32
 *  16  entries: u16 name length m, name (UTF-8), u64 size, content id [32],
 *      u32 bitfield length, bitfield (piece i of the file = bit i), u32 partial count,
 *      then (piece u32, bytes u32) pairs
 *  ..  SHA-256 of everything before it [32]
 */
import { createHash } from 'node:crypto';
import { Bitfield, readU64, writeU64 } from '@msd/common';
import { StateDecodeError } from './resume-state';

export const SET_STATE_MAGIC = 0x4d534454; // "MSDT"
export const SET_STATE_VERSION = 1;

export interface SetStateEntry {
  name: string;
  size: number;
  contentId: Buffer;
  /** The file's own pieces: bit i is its piece i. */
  done: Bitfield;
  partial: Map<number, number>;
}

export interface SetState {
  pieceSize: number;
  entries: SetStateEntry[];
}

/**
 * What the encoder reads, entry by entry: a download saves the state of 10,000 files every few
 * seconds straight from its piece map, without building an object per file (garbage that would
 * grow the heap with the number of files).
 */
export interface SetStateSource {
  pieceSize: number;
  count: number;
  name(i: number): string;
  size(i: number): number;
  contentId(i: number): Buffer;
  /** Piece k of entry i is verified. */
  isDone(i: number, k: number): boolean;
  /** Entry i's partly written pieces, (piece, bytes) in piece order. */
  partial(i: number): readonly (readonly [number, number])[];
}

/** A decoded (or built) state as a source, for tests and rewrites. */
export function sourceOf(s: SetState): SetStateSource {
  const e = s.entries;
  return {
    pieceSize: s.pieceSize, count: e.length, name: (i) => e[i].name, size: (i) => e[i].size, contentId: (i) => e[i].contentId,
    isDone: (i, k) => e[i].done.has(k), partial: (i) => [...e[i].partial].sort((x, y) => x[0] - y[0]),
  };
}

const NO_PARTIAL: readonly (readonly [number, number])[] = [];

export function encodeSetState(src: SetStateSource): Buffer {
  const P = src.pieceSize;
  const partials: (readonly (readonly [number, number])[])[] = [];
  let total = 16 + 32;
  for (let i = 0; i < src.count; i++) {
    const part = src.partial(i);
    partials.push(part.length ? part : NO_PARTIAL);
    total += 2 + Buffer.byteLength(src.name(i), 'utf8') + 8 + 32 + 4 + Math.ceil(Math.ceil(src.size(i) / P) / 8) + 4 + part.length * 8;
  }
  const b = Buffer.alloc(total);
  b.writeUInt32BE(SET_STATE_MAGIC, 0);
  b.writeUInt16BE(SET_STATE_VERSION, 4);
  b.writeUInt32BE(P, 8);
  b.writeUInt32BE(src.count, 12);
  let at = 16;
  for (let i = 0; i < src.count; i++) {
    const size = src.size(i);
    const pieces = Math.ceil(size / P);
    const nameLen = b.write(src.name(i), at + 2, 'utf8');
    b.writeUInt16BE(nameLen, at);
    at += 2 + nameLen;
    writeU64(b, size, at);
    at += 8;
    at += src.contentId(i).copy(b, at, 0, 32);
    const bfLen = Math.ceil(pieces / 8);
    at = b.writeUInt32BE(bfLen, at);
    for (let k = 0; k < pieces; k++) if (src.isDone(i, k)) b[at + (k >> 3)] |= 0x80 >> (k & 7);
    at += bfLen;
    at = b.writeUInt32BE(partials[i].length, at);
    for (const [p, n] of partials[i]) {
      at = b.writeUInt32BE(p, at);
      at = b.writeUInt32BE(n, at);
    }
  }
  createHash('sha256').update(b.subarray(0, at)).digest().copy(b, at);
  return b;
}

export function decodeSetState(b: Buffer): SetState {
  if (b.length < 16 + 32) throw new StateDecodeError(`too short (${b.length} bytes)`);
  if (b.readUInt32BE(0) !== SET_STATE_MAGIC) throw new StateDecodeError('not a set resume state file (bad magic)');
  const version = b.readUInt16BE(4);
  if (version !== SET_STATE_VERSION) throw new StateDecodeError(`unsupported set state version ${version}`);
  const body = b.subarray(0, b.length - 32);
  if (!createHash('sha256').update(body).digest().equals(b.subarray(b.length - 32))) throw new StateDecodeError('checksum mismatch (damaged or truncated)');
  const pieceSize = b.readUInt32BE(8);
  if (pieceSize === 0) throw new StateDecodeError('piece size 0');
  const count = b.readUInt32BE(12);
  const entries: SetStateEntry[] = [];
  let at = 16;
  const need = (n: number): void => {
    if (at + n > body.length) throw new StateDecodeError(`entry ${entries.length} runs past the end`);
  };
  for (let i = 0; i < count; i++) {
    need(2);
    const m = b.readUInt16BE(at);
    at += 2;
    need(m + 8 + 32 + 4);
    const name = b.toString('utf8', at, at + m);
    at += m;
    let size: number;
    try {
      size = readU64(b, at);
    } catch {
      throw new StateDecodeError(`entry ${i}: size out of range`);
    }
    at += 8;
    const contentId = Buffer.from(b.subarray(at, at + 32));
    at += 32;
    const pieces = Math.ceil(size / pieceSize);
    const bfLen = b.readUInt32BE(at);
    at += 4;
    if (bfLen !== Math.ceil(pieces / 8)) throw new StateDecodeError(`entry ${i}: bitfield length is wrong`);
    need(bfLen + 4);
    let done: Bitfield;
    try {
      done = new Bitfield(pieces, b.subarray(at, at + bfLen));
    } catch (err) {
      throw new StateDecodeError(`entry ${i}: ${(err as Error).message}`);
    }
    at += bfLen;
    const n = b.readUInt32BE(at);
    at += 4;
    need(n * 8);
    const partial = new Map<number, number>();
    for (let k = 0; k < n; k++, at += 8) {
      const p = b.readUInt32BE(at);
      const have = b.readUInt32BE(at + 4);
      if (p >= pieces || have > Math.min(pieceSize, size - p * pieceSize) || done.has(p)) throw new StateDecodeError(`entry ${i}: bad partial entry for piece ${p}`);
      partial.set(p, have);
    }
    entries.push({ name, size, contentId, done, partial });
  }
  if (at !== body.length) throw new StateDecodeError(`${body.length - at} bytes after the last entry`);
  return { pieceSize, entries };
}
