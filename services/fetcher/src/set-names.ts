/**
 * Which listed names a directory download may write, and the fetcher's own file names beside
 * them. Pure: no I/O. A server is not trusted to keep the client inside its output directory:
 * every name is checked here before anything is written, and a name that could leave the
 * directory, or that clashes with the fetcher's own files, ends the run (E_PROTOCOL) naming it.
 * The filesystem side (no component may be a symbolic link) is set-paths.ts.
 */
import * as path from 'node:path';
import { MsdError } from '@msd/common';

/** The set's lock and resume state, in the output directory: `.msd-set.lock`, `.msd-set.state`. */
export const SET_FILE_BASE = '.msd-set';
export const PART_SUFFIX = '.part';

/** Why `name` may not be written below the output directory, or undefined when it may. */
export function unsafeReason(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'it has a control character';
  if (name.includes('\\')) return 'it has a backslash (not a path separator here, and one elsewhere)';
  if (name.startsWith('/')) return 'it is absolute';
  const parts = name.split('/');
  if (parts.some((c) => c === '')) return 'it has an empty path component';
  if (parts.some((c) => c === '..')) return 'it has a ".." component';
  if (parts.some((c) => c === '.')) return 'it has a "." component';
  if (parts[0].startsWith(SET_FILE_BASE)) return `it clashes with the fetcher's own ${SET_FILE_BASE}.* files`;
  return undefined;
}

/**
 * Throws E_PROTOCOL for the first name that is unsafe, or that another name's part file would
 * overwrite (`X.part` listed beside `X`), or that is both a file and a directory (`a` and `a/b`).
 */
export function checkSetNames(names: readonly string[], server: string): void {
  const all = new Set(names);
  for (const name of names) {
    const why = unsafeReason(name) ??
      (name.endsWith(PART_SUFFIX) && all.has(name.slice(0, -PART_SUFFIX.length)) ? `the fetcher writes ${name} while it downloads ${name.slice(0, -PART_SUFFIX.length)}` : undefined);
    if (why) throw unsafe(name, why, server);
  }
  const dirs = new Set<string>();
  for (const name of names) for (let d = path.posix.dirname(name); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
  for (const name of names) if (dirs.has(name)) throw unsafe(name, 'it is listed both as a file and as a directory', server);
}

function unsafe(name: string, why: string, server: string): MsdError {
  return new MsdError('E_PROTOCOL', `${server} lists an unsafe name ${JSON.stringify(name)}: ${why}; nothing was written. The fetcher writes only plain relative paths below the output directory; fix the served directory or the server`);
}

/** Keeps the names that match any include (all when there is none) and no exclude. */
export function selectNames<T extends { name: string }>(entries: readonly T[], include: readonly string[], exclude: readonly string[]): T[] {
  const match = (name: string, globs: readonly string[]): boolean => globs.some((g) => path.posix.matchesGlob(name, g));
  return entries.filter((e) => (include.length === 0 || match(e.name, include)) && !match(e.name, exclude));
}
