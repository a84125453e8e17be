/**
 * The partial output file `NAME.part`: opened (never truncated when resuming), sized to the final
 * length (sparse), written at offsets synchronously from the receive path, and renamed to NAME
 * only when complete and verified.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { fileError, MsdError } from '@msd/common';

const fdatasync = promisify(fs.fdatasync);
const openAsync = promisify(fs.open);
const fsyncAsync = promisify(fs.fsync);
const closeAsync = promisify(fs.close);

export class PartFile {
  private constructor(readonly path: string, readonly finalPath: string, readonly fd: number, readonly existed: boolean) {}

  static open(finalPath: string, size: number, fresh: boolean): PartFile {
    const p = `${finalPath}.part`;
    let existed = false;
    let fd: number;
    try {
      existed = fs.existsSync(p);
      fd = fs.openSync(p, fresh || !existed ? 'w+' : 'r+');
      if (fs.fstatSync(fd).size !== size) fs.ftruncateSync(fd, size);
    } catch (err) {
      throw fileError('cannot open', p, err);
    }
    return new PartFile(p, finalPath, fd, existed && !fresh);
  }

  /** Positional write of buf[start, end) at pos; loops on short writes. Throws MsdError on failure. */
  write(buf: Buffer, start: number, end: number, pos: number): void {
    try {
      while (start < end) {
        const n = fs.writeSync(this.fd, buf, start, end - start, pos);
        start += n;
        pos += n;
      }
    } catch (err) {
      throw fileError('cannot write', this.path, err);
    }
  }

  async sync(): Promise<void> {
    try {
      await fdatasync(this.fd);
    } catch (err) {
      throw fileError('cannot sync', this.path, err);
    }
  }

  /**
   * fdatasync (unless told not to), close, run `beforeRename` (the caller removes the resume state
   * there: a kill after it leaves a part file without state, which is re-verified locally, rather
   * than a finished file beside a state whose part file is gone), rename into place, fsync the directory.
   */
  async commit(durable = true, beforeRename: () => Promise<void> = async () => undefined): Promise<void> {
    if (durable) await this.sync();
    this.close();
    await beforeRename();
    try {
      fs.renameSync(this.path, this.finalPath);
      if (durable) await syncDir(path.dirname(this.finalPath));
    } catch (err) {
      throw fileError('cannot rename into place', this.finalPath, err);
    }
  }

  /** Idempotent: a second close must never close a descriptor number the process reused meanwhile. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { fs.closeSync(this.fd); } catch { /* already gone */ }
  }
  private closed = false;
}

/** fsync of a directory (makes a rename durable), off the event loop. */
export async function syncDir(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = await openAsync(dir, 'r');
    await fsyncAsync(fd);
  } catch {
    // some filesystems do not allow fsync on directories; the rename is still atomic
  } finally {
    if (fd !== undefined) await closeAsync(fd).catch(() => undefined);
  }
}

/**
 * Checks `-o` before any server is contacted (settings are validated before anything starts):
 * an existing directory, or a file name whose directory exists. Returns true for a directory.
 */
export function checkOutputLocation(output: string): boolean {
  let isDir = false;
  try {
    isDir = fs.statSync(output).isDirectory();
  } catch { /* not there: a file name */ }
  if (isDir) return true;
  if (output.endsWith('/')) throw new MsdError('E_CONFIG', `output_location (-o, MSD_OUTPUT): directory ${output} does not exist; create it first`);
  const parent = path.dirname(path.resolve(output));
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(parent);
  } catch { /* missing */ }
  if (!st) throw new MsdError('E_CONFIG', `output_location (-o, MSD_OUTPUT): directory ${parent} does not exist; create it first`);
  if (!st.isDirectory()) throw new MsdError('E_CONFIG', `output_location (-o, MSD_OUTPUT): ${parent} is not a directory`);
  return false;
}

/** Where the output goes: `-o` names a file, or an existing directory to put the served name in. */
export function resolveOutputPath(output: string, servedName: string): string {
  if (!checkOutputLocation(output)) return path.resolve(output);
  const base = path.basename(servedName.replace(/\\/g, '/'));
  const safe = base && base !== '.' && base !== '..' ? base : 'download.bin';
  return path.join(path.resolve(output), safe);
}
