/**
 * Saving and loading a resume state (`BASE.state`: beside the part file for one file, in the
 * output directory for a set), crash-safe:
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

export type LoadResult<T> =
  | { kind: 'none' }
  | { kind: 'ok'; state: T }
  | { kind: 'damaged'; reason: string };

/** A state's byte form (saved from T, loaded as D); decode throws StateDecodeError for bytes it cannot trust. */
export interface StateCodec<T, D = T> {
  encode(state: T): Buffer;
  decode(bytes: Buffer): D;
}

export const FILE_STATE: StateCodec<ResumeState> = { encode: encodeState, decode: decodeState };

export class StateStore<T, D = T> {
  readonly path: string;
  private readonly tmp: string;
  constructor(base: string, private readonly codec: StateCodec<T, D>) {
    this.path = `${base}.state`;
    this.tmp = `${base}.state.tmp`;
  }

  load(): LoadResult<D> {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'damaged', reason: (err as Error).message };
    }
    try {
      return { kind: 'ok', state: this.codec.decode(buf) };
    } catch (err) {
      if (err instanceof StateDecodeError) return { kind: 'damaged', reason: err.message };
      throw err;
    }
  }

  /** `syncData` must make every byte the state claims durable before the state is written. */
  async save(state: T, syncData: () => Promise<void>, durable = true): Promise<void> {
    await syncData();
    try {
      await writeFile(this.tmp, this.codec.encode(state));
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
