/**
 * Where index caches live and how they are read and written. Written crash-safely (a temp file of
 * its own, rename over), so a reader sees a whole old cache or a whole
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

/**
 * Throws the system error when the directory is not writable (the caller decides what that means).
 * Atomic (temp file, rename over) but not fsync'd: the cache carries its own checksum and is
 * bound to the file's stamp, so a cache lost or torn by a power failure is found out on read
 * and the file hashed again; two fsyncs per file made a directory of 10,000 files take over a
 * minute to start (docs/decisions.md, "Index cache writes").
 */
export async function writeIndexCache(file: string, stamp: FileStamp, index: FileIndex): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(tmp, encodeIndexCache(stamp, index), { flag: 'wx', mode: 0o644 });
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await removeStaleTemps(dir);
}

/**
 * Temp files left by writers that crashed before their rename: swept once per directory per
 * process (not per write: a readdir per file is quadratic in the directory). Only old ones: a
 * younger one may belong to another server writing the same entry right now.
 */
const STALE_TEMP_MS = 3600_000;
const swept = new Set<string>();
async function removeStaleTemps(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.endsWith('.tmp')) continue;
    const st = await fsp.stat(path.join(dir, name)).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > STALE_TEMP_MS) await fsp.rm(path.join(dir, name), { force: true }).catch(() => undefined);
  }
}
