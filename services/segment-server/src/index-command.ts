/**
 * `segment-server index FILE|DIR [options]`: hashes the file(s) the way the server would, writes
 * their index caches, and prints one line per file: content identity, two spaces, name (the
 * sha256sum layout). A fill step (an init container, a Job) runs it once so that every server
 * started on the same volume is ready at once. Takes the server's own settings (piece size, cache
 * directory, hashing threads, expected identity), so the cache it writes is the one they read.
 */
import { createLogger, ExitCode, MsdError } from '@msd/common';
import { Catalog } from './catalog';
import { indexSettings, readConfig } from './config';

export const INDEX_SYNOPSIS = 'index FILE|DIR [--piece-size N] [--index-cache-dir DIR] [--hash-threads N] [--expect-content-id HEX]';

export async function indexCommand(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const [target, ...rest] = argv;
  if (!target || target.startsWith('-')) {
    out.write(`usage: segment-server ${INDEX_SYNOPSIS}\n`);
    return target === '--help' || target === '-h' ? ExitCode.OK : ExitCode.USAGE;
  }
  const { config: c } = readConfig(['-f', target, ...rest], env);
  if (!c.indexCache) throw new MsdError('E_CONFIG', 'index writes the index cache, but --no-index-cache (MSD_INDEX_CACHE=false) turns it off; drop that setting');
  const log = createLogger({ name: 'segment-server', format: c.logFormat, level: c.logLevel });
  const catalog = await Catalog.open(target, c.pieceSize, log, indexSettings(c), true);
  try {
    const uncached: string[] = [];
    for (const e of catalog.list()) {
      out.write(`${e.index.contentId.toString('hex')}  ${e.name}\n`);
      if (!catalog.origin(e.name)?.cache) uncached.push(e.name);
    }
    if (uncached.length > 0) {
      throw new MsdError('E_IO', `the index cache of ${uncached.length} file(s) (${uncached.slice(0, 3).join(', ')}${uncached.length > 3 ? ', ...' : ''}) was not written (the log above says why); give --index-cache-dir a writable directory`);
    }
    return ExitCode.OK;
  } finally {
    catalog.close();
  }
}
