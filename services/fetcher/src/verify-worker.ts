/**
 * Worker thread that checks pieces off the event loop, two ways:
 * - stream jobs: SHA-256 of bytes as they arrive, read straight out of a connection's receive ring
 *   (shared memory, no copy), after a prefix read from the part file when the piece was resumed;
 * - read-back jobs: SHA-256 of a piece read from the part file (resume re-verification, or a piece
 *   that two copies wrote to).
 */
import { createHash, Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';

type Msg =
  | { op: 'verify'; id: number; path: string; offset: number; length: number; expected: Uint8Array }
  | { op: 'channel'; ch: number; ring: SharedArrayBuffer; ctl: SharedArrayBuffer }
  | { op: 'begin'; ch: number; job: number; path: string; offset: number; prefix: number }
  | { op: 'data'; ch: number; job: number; at: number; len: number }
  | { op: 'mark'; ch: number; upTo: number }
  | { op: 'end'; ch: number; job: number; expected: Uint8Array; id: number }
  | { op: 'abort'; ch: number; job: number }
  | { op: 'drop'; ch: number };

/** Part files open for reading, oldest first: a set's reads move from file to file, a few stay open. */
const open = new Map<string, number>();
const MAX_OPEN = 8;
function fdOf(path: string): number {
  let fd = open.get(path);
  if (fd !== undefined) return fd;
  if (open.size >= MAX_OPEN) {
    const [oldPath, oldFd] = open.entries().next().value as [string, number];
    open.delete(oldPath);
    try { fs.closeSync(oldFd); } catch { /* gone */ }
  }
  fd = fs.openSync(path, 'r');
  open.set(path, fd);
  return fd;
}
// a fixed read buffer, whatever the piece size: memory does not depend on what a server announces
const buf = Buffer.allocUnsafe(1 << 20);
const channels = new Map<number, { ring: Buffer; ctl: Int32Array }>();
/** A stream job's running hash; undefined when its prefix was short; the error when reading it failed. */
const hashes = new Map<string, Hash | ReadFailure | undefined>();

interface ReadFailure { message: string; code?: string; path: string }
function errorOf(err: unknown, path: string): ReadFailure {
  const e = err as NodeJS.ErrnoException;
  return { message: e?.message ?? String(err), code: e?.code, path };
}

function hashFile(hash: Hash, path: string, offset: number, length: number): number {
  const fd = fdOf(path);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - got), offset + got);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
    got += n;
  }
  return got;
}

parentPort!.on('message', (m: Msg) => {
  switch (m.op) {
    case 'verify': {
      try {
        const hash = createHash('sha256');
        const got = hashFile(hash, m.path, m.offset, m.length);
        parentPort!.postMessage({ id: m.id, ok: got === m.length && hash.digest().equals(Buffer.from(m.expected)) });
      } catch (err) {
        parentPort!.postMessage({ id: m.id, ok: false, error: errorOf(err, m.path) });
      }
      return;
    }
    case 'channel':
      channels.set(m.ch, { ring: Buffer.from(m.ring), ctl: new Int32Array(m.ctl) });
      return;
    case 'begin': {
      const hash = createHash('sha256');
      try {
        // a prefix shorter than asked (the part file was cut) fails the digest: the piece is fetched again
        const got = m.prefix > 0 ? hashFile(hash, m.path, m.offset, m.prefix) : 0;
        hashes.set(`${m.ch}/${m.job}`, got === m.prefix ? hash : undefined);
      } catch (err) {
        hashes.set(`${m.ch}/${m.job}`, errorOf(err, m.path));
      }
      return;
    }
    case 'data': {
      const c = channels.get(m.ch)!;
      const h = hashes.get(`${m.ch}/${m.job}`);
      if (h && 'update' in h) h.update(c.ring.subarray(m.at, m.at + m.len));
      return;
    }
    case 'mark': {
      const c = channels.get(m.ch)!;
      Atomics.store(c.ctl, 0, m.upTo);
      return;
    }
    case 'end': {
      const key = `${m.ch}/${m.job}`;
      const hash = hashes.get(key);
      hashes.delete(key);
      if (hash !== undefined && !('digest' in hash)) parentPort!.postMessage({ id: m.id, ok: false, error: hash });
      else parentPort!.postMessage({ id: m.id, ok: hash !== undefined && hash.digest().equals(Buffer.from(m.expected)) });
      return;
    }
    case 'abort':
      hashes.delete(`${m.ch}/${m.job}`);
      return;
    case 'drop':
      channels.delete(m.ch);
      for (const key of [...hashes.keys()]) if (key.startsWith(`${m.ch}/`)) hashes.delete(key);
      return;
  }
});
