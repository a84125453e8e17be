/**
 * Where index caches live and how they are read and written. Written crash-safely (a temp file of
 * its own, fsync, rename over, fsync the directory), so a reader sees a whole old cache or a whole
 * new one, and servers sharing one cache directory never see each other's half-written files.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { FileIndex } from '@msd/common';
import { decodeIndexCache, encodeIndexCache, FileStamp } from './index-cache-codec';

/** The cache directory used when none is set: beside the served file(s), never served itself. */
export const BESIDE_CACHE_DIR = '.msd-index';

export interface IndexCacheSettings {
  /** false: always index in memory (--no-index-cache) */
  enabled: boolean;
  /** '' = BESIDE_CACHE_DIR in the served directory (or the served file's directory) */
  dir: string;
}

export function cacheDirectory(root: string, settings: IndexCacheSettings): string | undefined {
  if (!settings.enabled) return undefined;
  return settings.dir ? path.resolve(settings.dir) : path.join(root, BESIDE_CACHE_DIR);
}

/**
 * One cache file per (real path, piece size): readable name, plus a digest of the path so files
 * of the same name in different places, or servers sharing the directory, never collide.
 */
export function cacheFileFor(dir: string, realFile: string, pieceSize: number): string {
  const tag = createHash('sha256').update(realFile).digest('hex').slice(0, 16);
  const readable = path.basename(realFile).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return path.join(dir, `${readable}.${tag}.p${pieceSize}.idx`);
}

export function stampOf(st: fs.BigIntStats): FileStamp {
  return { size: st.size, mtimeNs: st.mtimeNs, dev: st.dev, ino: st.ino };
}

export async function readIndexCache(file: string, stamp: FileStamp, pieceSize: number): Promise<{ index: FileIndex } | { reason: string; missing?: true }> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { reason: 'there is none yet', missing: true };
    return { reason: `it cannot be read (${e.code ?? e.message})` };
  }
  return decodeIndexCache(bytes, stamp, pieceSize);
}

/** Throws the system error when the directory is not writable (the caller decides what that means). */
export async function writeIndexCache(file: string, stamp: FileStamp, index: FileIndex): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await fsp.open(tmp, 'wx', 0o644);
  try {
    try {
      await fh.writeFile(encodeIndexCache(stamp, index));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  // the rename itself must survive a crash, or a restart finds no cache (or, worse, none for a while)
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
  await removeStaleTemps(file);
}

/**
 * Temp files of this entry left by a writer that crashed before its rename. Only old ones: a
 * younger one may belong to another server writing the same entry right now.
 */
const STALE_TEMP_MS = 3600_000;
async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const st = await fsp.stat(path.join(dir, name)).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > STALE_TEMP_MS) await fsp.rm(path.join(dir, name), { force: true }).catch(() => undefined);
  }
}
