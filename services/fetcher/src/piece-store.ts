/**
 * Where a download's bytes go, as the session sees it: one part file beside the output for a
 * single file (single-file-store.ts), one part file per file below the output directory for a set
 * (set-store.ts). Files are numbered as in the SetLayout; positions are offsets in that file.
 */
import type { PieceMap } from './piece-map';

export interface PieceStore {
  /** Hot path: positional write of buf[start, end) at `pos` of file `file`; throws MsdError on failure. */
  write(file: number, buf: Buffer, start: number, end: number, pos: number): void;
  /** The file verification reads pieces of `file` back from (its part file). */
  readPath(file: number): string;
  /** Saves the resume state of `pm` (the bytes it claims made durable first, when fsync is on). */
  save(pm: PieceMap): Promise<void>;
  /**
   * Every piece of `file` is verified (resumed ones re-checked): it may go into place now. A set
   * renames each file as it completes; one file waits for finish().
   */
  fileComplete(file: number): Promise<void>;
  /** Every file is complete: the last renames, then the state is removed. */
  finish(): Promise<void>;
  /** Closes what is open; the part files and the state stay for a rerun. Idempotent. */
  close(): void;
  /** Where the output goes (the file, or the set's directory). */
  readonly outPath: string;
}
