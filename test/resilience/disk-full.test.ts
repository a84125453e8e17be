/**
 * Disk full and read-only output, on real filesystems: a small tmpfs is the output directory.
 * The fetcher stops with exit 5 and a message about space, keeps the part file and its state,
 * and the same command finishes exactly once the tmpfs is remounted bigger.
 *
 * Needs root (mount). Where mounting is impossible the tests FAIL with the reason: they are not
 * skipped, because a silent skip would hide that disk-full handling went untested.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File } from '../helpers/files';
import { completion, messages } from '../helpers/fetcher-run';
import { runFetcher } from '../helpers/processes';
import { ServedFile, serveRandomFile, tearDown } from '../helpers/served-file';

const MiB = 1024 * 1024;
const SIZE = 24 * MiB + 77;

let served: ServedFile | undefined;
const mounts: string[] = [];

/** Mounts a tmpfs; returns undefined or why it could not. */
function mountTmpfs(at: string, options: string): string | undefined {
  fs.mkdirSync(at, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at], { stdio: ['ignore', 'pipe', 'pipe'] });
    mounts.push(at);
    return undefined;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return `cannot mount a tmpfs at ${at} (mount -t tmpfs -o ${options}): ${e.stderr?.toString().trim() || e.message}. ` +
      'These tests need root (CAP_SYS_ADMIN) to create a small filesystem; run them as root or in a privileged container';
  }
}

function mountedOrFail(at: string, options: string): void {
  const why = mountTmpfs(at, options);
  if (why) throw new Error(why);
}

beforeAll(async () => {
  // slow enough that several state saves happen before 8 MiB fill the disk
  served = await serveRandomFile({ prefix: 'msd-disk-full-', size: SIZE, listeners: 2, rateLimit: 3 * MiB });
}, 60_000);

afterAll(() => tearDown(served, () => {
  for (const m of mounts.reverse()) {
    try { execFileSync('umount', [m]); } catch { execFileSync('umount', ['-l', m]); }
  }
}));

test('disk full: exit 5 naming the lack of space, part and state kept; after the disk grows the same command finishes exactly', async () => {
  const mnt = path.join(served!.dir, 'small');
  mountedOrFail(mnt, 'size=8m');
  const out = path.join(mnt, 'out.bin');
  const args = ['-o', out, '-p', ...served!.servers.ports.map(String), '--state-interval', '0.2', '-i', '0.5'];

  const full = await runFetcher(args, { timeoutMs: 60_000 });
  expect(full.code).toBe(5);
  const errors = full.logs.filter((l) => l.level === 'error');
  expect(errors.length).toBeGreaterThanOrEqual(1);
  const fatal = errors.find((l) => l.code === 'E_DISK_FULL');
  expect(fatal?.msg).toMatch(/no space left on device; free some space and run the same command again to resume/);
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.existsSync(`${out}.part`)).toBe(true);
  expect(fs.existsSync(`${out}.part.state`)).toBe(true);
  // nothing else: no half-written temp state, no lock file (the lock goes with the process)
  expect(fs.readdirSync(mnt).sort()).toEqual(['out.bin.part', 'out.bin.part.state']);

  // free space: the same filesystem, bigger; the same command resumes from the same part + state
  execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
  const again = await runFetcher(args, { timeoutMs: 60_000 });
  expect({ code: again.code, stderr: again.code === 0 ? '' : again.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
  expect(sha256File(out)).toBe(sha256File(served!.src));
  expect(messages(again.logs).filter((m) => /damaged|other content|no resume state/.test(m))).toEqual([]);
  expect(again.logs.some((l) => /^resuming: [1-9]\d* of \d+ pieces already verified/.test(l.msg))).toBe(true);
  const done = completion(again.logs);
  expect(done.resumedBytes).toBeGreaterThanOrEqual(4 * MiB); // most of what fitted in 8 MiB was kept
  expect(done.bytesReceived).toBeLessThanOrEqual(SIZE - done.resumedBytes + 4 * MiB);
  expect(fs.readdirSync(mnt)).toEqual(['out.bin']);
}, 90_000);

test('read-only output directory: a clear error naming the path, exit 5, nothing written', async () => {
  const mnt = path.join(served!.dir, 'readonly');
  mountedOrFail(mnt, 'size=1m,ro');
  const out = path.join(mnt, 'out.bin');
  const r = await runFetcher(['-o', out, '-p', ...served!.servers.ports.map(String)], { timeoutMs: 60_000 });
  expect(r.code).toBe(5);
  const errors = r.logs.filter((l) => l.level === 'error');
  expect(errors.map((l) => ({ code: l.code, msg: l.msg }))).toEqual([
    { code: 'E_IO', msg: expect.stringMatching(new RegExp(`${out.replace(/[.]/g, '\\.')}\\.lock: permission denied \\(EROFS\\); choose a writable location`)) },
  ]);
  expect(fs.readdirSync(mnt)).toEqual([]);
}, 60_000);
