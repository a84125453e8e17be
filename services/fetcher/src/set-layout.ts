/**
 * The files of a download laid end to end as one sequence of pieces, so that the scheduler, the
 * piece map and the progress view see one grid whatever the number of files (1,000 small files
 * keep every connection as busy as one big one). Pure: no I/O.
 *
 * Every file starts on a piece boundary and no piece spans two files: piece g of the set is piece
 * g − first(f) of its file f, and a request for it is a range of that one file. `start(g)` is
 * g · pieceSize, a position in the sequence (not a file offset); `length(g)` is the piece's real
 * length (a file's last piece may be short). A 0-byte file has no pieces. One file is the plain
 * download: its layout is that file's PieceGrid.
 */
import { createHash } from 'node:crypto';
import { DIGEST_SIZE, PieceRuns, writeU64 } from '@msd/common';

/** One file of a download as the servers describe it. */
export interface SetEntry {
  /** The name the servers know it by (the request name); a relative path in directory mode. */
  readonly name: string;
  readonly size: number;
  readonly contentId: Buffer;
  /** SHA-256 of each of its pieces, in order. */
  readonly digests: Buffer;
}

export class SetLayout extends PieceRuns {
  readonly count: number;
  readonly size: number;
  /** All pieces' digests in set order: digestAt(digests, g) is piece g's. */
  readonly digests: Buffer;
  /** firstPiece[f]: the set's index of file f's first piece; firstPiece[files.length] = count. */
  private readonly firstPiece: Float64Array;
  /** Pieces shorter than pieceSize (the last of a file), by set index. */
  private readonly short = new Map<number, number>();

  constructor(readonly files: readonly SetEntry[], readonly pieceSize: number) {
    super();
    if (!Number.isSafeInteger(pieceSize) || pieceSize <= 0) throw new RangeError(`bad piece size ${pieceSize}`);
    this.firstPiece = new Float64Array(files.length + 1);
    let count = 0;
    let size = 0;
    files.forEach((f, i) => {
      const n = Math.ceil(f.size / pieceSize);
      if (f.digests.length !== n * DIGEST_SIZE) throw new RangeError(`${f.name}: ${f.digests.length / DIGEST_SIZE} digests for ${n} pieces`);
      this.firstPiece[i] = count;
      const tail = f.size - (n - 1) * pieceSize;
      if (n > 0 && tail < pieceSize) this.short.set(count + n - 1, tail);
      count += n;
      size += f.size;
    });
    this.firstPiece[files.length] = count;
    this.count = count;
    this.size = size;
    this.digests = files.length === 1 ? files[0].digests : Buffer.concat(files.map((f) => f.digests));
  }

  length(piece: number): number {
    return this.short.get(piece) ?? this.pieceSize;
  }

  /** The file holding piece g (binary search; a 0-byte file holds none). */
  fileOf(piece: number): number {
    if (this.files.length === 1) return 0;
    let lo = 0;
    let hi = this.files.length - 1;
    // the last file f with firstPiece[f] <= piece: never a 0-byte one (the file after it starts
    // at the same piece and qualifies too), so it is the file that holds the piece
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.firstPiece[mid] <= piece) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The set's index of file f's first piece (allocation-free piecesOf(f).first). */
  firstPieceOf(f: number): number {
    return this.firstPiece[f];
  }

  /** Pieces [first, end) of file f. */
  piecesOf(f: number): { first: number; end: number } {
    return { first: this.firstPiece[f], end: this.firstPiece[f + 1] };
  }

  /** The byte offset in its file of piece g's first byte. */
  offsetInFile(piece: number, file: number = this.fileOf(piece)): number {
    return (piece - this.firstPiece[file]) * this.pieceSize;
  }

  /**
   * What the whole set is: SHA-256 over each file's (u16 name length, name, u64 size, content
   * identity) in order. Two sets with the same identity hold the same files with the same bytes.
   */
  identity(): Buffer {
    const h = createHash('sha256');
    for (const f of this.files) {
      const name = Buffer.from(f.name, 'utf8');
      const head = Buffer.alloc(2 + name.length + 8);
      head.writeUInt16BE(name.length, 0);
      name.copy(head, 2);
      writeU64(head, f.size, 2 + name.length);
      h.update(head).update(f.contentId);
    }
    return h.digest();
  }
}
