/**
 * Edge sizes around the piece grid and the server count, moved by the real programs over real
 * sockets: every result byte-identical to its source, nothing left beside it, and the original
 * "segment i of n" request tiling the file exactly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeInfoBody, RequestType, Status } from '@msd/common';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { killAll, runFetcher, startServerSet } from '../helpers/processes';
import { RawConnection } from '../helpers/raw-protocol-client';

const PIECE = 64 * 1024;

let dir: string;
beforeAll(() => { dir = tempDir(); });
afterAll(() => { killAll(); removeDir(dir); });

const cases: Array<{ name: string; size: number; servers: number }> = [
  { name: 'empty file', size: 0, servers: 4 },
  { name: 'one byte', size: 1, servers: 4 },
  { name: 'piece - 1', size: PIECE - 1, servers: 4 },
  { name: 'exactly one piece', size: PIECE, servers: 4 },
  { name: 'piece + 1', size: PIECE + 1, servers: 4 },
  { name: 'size and piece count not divisible by 4 servers', size: 5 * PIECE + 12_347, servers: 4 },
  { name: '11 pieces over 3 servers', size: 10 * PIECE + 1, servers: 3 },
  { name: 'fewer pieces than servers (2 pieces, 4 servers)', size: 2 * PIECE - 7, servers: 4 },
];

test.each(cases)('$name ($size bytes, $servers servers, piece 64KiB): fetched exactly; segment i of n tiles the file', async ({ size, servers: n }) => {
  const src = randomFile(path.join(dir, `src-${size}-${n}.bin`), size);
  const servers = await startServerSet(src, n, ['--piece-size', '64KiB']);
  let client: RawConnection | undefined;
  try {
    const out = path.join(dir, `out-${size}-${n}.bin`);
    const r = await runFetcher(['-o', out, '-p', ...servers.ports.map(String)], { cwd: dir });
    expect({ code: r.code, stderr: r.stderr.slice(-2000) }).toEqual({ code: 0, stderr: expect.not.stringMatching(/"level":"error"/) });
    expect(fs.statSync(out).size).toBe(size);
    expect(sha256File(out)).toBe(sha256File(src));
    expect(fs.existsSync(`${out}.part`)).toBe(false);
    expect(fs.existsSync(`${out}.part.state`)).toBe(false);

    // the server's own view: its ID, the set size, and the piece grid it was given
    client = await RawConnection.open({ port: servers.ports[n - 1] });
    const hello = await client.handshake();
    expect(hello.serverId).toBe(n - 1);
    expect(hello.numServers).toBe(n);
    // then the original request form: segment i of n, for every i, and one past the end
    client.request({ type: RequestType.INFO, id: 1, a: 0, b: 0, name: '' });
    for (let i = 0; i <= n; i++) client.request({ type: RequestType.SEGMENT, id: 2 + i, a: i, b: n, name: '' });
    const [info, ...segments] = await client.frames(n + 2);
    const grid = decodeInfoBody(info.body);
    expect({ size: grid.size, pieceSize: grid.pieceSize, pieceCount: grid.pieceCount }).toEqual({ size, pieceSize: PIECE, pieceCount: Math.ceil(size / PIECE) });
    const past = segments.pop()!;
    let expectedOffset = 0;
    for (const seg of segments) {
      expect(seg.header.status).toBe(Status.OK);
      expect(seg.header.offset).toBe(expectedOffset);
      expectedOffset += seg.body.length;
    }
    expect(Buffer.concat(segments.map((f) => f.body)).equals(fs.readFileSync(src))).toBe(true);
    expect(past.header.status).toBe(Status.OUT_OF_RANGE);
  } finally {
    client?.destroy();
    await servers.stop();
  }
});
