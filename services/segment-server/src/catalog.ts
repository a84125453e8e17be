/**
 * The set of files a server may serve: one file, or the regular files below one directory.
 * Clients name files; names are looked up in this catalog and never joined onto a path, so
 * nothing outside it can be served. Symlinks are followed only when they stay inside the root.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { FileIndex, indexFile, MAX_NAME_BYTES, MsdError, Logger } from '@msd/common';

const openAsync = promisify(fs.open);

export interface CatalogEntry {
  name: string;
  path: string;
  index: FileIndex;
  fd: number;
}

export class Catalog {
  private readonly entries = new Map<string, CatalogEntry>();
  constructor(readonly root: string, readonly directoryMode: boolean) {}

  get(name: string): CatalogEntry | undefined {
    if (!this.directoryMode) return name === '' || name === this.single()?.name ? this.single() : undefined;
    return this.entries.get(name);
  }
  single(): CatalogEntry | undefined {
    return this.directoryMode ? undefined : this.entries.values().next().value;
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

  static async open(location: string, pieceSize: number, log: Logger): Promise<Catalog> {
    let st;
    try {
      st = await fsp.stat(location);
    } catch (err) {
      throw new MsdError('E_CONFIG', `file_location (-f, MSD_FILE): cannot read "${location}": ${(err as Error).message}; give an existing file or directory`);
    }
    if (st.isFile()) {
      const c = new Catalog(path.dirname(path.resolve(location)), false);
      await c.add(path.basename(location), path.resolve(location), pieceSize, log);
      return c;
    }
    if (!st.isDirectory()) throw new MsdError('E_CONFIG', `file_location (-f, MSD_FILE): "${location}" is neither a regular file nor a directory`);
    const root = await fsp.realpath(location);
    const c = new Catalog(root, true);
    for (const rel of await walk(root, root)) await c.add(rel, path.join(root, rel), pieceSize, log);
    if (c.entries.size === 0) log.warn('directory has no regular files to serve', { directory: root });
    return c;
  }

  private async add(name: string, file: string, pieceSize: number, log: Logger): Promise<void> {
    if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
      log.warn('file not served: its name is longer than the protocol allows', { file: name.slice(0, 200), maxBytes: MAX_NAME_BYTES });
      return;
    }
    const started = Date.now();
    const fd = await openAsync(file, 'r');
    const index = await indexFile(file, pieceSize);
    this.entries.set(name, { name, path: file, index, fd });
    log.info('indexed file', { file: name, size: index.size, pieces: index.grid.count, contentId: index.contentId.toString('hex'), ms: Date.now() - started });
  }
}

/** Regular files below root (relative, '/'-separated); symlinks only when their target stays inside root. */
async function walk(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const items = await fsp.readdir(dir, { withFileTypes: true });
  for (const it of items) {
    const full = path.join(dir, it.name);
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
    if (st.isDirectory() && !it.isSymbolicLink()) out.push(...(await walk(root, full)));
    else if (st.isFile()) out.push(path.relative(root, full).split(path.sep).join('/'));
  }
  return out;
}
