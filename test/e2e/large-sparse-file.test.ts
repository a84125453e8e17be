/**
 * A file larger than 4 GiB (offsets above 2^32 on the wire, in the piece grid and in the part
 * file): a sparse source with random islands just below, across and above 2^32 and at the very
 * end, served by 4 listeners with 16 MiB pieces, fetched whole; SHA-256 of both sides equal, and
 * a raw GET straddling 2^32 returns exactly the bytes at those offsets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RequestType, Status } from '@msd/common';
import { removeDir, sha256File, sparseFile, tempDir } from '../helpers/files';
import { sampleMemory } from '../helpers/memory';
import { FETCHER_BIN, killAll, run, startServerSet } from '../helpers/processes';
import { RawConnection } from '../helpers/raw-protocol-client';

const TWO32 = 2 ** 32;
const PIECE = 16 * 1024 * 1024;
const SIZE = TWO32 + 3 * PIECE + 12_345; // the last piece is short
const ISLANDS = [0, TWO32 - PIECE - 100, TWO32 - 2048, TWO32 + 4096 * 5, SIZE - 4096];

let dir: string;
beforeAll(() => { dir = tempDir('msd-sparse-'); });
afterAll(() => { killAll(); removeDir(dir); });

test('a sparse file above 4 GiB is fetched exactly over 4 servers', async () => {
  const t0 = performance.now();
  const src = sparseFile(path.join(dir, 'huge.img'), SIZE, ISLANDS);
  const servers = await startServerSet(src, 4, ['--piece-size', '16MiB']);
  const tIndexed = performance.now();
  let client: RawConnection | undefined;
  try {
    // the wire: a range across 2^32 and the last bytes of the file
    client = await RawConnection.open({ port: servers.ports[3] });
    await client.handshake();
    client.request({ type: RequestType.GET, id: 1, a: TWO32 - 2048, b: 4096, name: '' });
    client.request({ type: RequestType.GET, id: 2, a: SIZE - 4096, b: 4096, name: '' });
    client.request({ type: RequestType.GET, id: 3, a: SIZE - 1, b: 2, name: '' });
    const [across, tail, past] = await client.frames(3, 20_000);
    const fd = fs.openSync(src, 'r');
    const want = (pos: number, n: number): Buffer => {
      const b = Buffer.alloc(n);
      fs.readSync(fd, b, 0, n, pos);
      return b;
    };
    try {
      expect(across.header).toMatchObject({ status: Status.OK, offset: TWO32 - 2048, length: 4096 });
      expect(across.body.equals(want(TWO32 - 2048, 4096))).toBe(true);
      expect(tail.header).toMatchObject({ status: Status.OK, offset: SIZE - 4096 });
      expect(tail.body.equals(want(SIZE - 4096, 4096))).toBe(true);
      expect(past.header.status).toBe(Status.OUT_OF_RANGE);
    } finally {
      fs.closeSync(fd);
    }

    // the whole file through the fetcher, its memory sampled on the way
    const out = path.join(dir, 'huge.out');
    const p = run(FETCHER_BIN, ['-o', out, '-p', ...servers.ports.map(String), '-i', '5']);
    const mem = sampleMemory(p.pid, 50);
    const { code } = await p.exited;
    const m = mem.stop();
    const tFetched = performance.now();
    expect({ code, stderr: p.stderr().slice(-1500) }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(fs.statSync(out).size).toBe(SIZE);
    expect(sha256File(out)).toBe(sha256File(src));
    const tVerified = performance.now();
    expect(m.maxRssKiB).toBeLessThan(150 * 1024);
    const s = (a: number, b: number): string => ((b - a) / 1000).toFixed(1);
    console.log(`${SIZE} bytes: index ${s(t0, tIndexed)} s, fetch ${s(tIndexed, tFetched)} s, sha256 of both ${s(tFetched, tVerified)} s; fetcher max VmRSS ${(m.maxRssKiB / 1024).toFixed(1)} MiB`);
  } finally {
    client?.destroy();
    await servers.stop();
  }
}, 300_000);
