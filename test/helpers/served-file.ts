/**
 * A test fixture: a scratch directory with a random source file served by one segment-server
 * process (N listeners, optionally rate-limited), and its teardown.
 */
import * as path from 'node:path';
import { randomFile, removeDir, tempDir } from './files';
import { killAll, ServerSet, startServerSet } from './processes';

export interface ServedFile {
  dir: string;
  src: string;
  servers: ServerSet;
}

export async function serveRandomFile(o: { prefix: string; size: number; listeners: number; rateLimit?: number }): Promise<ServedFile> {
  const dir = tempDir(o.prefix);
  const src = randomFile(path.join(dir, 'src.bin'), o.size);
  const servers = await startServerSet(src, o.listeners, ['--rate-limit', String(Math.round(o.rateLimit ?? 0)), '--shutdown-timeout', '2']);
  return { dir, src, servers };
}

/** Stops the servers, kills whatever else the test left running, runs `beforeRemove`, removes the directory. */
export async function tearDown(f: ServedFile | undefined, beforeRemove: () => void = () => undefined): Promise<void> {
  await f?.servers.stop('SIGTERM');
  killAll();
  beforeRemove();
  if (f) removeDir(f.dir);
}
