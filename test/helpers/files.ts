/** Test files: random content of a given size, sparse files, and SHA-256 of files on disk. */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tempDir(prefix = 'msd-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes `size` random bytes in 4 MiB chunks. */
export function randomFile(file: string, size: number): string {
  const fd = fs.openSync(file, 'w');
  try {
    for (let at = 0; at < size;) {
      const n = Math.min(4 << 20, size - at);
      fs.writeSync(fd, randomBytes(n), 0, n, at);
      at += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** A sparse file of `size` bytes with a few random islands (so content differs by position). */
export function sparseFile(file: string, size: number, islands: number[] = []): string {
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
    for (const at of islands) {
      const b = randomBytes(4096);
      fs.writeSync(fd, b, 0, Math.min(b.length, size - at), at);
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

export function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}
