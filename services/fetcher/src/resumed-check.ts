/**
 * The pieces an earlier run verified are read back and hashed again before the final rename, a
 * few at a time on the hashing threads while the download runs: a part file or state changed
 * between two runs (edited, swapped, a bit flipped on disk) must never be shipped as verified.
 * A piece that fails is handed back to be fetched again. No I/O of its own: `check` does it.
 */
export interface ResumedCheckHooks {
  /** Hash piece p on disk against its digest. Rejects on a read error (the disk's, not the piece's). */
  check(p: number): Promise<boolean>;
  /** p no longer matches: fetch it again. */
  bad(p: number): void;
  /** Every piece checked (also called when there was nothing to check). */
  finished(): void;
  failed(err: Error): void;
}

export class ResumedCheck {
  private next = 0;
  private inFlight = 0;
  private badCount = 0;
  private stopped = false;
  private ended = false;

  constructor(private readonly pieces: readonly number[], private readonly hooks: ResumedCheckHooks, private readonly concurrency = 4) {}

  start(): void {
    this.pump();
  }

  get done(): boolean {
    return this.ended;
  }
  get badPieces(): number {
    return this.badCount;
  }
  get total(): number {
    return this.pieces.length;
  }

  stop(): void {
    this.stopped = true;
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < this.concurrency && this.next < this.pieces.length) {
      const p = this.pieces[this.next++];
      this.inFlight++;
      this.hooks.check(p).then((ok) => {
        this.inFlight--;
        if (this.stopped) return;
        if (!ok) {
          this.badCount++;
          this.hooks.bad(p);
        }
        this.pump();
      }, (err: Error) => {
        this.inFlight--;
        if (this.stopped) return;
        this.stopped = true;
        this.hooks.failed(err);
      });
    }
    if (!this.stopped && !this.ended && this.inFlight === 0 && this.next >= this.pieces.length) {
      this.ended = true;
      this.hooks.finished();
    }
  }
}
