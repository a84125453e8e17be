/**
 * One fetcher per output. The lock is flock(2) on `OUT.lock`, taken through koffi (Node has no
 * flock of its own): the kernel drops it when the process dies however it dies (SIGKILL, OOM), so
 * a stale lock never blocks a resume, and on NFS Linux maps it to an NFS lock the server arbitrates
 * (see docs/decisions.md, "The output lock"). The file also says who holds it (PID, host, since),
 * which is what a second fetcher reports.
 *
 * A holder removes the file before it lets go. A process that opened the old file meanwhile gets
 * the lock on an unlinked inode: it sees that the path no longer names what it locked, and starts
 * again on the new file, so two processes can never both believe they hold the lock.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { fileError, MsdError } from '@msd/common';

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = os.constants.errno.EWOULDBLOCK;

type Flock = (fd: number, op: number) => number;
let flockFn: { call: Flock; errno: () => number } | undefined;

/** libc's flock, loaded on first use (the FFI costs a few ms to load; only the fetcher needs it). */
function flock(): { call: Flock; errno: () => number } {
  if (flockFn) return flockFn;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof import('koffi');
  const libc = koffi.load(process.platform === 'darwin' ? 'libSystem.B.dylib' : 'libc.so.6');
  flockFn = { call: libc.func('int flock(int fd, int op)') as Flock, errno: () => koffi.errno() };
  return flockFn;
}

export interface LockHolder { pid: number; host: string; since: string; output: string }

export class OutputLock {
  private released = false;
  private constructor(readonly path: string, private readonly fd: number) {}

  /** Takes the lock for `outPath` or throws E_LOCKED naming the holder. Never waits. */
  static acquire(outPath: string): OutputLock {
    const lockPath = `${outPath}.lock`;
    for (let attempt = 0; attempt < 100; attempt++) {
      let fd: number;
      try {
        fd = fs.openSync(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      } catch (err) {
        throw fileError('cannot create the lock file', lockPath, err);
      }
      const f = flock();
      if (f.call(fd, LOCK_EX | LOCK_NB) !== 0) {
        const errno = f.errno();
        fs.closeSync(fd);
        if (errno !== EWOULDBLOCK) throw new MsdError('E_IO', `cannot lock ${lockPath}: errno ${errno} (the filesystem may not support locks; on NFS, the client needs lock support, i.e. not mounted with nolock)`);
        throw lockedError(outPath, readHolder(lockPath));
      }
      if (namesSameFile(lockPath, fd)) {
        const lock = new OutputLock(lockPath, fd);
        lock.writeHolder(outPath);
        return lock;
      }
      fs.closeSync(fd); // released and removed by its holder while we waited: take the new file
    }
    throw new MsdError('E_IO', `cannot lock ${lockPath}: it keeps being replaced; is another program removing it?`);
  }

  private writeHolder(outPath: string): void {
    const holder: LockHolder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), output: outPath };
    const text = Buffer.from(`${JSON.stringify(holder)}\n`);
    try {
      fs.ftruncateSync(this.fd, 0);
      fs.writeSync(this.fd, text, 0, text.length, 0);
    } catch (err) {
      this.release();
      throw fileError('cannot write the lock file', this.path, err);
    }
  }

  /** Removes the lock file, then lets go of the lock. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    try { fs.unlinkSync(this.path); } catch { /* gone */ }
    try { fs.closeSync(this.fd); } catch { /* closed */ }
  }
}

function namesSameFile(p: string, fd: number): boolean {
  try {
    const a = fs.fstatSync(fd);
    const b = fs.statSync(p);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

function readHolder(lockPath: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? (h as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function lockedError(outPath: string, h: LockHolder | undefined): MsdError {
  const who = h ? `fetcher PID ${h.pid} on host ${h.host} (since ${h.since})` : 'another process';
  return new MsdError('E_LOCKED', `${outPath} is being downloaded by ${who}; nothing was changed. Wait for it to finish or stop it, then run this command again (the lock goes with that process, however it ends)`);
}
