/** The fixed grid of pieces a file is cut into: pure arithmetic, no I/O. */
import { createHash } from 'node:crypto';
import { DIGEST_SIZE } from './protocol';


export class PieceGrid {
  readonly count: number;
  constructor(readonly size: number, readonly pieceSize: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad size ${size}`);
    if (!Number.isSafeInteger(pieceSize) || pieceSize <= 0) throw new RangeError(`bad piece size ${pieceSize}`);
    this.count = Math.ceil(size / pieceSize);
  }
  start(piece: number): number {
    return piece * this.pieceSize;
  }
  length(piece: number): number {
    return Math.min(this.pieceSize, this.size - piece * this.pieceSize);
  }
  end(piece: number): number {
    return this.start(piece) + this.length(piece);
  }
  /** The segment (of `segments`) whose starting `run` holds the piece: bounded label for metrics. */
  segmentOf(piece: number, segments: number): number {
    if (this.count === 0) return 0;
    // the inverse of run(): the largest i with floor(count * i / segments) <= piece
    return Math.min(segments - 1, Math.floor(((piece + 1) * segments - 1) / this.count));
  }
  /** The contiguous run of pieces [first, end) that segment `index` of `segments` starts with. */
  run(index: number, segments: number): { first: number; end: number } {
    return { first: Math.floor((this.count * index) / segments), end: Math.floor((this.count * (index + 1)) / segments) };
  }
}

/** Content identity: SHA-256 over (u64 size, u32 piece size, all piece digests). */
export function contentIdentity(size: number, pieceSize: number, digests: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(Math.floor(size / 0x1_0000_0000), 0);
  head.writeUInt32BE(size % 0x1_0000_0000, 4);
  head.writeUInt32BE(pieceSize, 8);
  return createHash('sha256').update(head).update(digests).digest();
}

export function digestAt(digests: Buffer, piece: number): Buffer {
  return digests.subarray(piece * DIGEST_SIZE, (piece + 1) * DIGEST_SIZE);
}

/** What makes two sources the same content: size, piece size and content identity. */
export interface ContentKey { size: number; pieceSize: number; contentId: Buffer }

export function sameContent(a: ContentKey, b: ContentKey): boolean {
  return a.size === b.size && a.pieceSize === b.pieceSize && a.contentId.equals(b.contentId);
}
