/**
 * One file's bytes: its part file `NAME.part` and the resume state beside it. The rename into
 * place waits for finish(), after the state is removed (see PartFile.commit for why that order).
 */
import type { ContentKey } from '@msd/common';
import type { PartFile } from './part-file';
import type { PieceMap } from './piece-map';
import type { PieceStore } from './piece-store';
import type { ResumeState } from './resume-state';
import type { StateStore } from './state-store';

export class SingleFileStore implements PieceStore {
  constructor(private readonly part: PartFile, private readonly state: StateStore<ResumeState>, private readonly content: ContentKey, private readonly fsync: boolean) {}

  get outPath(): string {
    return this.part.finalPath;
  }

  write(_file: number, buf: Buffer, start: number, end: number, pos: number): void {
    this.part.write(buf, start, end, pos);
  }

  readPath(): string {
    return this.part.path;
  }

  save(pm: PieceMap): Promise<void> {
    const c = this.content;
    const snapshot = { size: c.size, pieceSize: c.pieceSize, pieceCount: pm.grid.count, contentId: c.contentId, done: pm.done.clone(), partial: pm.partials() };
    return this.state.save(snapshot, () => (this.fsync ? this.part.sync() : Promise.resolve()), this.fsync);
  }

  fileComplete(): Promise<void> {
    return Promise.resolve();
  }

  finish(): Promise<void> {
    return this.part.commit(this.fsync, () => this.state.remove());
  }

  close(): void {
    this.part.close();
  }
}
