/**
 * Saving and loading the resume state beside the part file, crash-safe:
 * data fdatasync → write temp file → fsync → rename over the old state → fsync the directory.
 * A crash at any step leaves either the old state or the new one, never a torn file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { fileError } from '@msd/common';
import { decodeState, encodeState, ResumeState, StateDecodeError } from './resume-state';
import { syncDir } from './part-file';

const writeFile = promisify(fs.writeFile);
const open = promisify(fs.open);
const fsync = promisify(fs.fsync);
const close = promisify(fs.close);
const rename = promisify(fs.rename);

export type LoadResult =
  | { kind: 'none' }
  | { kind: 'ok'; state: ResumeState }
  | { kind: 'damaged'; reason: string };

export class StateStore {
  readonly path: string;
  private readonly tmp: string;
  constructor(partPath: string) {
    this.path = `${partPath}.state`;
    this.tmp = `${partPath}.state.tmp`;
  }

  load(): LoadResult {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'damaged', reason: (err as Error).message };
    }
    try {
      return { kind: 'ok', state: decodeState(buf) };
    } catch (err) {
      if (err instanceof StateDecodeError) return { kind: 'damaged', reason: err.message };
      throw err;
    }
  }

  /** `syncData` must make every byte the state claims durable before the state is written. */
  async save(state: ResumeState, syncData: () => Promise<void>, durable = true): Promise<void> {
    await syncData();
    try {
      await writeFile(this.tmp, encodeState(state));
      if (durable) {
        const fd = await open(this.tmp, 'r');
        try {
          await fsync(fd);
        } finally {
          await close(fd);
        }
      }
      await rename(this.tmp, this.path);
      if (durable) await syncDir(path.dirname(this.path));
    } catch (err) {
      // a temp file half written (disk full) must not outlive the failed save
      try { fs.unlinkSync(this.tmp); } catch { /* not there */ }
      throw fileError('cannot save resume state', this.path, err);
    }
  }

  async remove(): Promise<void> {
    for (const p of [this.path, this.tmp]) {
      try { fs.unlinkSync(p); } catch { /* gone */ }
    }
    await syncDir(path.dirname(this.path));
  }
}
