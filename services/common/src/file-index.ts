/**
 * Indexing a file: the SHA-256 digest of every piece and the content identity, hashed on every
 * core by the piece hasher (never the whole file in memory).
 */
import { promises as fsp } from 'node:fs';
import { contentIdentity, PieceGrid } from './piece-grid';
import { PieceHasher } from './piece-hasher';

export interface FileIndex {
  size: number;
  pieceSize: number;
  grid: PieceGrid;
  digests: Buffer;
  contentId: Buffer;
}

export interface IndexOptions {
  /** a pool to reuse (a directory's files share one); default: a pool of its own for this file */
  hasher?: PieceHasher;
  signal?: AbortSignal;
}

export async function indexFile(path: string, pieceSize: number, expectedSize?: number, opts: IndexOptions = {}): Promise<FileIndex> {
  const size = expectedSize ?? (await fsp.stat(path)).size;
  const grid = new PieceGrid(size, pieceSize);
  const hasher = opts.hasher ?? new PieceHasher();
  try {
    const digests = await hasher.hash(path, grid, { signal: opts.signal });
    return fileIndexOf(grid, digests);
  } finally {
    if (!opts.hasher) await hasher.close();
  }
}

/** The index of a grid whose digests are known (hashed now, or read from a cache). */
export function fileIndexOf(grid: PieceGrid, digests: Buffer): FileIndex {
  return { size: grid.size, pieceSize: grid.pieceSize, grid, digests, contentId: contentIdentity(grid.size, grid.pieceSize, digests) };
}
