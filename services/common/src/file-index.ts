/**
 * Indexing a file: the SHA-256 digest of every piece and the content identity, read with one
 * reused buffer (never the whole file in memory).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { contentIdentity, PieceGrid } from './piece-grid';
import { DIGEST_SIZE } from './protocol';

export interface FileIndex {
  size: number;
  pieceSize: number;
  grid: PieceGrid;
  digests: Buffer;
  contentId: Buffer;
}

export async function indexFile(path: string, pieceSize: number, expectedSize?: number): Promise<FileIndex> {
  const fh = await fsp.open(path, 'r');
  try {
    const size = expectedSize ?? (await fh.stat()).size;
    const grid = new PieceGrid(size, pieceSize);
    const digests = Buffer.alloc(grid.count * DIGEST_SIZE);
    const buf = Buffer.allocUnsafe(Math.min(pieceSize, Math.max(size, 1)));
    for (let p = 0; p < grid.count; p++) {
      const len = grid.length(p);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, grid.start(p) + got);
        if (bytesRead === 0) throw new Error(`${path} shrank while being indexed (at byte ${grid.start(p) + got})`);
        got += bytesRead;
      }
      createHash('sha256').update(buf.subarray(0, len)).digest().copy(digests, p * DIGEST_SIZE);
    }
    return { size, pieceSize, grid, digests, contentId: contentIdentity(size, pieceSize, digests) };
  } finally {
    await fh.close();
  }
}
