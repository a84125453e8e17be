/**
 * The index of one open file: from its cache when the cache matches the file, else hashed on every
 * core and saved for the next start. A cache that does not match is never used; the log says why
 * in one line. An unwritable cache directory only costs the next start its speed (a warning).
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { errorMessage, FileIndex, formatBytes, fileIndexOf, Logger, MsdError, PieceGrid, PieceHasher } from '@msd/common';
import type { FileStamp } from './index-cache-codec';
import { readIndexCache, stampOf, writeIndexCache } from './index-cache';

const fstatAsync = promisify(fs.fstat);

/**
 * A change less than this long after the file's last modification could leave its mtime unchanged
 * on file systems with coarse timestamps (seconds on some NFS servers, 2 s on FAT): such an index is
 * served but not cached (the rule git uses for "racily clean" entries).
 */
export const RACY_NS = 2_000_000_000n;

export interface CachedIndexRequest {
  /** the path, for the hashing threads' messages and the log */
  file: string;
  /** the descriptor that will be served: what is indexed and what the cache is bound to */
  fd: number;
  pieceSize: number;
  /** the cache file to read and write; undefined = in memory only */
  cachePath: string | undefined;
  hasher: PieceHasher;
  log: Logger;
  /** wait out the racy window instead of leaving a just-written file uncached (the index command) */
  waitForStableMtime?: boolean;
}

export interface CachedIndex {
  index: FileIndex;
  source: 'cache' | 'hashed';
  /** the cache written or read; undefined when the index lives in memory only */
  cached: string | undefined;
}

export async function cachedIndex(r: CachedIndexRequest): Promise<CachedIndex> {
  const stamp = stampOf(await fstatAsync(r.fd, { bigint: true }));
  if (r.cachePath) {
    const found = await readIndexCache(r.cachePath, stamp, r.pieceSize);
    if ('index' in found) return { index: found.index, source: 'cache', cached: r.cachePath };
    if (found.missing) r.log.info('no index cache yet: indexing', { file: r.file, cache: r.cachePath });
    else r.log.warn(`index cache not used: ${found.reason}; indexing again`, { file: r.file, cache: r.cachePath });
  }
  const { index, stamp: hashedStamp, startedNs } = await hashStable(r, stamp);
  if (!r.cachePath) return { index, source: 'hashed', cached: undefined };
  const age = startedNs - hashedStamp.mtimeNs;
  if (age < RACY_NS) {
    r.log.info(age < 0n ? 'index not cached: the file is modified in the future (clock skew?); it is indexed again at the next start'
      : 'index not cached: the file was modified less than 2 s before indexing started; it is cached at the next start', { file: r.file });
    return { index, source: 'hashed', cached: undefined };
  }
  try {
    await writeIndexCache(r.cachePath, hashedStamp, index);
    return { index, source: 'hashed', cached: r.cachePath };
  } catch (err) {
    r.log.warn(`index cache not written (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}): the index lives in memory and is hashed again at every start; give --index-cache-dir (MSD_INDEX_CACHE_DIR) a writable directory, or --no-index-cache`, { file: r.file, cache: r.cachePath });
    return { index, source: 'hashed', cached: undefined };
  }
}

/** Hashes the file; a file that changes meanwhile is hashed once more, then refused. */
async function hashStable(r: CachedIndexRequest, first: FileStamp): Promise<{ index: FileIndex; stamp: FileStamp; startedNs: bigint }> {
  let before = first;
  for (let attempt = 1; ; attempt++) {
    let startedNs = nowNs();
    // (a loop: a timer may fire a little early, by the event loop's cached clock)
    for (let wait = before.mtimeNs + RACY_NS - startedNs; r.waitForStableMtime && r.cachePath && wait > 0n && wait <= RACY_NS; wait = before.mtimeNs + RACY_NS - startedNs) {
      await new Promise((res) => setTimeout(res, Number(wait / 1_000_000n) + 1));
      startedNs = nowNs();
    }
    const grid = new PieceGrid(Number(before.size), r.pieceSize);
    const digests = await r.hasher.hash(r.file, grid, { fd: r.fd, onProgress: progressLog(r, grid) });
    const after = stampOf(await fstatAsync(r.fd, { bigint: true }));
    if (sameStamp(before, after)) return { index: fileIndexOf(grid, digests), stamp: after, startedNs };
    if (attempt === 2) throw new MsdError('E_IO', `${r.file} keeps changing while it is indexed (size or modification time moved twice); serve it once it is complete`);
    r.log.warn('file changed while it was indexed: indexing again', { file: r.file });
    before = after;
  }
}

/** A line every 10 s while a large file is hashed: the startup probe is waiting, and so is someone reading the log. */
function progressLog(r: CachedIndexRequest, grid: PieceGrid): (done: number, total: number) => void {
  let last = Date.now();
  return (done, total) => {
    if (Date.now() - last < PROGRESS_LOG_MS) return;
    last = Date.now();
    r.log.info('indexing', { file: r.file, percent: Math.floor((100 * done) / total), hashed: formatBytes(Math.min(grid.size, done * grid.pieceSize)), size: formatBytes(grid.size) });
  };
}
const PROGRESS_LOG_MS = 10_000;

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.dev === b.dev && a.ino === b.ino;
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
