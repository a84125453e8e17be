/**
 * Directory trees for set-mode tests: a tree of files of random content at given relative paths
 * and sizes, the regular files below a directory, and a byte-for-byte comparison of two trees that
 * says what differs by relative path (so a failure names the file, not just "not equal").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile } from './files';

/** Relative path ('/'-separated) → size in bytes. */
export type TreeSpec = Record<string, number>;

/** Writes every file of `spec` below `root` (directories created); returns the names, sorted. */
export function makeTree(root: string, spec: TreeSpec): string[] {
  for (const [rel, size] of Object.entries(spec)) {
    const file = path.join(root, ...rel.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    randomFile(file, size);
  }
  return Object.keys(spec).sort();
}

/** Every regular file below `root`, dot files included, relative and '/'-separated, sorted. */
export function filesBelow(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const it of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, it.name);
      if (it.isDirectory()) walk(full);
      else out.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

/** Whether two files hold the same bytes, read side by side in 1 MiB chunks. */
export function sameBytes(a: string, b: string): boolean {
  if (fs.statSync(a).size !== fs.statSync(b).size) return false;
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  const ba = Buffer.allocUnsafe(1 << 20);
  const bb = Buffer.allocUnsafe(1 << 20);
  try {
    for (;;) {
      const na = fs.readSync(fa, ba, 0, ba.length, null);
      const nb = fs.readSync(fb, bb, 0, bb.length, null);
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

/**
 * What differs between the files below `source` and below `copy`: "only in source: X",
 * "only in copy: X", "differs: X" (one line each, sorted); [] when the trees are equal.
 * Names for which `ignoreInCopy` holds are not looked at in the copy (e.g. the fetcher's lock).
 */
export function treeDifferences(source: string, copy: string, ignoreInCopy: (rel: string) => boolean = () => false): string[] {
  const a = new Set(filesBelow(source));
  const b = new Set(filesBelow(copy).filter((f) => !ignoreInCopy(f)));
  const out: string[] = [];
  for (const f of a) {
    if (!b.has(f)) out.push(`only in source: ${f}`);
    else if (!sameBytes(path.join(source, f), path.join(copy, f))) out.push(`differs: ${f}`);
  }
  for (const f of b) if (!a.has(f)) out.push(`only in copy: ${f}`);
  return out.sort();
}

/** Inode and modification time of each named file: what "untouched" is checked against. */
export function stampsOf(root: string, names: readonly string[]): Record<string, { ino: number; mtimeMs: number }> {
  return Object.fromEntries(names.map((n) => {
    const st = fs.statSync(path.join(root, n));
    return [n, { ino: st.ino, mtimeMs: st.mtimeMs }];
  }));
}

/** The total size of the files of `spec`. */
export function treeBytes(spec: TreeSpec): number {
  return Object.values(spec).reduce((a, b) => a + b, 0);
}
