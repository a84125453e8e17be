/**
 * The filesystem side of a directory download's path safety: before anything is written, every
 * directory a listed file would go through, and the file's own final and part names, are looked
 * at with lstat. The fetcher never creates symbolic links, so any link on the way is someone
 * else's and could lead outside the output directory: the run stops (E_IO) naming it. The names
 * themselves were checked first (set-names.ts), so joining them onto the directory stays inside it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileError, MsdError } from '@msd/common';
import { PART_SUFFIX } from './set-names';

/** What is under a file's final name now: nothing, or a regular file (to be checked). */
export type FinalPresence = 'none' | 'file';

/** Checks the way to every name below `dir`; returns, per name, whether its final name exists. */
export function checkSetPaths(dir: string, names: readonly string[]): FinalPresence[] {
  const seen = new Map<string, boolean>(); // directory (relative) -> exists
  const dirExists = (rel: string): boolean => {
    const known = seen.get(rel);
    if (known !== undefined) return known;
    const parent = path.posix.dirname(rel);
    // a missing parent has no children: the fetcher creates both
    const exists = (parent === '.' || dirExists(parent)) && kindOf(path.join(dir, rel), 'directory') === 'present';
    seen.set(rel, exists);
    return exists;
  };
  return names.map((name) => {
    const parent = path.posix.dirname(name);
    if (parent !== '.' && !dirExists(parent)) return 'none';
    kindOf(path.join(dir, name + PART_SUFFIX), 'file');
    return kindOf(path.join(dir, name), 'file') === 'present' ? 'file' : 'none';
  });
}

/** `p` is absent, or present as the kind wanted; a link or another kind throws. */
function kindOf(p: string, want: 'file' | 'directory'): 'absent' | 'present' {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw fileError('cannot inspect', p, err);
  }
  if (st.isSymbolicLink()) throw new MsdError('E_IO', `${p} is a symbolic link; the fetcher writes a directory download only through real directories it may have created itself, never through a link (it could lead outside the output directory): remove the link or choose another output directory`);
  if (want === 'directory' ? !st.isDirectory() : !st.isFile()) throw new MsdError('E_IO', `${p} exists and is not a ${want === 'file' ? 'regular file' : 'directory'}, but a listed file needs it to be one; move it away or choose another output directory`);
  return 'present';
}

/** Opens (creating its directories unless `dirReady`) a part file for writing, never through a link. */
export function openPartFile(p: string, size: number, fresh: boolean, dirReady = false): number {
  try {
    if (!dirReady) fs.mkdirSync(path.dirname(p), { recursive: true });
    const flags = fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | (fresh ? fs.constants.O_TRUNC : 0);
    const fd = fs.openSync(p, flags, 0o644);
    // sized (sparse) at once, as a single file's part file is; leaving a fresh one to grow as its
    // pieces land measured no faster with 10,000 files
    if (fs.fstatSync(fd).size !== size) fs.ftruncateSync(fd, size);
    return fd;
  } catch (err) {
    throw fileError('cannot open', p, err);
  }
}
