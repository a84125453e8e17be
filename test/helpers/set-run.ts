/**
 * Set mode (a whole served directory into one DIR): the servers of a test, the fetcher's own
 * files in DIR, its closing log line, and waiting on DIR while a run works (the files on disk are
 * what a user sees, so the tests watch them rather than a log format).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeDir, tempDir } from './files';
import { filesBelow, makeTree, TreeSpec } from './served-directory';
import { killAll, LogLine, Proc, ServerSet, startServerSet } from './processes';

/** The lock of a set download: it may stay after the run (the kernel lock went with the process). */
export const SET_LOCK = '.msd-set.lock';
/** The one resume state of a set: gone once the set is complete. */
export const SET_STATE = '.msd-set.state';
/** The servers' piece size in these tests: small, so a few-hundred-KiB file spans several pieces. */
export const SET_PIECE = 64 * 1024;

/**
 * One segment-server process with `n` listeners serving `dir` in directory mode. No index cache:
 * it would be written into the served directory, and the tests compare that tree.
 */
export function startSetServers(dir: string, n: number, extra: string[] = []): Promise<ServerSet> {
  return startServerSet(dir, n, ['--piece-size', String(SET_PIECE), '--no-index-cache', '--shutdown-timeout', '1', ...extra]);
}

export const portsOf = (s: ServerSet): string[] => s.ports.map(String);

/** The lock, which the spec lets stay; every other name in DIR is looked at. */
export const isLock = (rel: string): boolean => rel === SET_LOCK;

/** `.part` files and the set state below DIR: what a finished set must not leave. */
export function leftovers(dir: string): string[] {
  return filesBelow(dir).filter((f) => f.endsWith('.part') || f === SET_STATE);
}

/** The run's last log line (the spec: it says how many files and bytes). */
export function lastLine(logs: LogLine[]): LogLine {
  const l = logs.at(-1);
  if (!l) throw new Error('the fetcher logged nothing');
  return l;
}

/** Bytes the run received from the servers, as its last log line reports them. */
export function bytesReceived(logs: LogLine[]): number {
  const l = lastLine(logs);
  if (typeof l.bytesReceived !== 'number') throw new Error(`the last log line has no numeric bytesReceived: ${JSON.stringify(l)}`);
  return l.bytesReceived;
}

/** Whether `line` names the file count (in its message, or as a `files` field) and the byte total. */
export function namesCounts(line: LogLine, files: number, bytes: number): boolean {
  const text = JSON.stringify(line);
  const count = `(${files}|${files.toLocaleString('en-US')})`; // 10000 or 10,000
  const filesNamed = new RegExp(`(^|\\D)${count} files\\b`).test(line.msg) || line.files === files;
  return filesNamed && text.includes(String(bytes));
}

/**
 * Resolves once `done(names)` holds for the regular files below `dir` (checked every 25 ms);
 * rejects when `p` exits first or after `timeoutMs`, with what was there.
 */
export async function waitForTree(p: Proc, dir: string, done: (names: string[]) => boolean, what: string, timeoutMs = 30_000): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const names = fs.existsSync(dir) ? filesBelow(dir) : [];
    if (done(names)) return names;
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`the fetcher exited (${p.child.exitCode ?? p.child.signalCode}) before ${what}; DIR held: ${names.join(', ')}; output:\n${p.output().slice(-2000)}`);
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; DIR held: ${names.join(', ')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A served tree with two server processes on it: one rate-limited (so a run can be caught mid-way), one at full speed. */
export interface SlowAndFast {
  dir: string;
  src: string;
  slow: ServerSet;
  fast: ServerSet;
}

/** Writes `tree` into a fresh scratch directory and serves it with `listeners` listeners twice: at `rate` bytes/s each, and unlimited. */
export async function serveSlowAndFast(prefix: string, tree: TreeSpec, listeners: number, rate: number): Promise<SlowAndFast> {
  const dir = tempDir(prefix);
  const src = path.join(dir, 'served');
  makeTree(src, tree);
  const [slow, fast] = await Promise.all([startSetServers(src, listeners, ['--rate-limit', String(rate)]), startSetServers(src, listeners)]);
  return { dir, src, slow, fast };
}

/** Stops both servers, kills whatever else the test left running, removes the directory. */
export async function tearDownSlowAndFast(t: SlowAndFast | undefined): Promise<void> {
  await Promise.all([t?.slow.stop(), t?.fast.stop()]);
  killAll();
  if (t) removeDir(t.dir);
}
