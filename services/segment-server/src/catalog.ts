/**
 * The set of files a server may serve: one file, or the regular files below one directory.
 * Clients name files; names are looked up in this catalog and never joined onto a path, so
 * nothing outside it can be served. Symlinks are followed only when they stay inside the root.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { defaultHashThreads, FileIndex, MAX_NAME_BYTES, MsdError, Logger, PieceHasher } from '@msd/common';
import { cachedIndex } from './cached-index';
import { BESIDE_CACHE_DIR, cacheDirectory, cacheFileFor, IndexCacheSettings } from './index-cache';

const openAsync = promisify(fs.open);

/** How the catalog's files are indexed. */
export interface IndexSettings {
  cache: IndexCacheSettings;
  /** hashing threads; 0 = every available core */
  threads: number;
  /** hex content identity the (single) file must have; '' = any */
  expectContentId: string;
}

export interface CatalogEntry {
  name: string;
  path: string;
  index: FileIndex;
  fd: number;
}

/** Where a file's index came from, and the cache file that holds it (undefined: in memory only). */
export interface IndexOrigin {
  source: 'cache' | 'hashed';
  cache: string | undefined;
}

export class Catalog {
  private readonly entries = new Map<string, CatalogEntry>();
  private readonly origins = new Map<string, IndexOrigin>();
  constructor(readonly root: string, readonly directoryMode: boolean) {}

  get(name: string): CatalogEntry | undefined {
    if (!this.directoryMode) return name === '' || name === this.single()?.name ? this.single() : undefined;
    return this.entries.get(name);
  }
  single(): CatalogEntry | undefined {
    return this.directoryMode ? undefined : this.entries.values().next().value;
  }
  origin(name: string): IndexOrigin | undefined {
    return this.origins.get(name);
  }
  list(): CatalogEntry[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
  close(): void {
    for (const e of this.entries.values()) {
      try { fs.closeSync(e.fd); } catch { /* already closed */ }
    }
    this.entries.clear();
  }

  /** `fill`: the index command, which waits out a just-modified file's racy window so that it is cached. */
  static async open(location: string, pieceSize: number, log: Logger, indexing: IndexSettings, fill = false): Promise<Catalog> {
    let st;
    try {
      st = await fsp.stat(location);
    } catch (err) {
      throw new MsdError('E_CONFIG', `file_location (-f, MSD_FILE): cannot read "${location}": ${(err as Error).message}; give an existing file or directory`);
    }
    if (!st.isFile() && !st.isDirectory()) throw new MsdError('E_CONFIG', `file_location (-f, MSD_FILE): "${location}" is neither a regular file nor a directory`);
    if (st.isDirectory() && indexing.expectContentId) {
      throw new MsdError('E_CONFIG', 'expect-content-id (--expect-content-id, MSD_EXPECT_CONTENT_ID) pins the identity of one file, but file_location is a directory; serve the file itself, or drop the setting');
    }
    const root = st.isFile() ? path.dirname(path.resolve(location)) : await fsp.realpath(location);
    const cacheDir = cacheDirectory(root, indexing.cache);
    const c = new Catalog(root, st.isDirectory());
    const hasher = new PieceHasher(indexing.threads || defaultHashThreads());
    try {
      if (st.isFile()) {
        await c.add(path.basename(location), path.resolve(location), pieceSize, log, hasher, cacheDir, fill);
      } else {
        const skip = cacheDir && (await fsp.realpath(cacheDir).catch(() => cacheDir));
        for (const rel of await walk(root, root, skip)) await c.add(rel, path.join(root, rel), pieceSize, log, hasher, cacheDir, fill);
        if (c.entries.size === 0) log.warn('directory has no regular files to serve', { directory: root });
      }
    } catch (err) {
      c.close();
      throw err;
    } finally {
      await hasher.close();
    }
    const single = c.single();
    if (single && indexing.expectContentId && single.index.contentId.toString('hex') !== indexing.expectContentId.toLowerCase()) {
      c.close();
      throw new MsdError('E_CONFIG', `${location} has content identity ${single.index.contentId.toString('hex')}, but expect-content-id (--expect-content-id, MSD_EXPECT_CONTENT_ID) is ${indexing.expectContentId.toLowerCase()}: this is not the file this server is configured to serve; put the right file in place or change the setting`);
    }
    return c;
  }

  private async add(name: string, file: string, pieceSize: number, log: Logger, hasher: PieceHasher, cacheDir: string | undefined, fill: boolean): Promise<void> {
    if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
      log.warn('file not served: its name is longer than the protocol allows', { file: name.slice(0, 200), maxBytes: MAX_NAME_BYTES });
      return;
    }
    const started = Date.now();
    const fd = await openAsync(file, 'r');
    try {
      const cachePath = cacheDir && cacheFileFor(cacheDir, await fsp.realpath(file), pieceSize);
      const { index, source, cached } = await cachedIndex({ file, fd, pieceSize, cachePath, hasher, log, waitForStableMtime: fill });
      this.entries.set(name, { name, path: file, index, fd });
      this.origins.set(name, { source, cache: cached });
      log.info('indexed file', { file: name, size: index.size, pieces: index.grid.count, contentId: index.contentId.toString('hex'), source, cache: cached ?? 'none', ms: Date.now() - started });
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }
}

/**
 * Regular files below root (relative, '/'-separated); symlinks only when their target stays inside
 * root. Index cache directories (the one in use, and any `.msd-index`) are never served.
 */
async function walk(root: string, dir: string, cacheDir: string | undefined): Promise<string[]> {
  const out: string[] = [];
  const items = await fsp.readdir(dir, { withFileTypes: true });
  for (const it of items) {
    const full = path.join(dir, it.name);
    if (full === cacheDir || (it.name === BESIDE_CACHE_DIR && it.isDirectory())) continue;
    let target = full;
    if (it.isSymbolicLink()) {
      try {
        target = await fsp.realpath(full);
      } catch {
        continue; // dangling link
      }
      if (target !== root && !target.startsWith(root + path.sep)) continue; // leads outside: never served
    }
    const st = await fsp.stat(target).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory() && !it.isSymbolicLink()) out.push(...(await walk(root, full, cacheDir)));
    else if (st.isFile()) out.push(path.relative(root, full).split(path.sep).join('/'));
  }
  return out;
}
