/**
 * The fetcher's memory does not grow with the file: a 64 MiB file over 4 servers is fetched with
 * the fetcher's resident set (sampled from /proc while it runs) well under 150 MiB.
 */
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { sampleMemory } from '../helpers/memory';
import { FETCHER_BIN, killAll, run, startServerSet } from '../helpers/processes';

const CEILING_KIB = 150 * 1024;

let dir: string;
beforeAll(() => { dir = tempDir(); });
afterAll(() => { killAll(); removeDir(dir); });

test('64 MiB over 4 servers: fetcher RSS stays under 150 MiB', async () => {
  const src = randomFile(path.join(dir, 'big.bin'), 64 * 1024 * 1024);
  const servers = await startServerSet(src, 4);
  try {
    const out = path.join(dir, 'out.bin');
    const p = run(FETCHER_BIN, ['-o', out, '-p', ...servers.ports.map(String)]);
    const mem = sampleMemory(p.pid, 5);
    const { code } = await p.exited;
    const m = mem.stop();
    console.log(`fetcher, 64 MiB over 4 servers: max VmRSS ${(m.maxRssKiB / 1024).toFixed(1)} MiB, VmHWM ${(m.lastHwmKiB / 1024).toFixed(1)} MiB (${m.samples} samples)`);
    expect({ code, stderr: p.stderr().slice(-1500) }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(sha256File(out)).toBe(sha256File(src));
    expect(m.samples).toBeGreaterThan(3);
    expect(m.maxRssKiB).toBeLessThan(CEILING_KIB);
    expect(m.lastHwmKiB).toBeLessThan(CEILING_KIB);
  } finally {
    await servers.stop();
  }
});
