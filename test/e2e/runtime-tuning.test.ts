/**
 * The fetcher gives itself the runtime settings of a flat memory profile (services/fetcher/src/
 * runtime-tuning.ts) by replacing its own process image: a real fetcher, started plainly, is seen
 * in /proc under the PID it was started with, running with the V8 flag and the malloc variables,
 * and still downloads exactly and exits 0 through the same pipes. The user's own settings win,
 * and MSD_RUNTIME_TUNING=off leaves the process as started.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { FETCHER_BIN, killAll, run, startServerSet, type ServerSet } from '../helpers/processes';

let dir: string;
let src: string;
let servers: ServerSet;
beforeAll(async () => {
  dir = tempDir();
  src = randomFile(path.join(dir, 'src.bin'), 8 * 1024 * 1024);
  servers = await startServerSet(src, 2, ['--rate-limit', String(2 << 20), '--shutdown-timeout', '2']);
});
afterAll(async () => {
  await servers?.stop();
  killAll();
  removeDir(dir);
});

function procView(pid: number): { cmdline: string[]; env: Map<string, string> } {
  const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = new Map<string, string>();
  for (const kv of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)) {
    const i = kv.indexOf('=');
    env.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return { cmdline, env };
}

/** Starts a slow fetch (servers at 2 MiB/s each), looks at the process once it is connected, lets it finish. */
async function observe(name: string, env: NodeJS.ProcessEnv): Promise<{ cmdline: string[]; env: Map<string, string> }> {
  const out = path.join(dir, `${name}.bin`);
  const p = run(FETCHER_BIN, ['-a', '127.0.0.1', '-p', ...servers.ports.map(String), '-o', out], { env });
  await p.waitForLog((l) => l.msg === 'connected');
  const seen = procView(p.pid);
  const { code } = await p.exited;
  expect({ code, stderr: p.stderr().slice(-1500) }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(sha256File(out)).toBe(sha256File(src));
  return seen;
}

const noTuningEnv = { NODE_OPTIONS: '', MALLOC_ARENA_MAX: undefined, MALLOC_MMAP_THRESHOLD_: undefined, MSD_RUNTIME_TUNED: undefined, MSD_RUNTIME_TUNING: undefined };

test('a plain start runs tuned, under the PID it was started with, and fetches exactly', async () => {
  const seen = await observe('plain', noTuningEnv);
  expect(seen.cmdline).toContain('--max-semi-space-size=1');
  expect(seen.cmdline).toContain(FETCHER_BIN);
  expect(seen.env.get('MALLOC_ARENA_MAX')).toBe('2');
  expect(seen.env.get('MALLOC_MMAP_THRESHOLD_')).toBe('131072');
  expect(seen.env.get('MSD_RUNTIME_TUNED')).toBe('1');
});

test("the user's own settings win", async () => {
  const seen = await observe('user', { ...noTuningEnv, NODE_OPTIONS: '--max-semi-space-size=4', MALLOC_ARENA_MAX: '8' });
  expect(seen.cmdline.filter((a) => a.includes('semi-space'))).toEqual([]);
  expect(seen.env.get('MALLOC_ARENA_MAX')).toBe('8');
  expect(seen.env.get('MALLOC_MMAP_THRESHOLD_')).toBe('131072');
});

test('MSD_RUNTIME_TUNING=off leaves the process as started', async () => {
  const seen = await observe('off', { ...noTuningEnv, MSD_RUNTIME_TUNING: 'off' });
  expect(seen.cmdline.filter((a) => a.includes('semi-space'))).toEqual([]);
  expect(seen.env.has('MALLOC_ARENA_MAX')).toBe(false);
  expect(seen.env.has('MSD_RUNTIME_TUNED')).toBe(false);
});
