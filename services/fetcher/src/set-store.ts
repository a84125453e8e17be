/**
 * A directory download's bytes: `DIR/NAME.part` per file, opened on first write and kept in a
 * small bounded table of open descriptors (a set of 10,000 files never holds 10,000 open), and
 * renamed to `DIR/NAME` as soon as that file is complete and verified; one resume state for the
 * whole set in `DIR/.msd-set.state`.
 *
 * Durability with fsync on: a file's data is fdatasync'd before its rename and before any state
 * that claims its pieces; the directories the renames touched are fsync'd at finish(). A crash
 * between a rename and that fsync can at worst bring back the part file, which a rerun finds
 * without its state entry and handles as the --on-bad-state policy says, never silently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Bitfield, fileError } from '@msd/common';
import { syncDir } from './part-file';
import type { PieceMap } from './piece-map';
import type { PieceStore } from './piece-store';
import { PART_SUFFIX } from './set-names';
import type { SetLayout } from './set-layout';
import { openPartFile } from './set-paths';
import type { SetState } from './set-state';
import type { StateStore } from './state-store';

const fdatasync = promisify(fs.fdatasync);

/** Part files open at once: more than the connections of a large run (16 servers x 4), bounded whatever the set. */
const MAX_OPEN = 128;

export interface SetStoreInputs {
  dir: string;
  layout: SetLayout;
  state: StateStore<SetState>;
  /** Files already complete in place (checked in this run): nothing to write or rename. */
  placed: readonly boolean[];
  /** Files whose part file starts over on its first open (new, changed, or not resumable). */
  fresh: readonly boolean[];
  fsync: boolean;
}

export class SetStore implements PieceStore {
  readonly outPath: string;
  private readonly layout: SetLayout;
  /** Open part files, least recently opened first (Map keeps insertion order). */
  private readonly open = new Map<number, number>();
  /** Written since the last state save: synced before the next one. */
  private readonly dirty = new Set<number>();
  private readonly fresh: Uint8Array;
  private readonly placed: Uint8Array;
  private readonly renamedIn = new Set<string>();
  private commits: Promise<void> = Promise.resolve();
  private closed = false;
  private lastFile = -1;
  private lastFd = -1;

  constructor(private readonly i: SetStoreInputs) {
    this.outPath = i.dir;
    this.layout = i.layout;
    this.fresh = Uint8Array.from(i.fresh, (b) => (b ? 1 : 0));
    this.placed = Uint8Array.from(i.placed, (b) => (b ? 1 : 0));
  }

  private partPath(file: number): string {
    return path.join(this.i.dir, this.layout.files[file].name + PART_SUFFIX);
  }

  private finalPath(file: number): string {
    return path.join(this.i.dir, this.layout.files[file].name);
  }

  private fdOf(file: number): number {
    if (file === this.lastFile) return this.lastFd;
    let fd = this.open.get(file);
    if (fd === undefined) {
      if (this.open.size >= MAX_OPEN) this.evictOldest();
      fd = openPartFile(this.partPath(file), this.layout.files[file].size, this.fresh[file] === 1);
      this.fresh[file] = 0;
      this.open.set(file, fd);
    }
    this.lastFile = file;
    this.lastFd = fd;
    return fd;
  }

  private evictOldest(): void {
    const [file, fd] = this.open.entries().next().value as [number, number];
    // its bytes must be durable before a state that claims them; a closed file cannot be synced later
    if (this.i.fsync && this.dirty.has(file)) {
      try { fs.fdatasyncSync(fd); } catch (err) { throw fileError('cannot sync', this.partPath(file), err); }
    }
    this.dirty.delete(file);
    this.closeFd(file);
  }

  private closeFd(file: number): void {
    const fd = this.open.get(file);
    if (fd === undefined) return;
    this.open.delete(file);
    if (file === this.lastFile) this.lastFile = -1;
    try { fs.closeSync(fd); } catch { /* already gone */ }
  }

  write(file: number, buf: Buffer, start: number, end: number, pos: number): void {
    const fd = this.fdOf(file);
    try {
      while (start < end) {
        const n = fs.writeSync(fd, buf, start, end - start, pos);
        start += n;
        pos += n;
      }
    } catch (err) {
      throw fileError('cannot write', this.partPath(file), err);
    }
    this.dirty.add(file);
  }

  readPath(file: number): string {
    return this.partPath(file);
  }

  async save(pm: PieceMap): Promise<void> {
    await this.i.state.save(this.snapshot(pm), () => this.syncDirty(), this.i.fsync);
  }

  /** Every file of the listing (so a rerun can tell what was added and removed), with its pieces. */
  private snapshot(pm: PieceMap): SetState {
    const partial = pm.partials();
    const entries = this.layout.files.map((f, k) => {
      const { first, end } = this.layout.piecesOf(k);
      const done = new Bitfield(end - first);
      const mine = new Map<number, number>();
      for (let p = first; p < end; p++) {
        if (this.placed[k] === 1 || pm.isDone(p)) done.set(p - first);
        else if (partial.has(p)) mine.set(p - first, partial.get(p)!);
      }
      return { name: f.name, size: f.size, contentId: f.contentId, done, partial: mine };
    });
    return { pieceSize: this.layout.pieceSize, entries };
  }

  private async syncDirty(): Promise<void> {
    if (!this.i.fsync) return;
    const files = [...this.dirty];
    this.dirty.clear();
    for (const file of files) {
      const fd = this.open.get(file);
      if (fd === undefined) continue; // evicted (synced then) or renamed (synced before)
      try { await fdatasync(fd); } catch (err) { throw fileError('cannot sync', this.partPath(file), err); }
    }
  }

  fileComplete(file: number): Promise<void> {
    this.commits = this.commits.then(() => this.place(file));
    return this.commits;
  }

  /** fdatasync, close, rename NAME.part to NAME (over an older NAME, atomically). */
  private async place(file: number): Promise<void> {
    if (this.placed[file] === 1 || this.closed) return;
    const fd = this.fdOf(file); // a file with no new bytes (all resumed, or 0 bytes) is opened (created) here
    if (this.i.fsync) {
      try { await fdatasync(fd); } catch (err) { throw fileError('cannot sync', this.partPath(file), err); }
    }
    this.dirty.delete(file);
    this.closeFd(file);
    const to = this.finalPath(file);
    try {
      fs.renameSync(this.partPath(file), to);
    } catch (err) {
      throw fileError('cannot rename into place', to, err);
    }
    this.placed[file] = 1;
    this.renamedIn.add(path.dirname(to));
  }

  /** Files in place, this run's and those found complete. */
  get placedCount(): number {
    let n = 0;
    for (const b of this.placed) n += b;
    return n;
  }

  isPlaced(file: number): boolean {
    return this.placed[file] === 1;
  }

  async finish(): Promise<void> {
    await this.commits;
    if (this.i.fsync) for (const d of this.renamedIn) await syncDir(d);
    await this.i.state.remove();
  }

  close(): void {
    this.closed = true;
    for (const file of [...this.open.keys()]) this.closeFd(file);
  }
}
