import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, tempDir } from '../helpers/files';
import { freePorts, killAll, startServers, type ServerSet } from '../helpers/processes';
import { runChartScript } from './chart-script';

/**
 * files/check-servers.js --all-files=true (the helm test of a directory fetched whole) against
 * real segment-servers in directory mode, one listener per process as in the StatefulSet: the
 * same files everywhere pass; a replica whose file differs, or that lacks one, fails naming it.
 */
const check = (args: string[]): ReturnType<typeof runChartScript> => runChartScript('check-servers.js', args);

function directory(root: string, x: string, withEmpty = true): string {
  mkdirSync(path.join(root, 'sub'), { recursive: true });
  randomFile(path.join(root, 'a.bin'), 200_000);
  writeFileSync(path.join(root, 'sub', 'x.txt'), x);
  if (withEmpty) writeFileSync(path.join(root, 'empty'), '');
  return root;
}

describe('check-servers.js --all-files=true', () => {
  const scratch = tempDir('msd-check-all-');
  const servers: ServerSet[] = [];
  /** One server per directory, server i of n, each with its own data and gRPC port. */
  async function start(dirs: string[]): Promise<string[]> {
    const ports = await freePorts(2 * dirs.length);
    const started = await Promise.all(dirs.map((d, i) => startServers(['-f', d, '-n', String(dirs.length), '--server-id', String(i), '--port', String(ports[2 * i]), '--grpc-port', String(ports[2 * i + 1])])));
    servers.push(...started);
    return [
      `--data=${dirs.map((_, i) => `127.0.0.1:${ports[2 * i]}`).join(',')}`,
      `--grpc=${dirs.map((_, i) => `127.0.0.1:${ports[2 * i + 1]}`).join(',')}`,
      '--timeout=30',
    ];
  }

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  afterAll(() => {
    killAll();
    removeDir(scratch);
  });

  it('passes when every server lists the same names, sizes and content, and reads from a non-empty file', async () => {
    const one = directory(path.join(scratch, 'same-0'), 'same');
    const two = path.join(scratch, 'same-1');
    cpSync(one, two, { recursive: true });
    const r = await check([...(await start([one, two])), '--all-files=true']);
    expect(r).toEqual({ code: 0, out: expect.stringContaining('check-servers: all 2 servers OK') });
    expect(r.out).toMatch(/server 1 of 2, 3 files, 200004 bytes, read 65536 bytes of a\.bin/);
  });

  it('fails naming the file whose content differs on a replica, and the one it lacks', async () => {
    const one = directory(path.join(scratch, 'diff-0'), 'one');
    const two = directory(path.join(scratch, 'diff-1'), 'two', false);
    // a.bin is random on each side too: three differences in all
    const r = await check([...(await start([one, two])), '--all-files=true']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/servers disagree about the listing \(server 1 differs from server 0 in .*a\.bin \(200000 bytes, content [0-9a-f]{16} instead of 200000 bytes, content [0-9a-f]{16}\)/);
    expect(r.out).toMatch(/empty \(missing\)/);
    expect(r.out).toMatch(/sub\/x\.txt \(3 bytes, content/);
  });

  it('refuses --file together with --all-files=true as a usage error', async () => {
    const r = await check(['--grpc=127.0.0.1:1', '--file=a.bin', '--all-files=true']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/--file names one file, --all-files=true checks every listed file: give one of them/);
  });
});
