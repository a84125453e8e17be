/** The fixed grid of pieces a file is cut into: pure arithmetic, no I/O. */
import { createHash } from 'node:crypto';
import { DIGEST_SIZE } from './protocol';


/**
 * What the download's parts need of a grid of pieces: how many, their byte lengths, and the
 * positions the starting runs and per-segment views are cut at. PieceGrid is one file's grid;
 * the fetcher's SetLayout lays the pieces of many files end to end behind the same shape.
 */
export interface PieceLayout {
  readonly count: number;
  /** Content bytes in all the pieces. */
  readonly size: number;
  readonly pieceSize: number;
  /** A position for the piece's first byte: piece * pieceSize (for a set, not a file offset). */
  start(piece: number): number;
  length(piece: number): number;
  end(piece: number): number;
  segmentOf(piece: number, segments: number): number;
  run(index: number, segments: number): { first: number; end: number };
}

/** What every layout computes the same way from its piece size, count and lengths. */
export abstract class PieceRuns implements PieceLayout {
  abstract readonly count: number;
  abstract readonly size: number;
  abstract readonly pieceSize: number;
  abstract length(piece: number): number;
  start(piece: number): number {
    return piece * this.pieceSize;
  }
  end(piece: number): number {
    return this.start(piece) + this.length(piece);
  }
  segmentOf(piece: number, segments: number): number {
    return segmentOfPiece(this.count, piece, segments);
  }
  run(index: number, segments: number): { first: number; end: number } {
    return startingRun(this.count, index, segments);
  }
}

export class PieceGrid extends PieceRuns {
  readonly count: number;
  constructor(readonly size: number, readonly pieceSize: number) {
    super();
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad size ${size}`);
    if (!Number.isSafeInteger(pieceSize) || pieceSize <= 0) throw new RangeError(`bad piece size ${pieceSize}`);
    this.count = Math.ceil(size / pieceSize);
  }
  length(piece: number): number {
    return Math.min(this.pieceSize, this.size - piece * this.pieceSize);
  }
}

/** The segment (of `segments`) whose starting run holds the piece: bounded label for metrics. */
export function segmentOfPiece(count: number, piece: number, segments: number): number {
  if (count === 0) return 0;
  // the inverse of startingRun(): the largest i with floor(count * i / segments) <= piece
  return Math.min(segments - 1, Math.floor(((piece + 1) * segments - 1) / count));
}

/** The contiguous run of pieces [first, end) that segment `index` of `segments` starts with. */
export function startingRun(count: number, index: number, segments: number): { first: number; end: number } {
  return { first: Math.floor((count * index) / segments), end: Math.floor((count * (index + 1)) / segments) };
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
