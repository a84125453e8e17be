/**
 * Where each file of a download stands: pieces still missing, then ready (every piece verified),
 * being put into place, and in place. Pure: the session asks it which files may go and tells it
 * what happened; the renames are the PieceStore's.
 */
import { MAX_FILES_IN_FLIGHT_SHOWN, type SetProgress } from '@msd/common';
import type { SetLayout } from './set-layout';

const WAITING = 0;
const PLACING = 1;
const PLACED = 2;

export class SetFiles {
  /** Pieces of each file not verified yet. */
  private readonly missing: Uint32Array;
  private readonly stage: Uint8Array;
  /** --verify-output read the file back and every piece matched. */
  private readonly checked: Uint8Array;
  private placedCount = 0;

  constructor(private readonly layout: SetLayout, isDone: (p: number) => boolean) {
    const n = layout.files.length;
    this.missing = new Uint32Array(n);
    this.stage = new Uint8Array(n);
    this.checked = new Uint8Array(n);
    for (let f = 0; f < n; f++) {
      const { first, end } = layout.piecesOf(f);
      for (let p = first; p < end; p++) if (!isDone(p)) this.missing[f]++;
    }
  }

  /** Piece p was verified: its file, when that was the file's last missing piece. */
  done(p: number): number | undefined {
    const f = this.layout.fileOf(p);
    if (this.missing[f] > 0 && --this.missing[f] === 0) return f;
    return undefined;
  }

  /** Piece p, counted as done, must be fetched again. */
  undone(p: number): void {
    const f = this.layout.fileOf(p);
    if (this.stage[f] !== WAITING) throw new Error(`piece ${p} of ${this.layout.files[f].name} taken back after the file went into place`);
    this.missing[f]++;
    this.checked[f] = 0;
  }

  isReady(f: number): boolean {
    return this.missing[f] === 0 && this.stage[f] === WAITING;
  }

  /** Files ready to go into place now. */
  *ready(): Iterable<number> {
    for (let f = 0; f < this.missing.length; f++) if (this.isReady(f)) yield f;
  }

  readBack(f: number): boolean {
    return this.checked[f] === 1;
  }

  readBackDone(f: number): void {
    this.checked[f] = 1;
  }

  placing(f: number): void {
    if (!this.isReady(f)) throw new Error(`${this.layout.files[f].name} is not ready to go into place`);
    this.stage[f] = PLACING;
  }

  placed(f: number): void {
    if (this.stage[f] !== PLACING) throw new Error(`${this.layout.files[f].name} was not being put into place`);
    this.stage[f] = PLACED;
    this.placedCount++;
  }

  get allPlaced(): boolean {
    return this.placedCount === this.missing.length;
  }

  get complete(): number {
    return this.placedCount;
  }

  /** The set as progress shows it; `inFlight`: files with requests out now; `bytesOf(p)`: bytes of piece p on disk. */
  progress(inFlight: Iterable<number>, bytesOf: (p: number) => number): SetProgress {
    const shown: SetProgress['inFlight'] = [];
    for (const f of inFlight) {
      if (shown.length >= MAX_FILES_IN_FLIGHT_SHOWN) break;
      const file = this.layout.files[f];
      const { first, end } = this.layout.piecesOf(f);
      let bytes = 0;
      for (let p = first; p < end; p++) bytes += bytesOf(p);
      shown.push({ name: file.name, size: file.size, bytesDone: bytes });
    }
    shown.sort((a, b) => b.bytesDone / Math.max(1, b.size) - a.bytesDone / Math.max(1, a.size));
    return { files: this.missing.length, filesComplete: this.placedCount, inFlight: shown };
  }
}
