/**
 * A directory download's bytes: `DIR/NAME.part` per file, opened on first write and kept in a
 * small bounded table of open descriptors (a set of 10,000 files never holds 10,000 open), and
 * renamed to `DIR/NAME` as soon as that file is complete and verified; one resume state for the
 * whole set in `DIR/.msd-set.state`.
 *
 * Durability with fsync on: a file's data is fdatasync'd before its rename and before any state
 * that claims its pieces; the directories the renames touched are fsync'd at finish(). Files that
 * complete together are synced together (in parallel, then renamed in order): a set of many small
 * files pays for a few journal commits, not one per file. A descriptor is never closed while a
 * sync on it is under way (its number could be reused by the next open). A crash
 * between a rename and that fsync can at worst bring back the part file, which a rerun finds
 * without its state entry and handles as the --on-bad-state policy says, never silently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { fileError, MsdError } from '@msd/common';
import { syncDir } from './part-file';
import type { PieceMap } from './piece-map';
import type { PieceStore } from './piece-store';
import { PART_SUFFIX } from './set-names';
import type { SetLayout } from './set-layout';
import { openPartFile } from './set-paths';
import type { SetState, SetStateSource } from './set-state';
import type { StateStore } from './state-store';

const fdatasync = promisify(fs.fdatasync);

/** Part files open at once: more than the connections of a large run (16 servers x 4), bounded whatever the set. */
const MAX_OPEN = 128;
/** Files synced and renamed in one go. */
const PLACE_BATCH = 64;

interface Waiting { file: number; resolve: () => void; reject: (e: Error) => void }

export interface SetStoreInputs {
  dir: string;
  layout: SetLayout;
  state: StateStore<SetStateSource, SetState>;
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
  /** Directories known to exist (made or found by an earlier open): no mkdir per file. */
  private readonly madeDirs = new Set<string>();
  /** Files waiting to go into place, and whether the placing loop runs. */
  private readonly toPlace: Waiting[] = [];
  private placingLoop: Promise<void> | undefined;
  /** Descriptors with a sync under way: not evicted until it ends. */
  private readonly pinned = new Map<number, number>();
  /**
   * State syncs and placing batches run one after the other: a rename closes its descriptor, which
   * must not happen while a state save's sync of the same file is still under way.
   */
  private io: Promise<unknown> = Promise.resolve();
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
      const at = this.partPath(file);
      const dir = path.dirname(at);
      fd = openPartFile(at, this.layout.files[file].size, this.fresh[file] === 1, this.madeDirs.has(dir));
      this.madeDirs.add(dir);
      this.fresh[file] = 0;
      this.open.set(file, fd);
    }
    this.lastFile = file;
    this.lastFd = fd;
    return fd;
  }

  private evictOldest(): void {
    let victim: [number, number] | undefined;
    for (const e of this.open) if (!this.pinned.has(e[0])) { victim = e; break; }
    if (!victim) return; // every one is being synced: open one more for now
    const [file, fd] = victim;
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

  /**
   * Every file of the listing (so a rerun can tell what was added and removed), with its pieces,
   * read straight from the piece map: no object per file.
   */
  private snapshot(pm: PieceMap): SetStateSource {
    const layout = this.layout;
    const byFile = new Map<number, [number, number][]>();
    for (const [p, n] of pm.partials()) {
      const f = layout.fileOf(p);
      let list = byFile.get(f);
      if (!list) byFile.set(f, (list = []));
      list.push([p - layout.piecesOf(f).first, n]);
    }
    const none: [number, number][] = [];
    return {
      pieceSize: layout.pieceSize,
      count: layout.files.length,
      name: (i) => layout.files[i].name,
      size: (i) => layout.files[i].size,
      contentId: (i) => layout.files[i].contentId,
      isDone: (i, k) => this.placed[i] === 1 || pm.isDone(layout.firstPieceOf(i) + k),
      partial: (i) => (this.placed[i] === 1 ? none : byFile.get(i) ?? none),
    };
  }

  private syncDirty(): Promise<void> {
    if (!this.i.fsync) return Promise.resolve();
    return this.serial(async () => {
      const files = [...this.dirty].filter((f) => this.open.has(f)); // evicted ones were synced then, renamed ones before
      this.dirty.clear();
      await Promise.all(files.map((f) => this.sync(f)));
    });
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.io.then(f, f);
    this.io = run.catch(() => undefined);
    return run;
  }

  /** fdatasync of an open part file, pinned meanwhile. */
  private async sync(file: number): Promise<void> {
    const fd = this.fdOf(file);
    this.pinned.set(file, (this.pinned.get(file) ?? 0) + 1);
    try {
      await fdatasync(fd);
    } catch (err) {
      throw fileError('cannot sync', this.partPath(file), err);
    } finally {
      const n = this.pinned.get(file)! - 1;
      if (n === 0) this.pinned.delete(file);
      else this.pinned.set(file, n);
    }
  }

  fileComplete(file: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.toPlace.push({ file, resolve, reject });
      this.placingLoop ??= this.placeWaiting().finally(() => { this.placingLoop = undefined; });
    });
  }

  /** Batches of waiting files: synced in parallel, then each closed and renamed NAME.part -> NAME. */
  private async placeWaiting(): Promise<void> {
    while (this.toPlace.length > 0) {
      await this.serial(() => this.placeBatch(this.toPlace.splice(0, PLACE_BATCH)));
    }
  }

  private async placeBatch(batch: Waiting[]): Promise<void> {
    try {
      const todo = batch.filter((w) => this.placed[w.file] === 0);
      // a file with no new bytes (all resumed, or 0 bytes) is opened, so created, here
      if (this.i.fsync) await Promise.all(todo.map((w) => this.sync(w.file)));
      else for (const w of todo) this.fdOf(w.file);
      if (this.closed) throw new MsdError('E_CANCELLED', 'the download stopped; the part files stay for a rerun');
      for (const w of todo) this.rename(w.file);
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err as Error);
    }
  }

  private rename(file: number): void {
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
    await this.placingLoop;
    if (this.i.fsync) for (const d of this.renamedIn) await syncDir(d);
    await this.i.state.remove();
  }

  close(): void {
    this.closed = true;
    for (const file of [...this.open.keys()]) this.closeFd(file);
  }
}
