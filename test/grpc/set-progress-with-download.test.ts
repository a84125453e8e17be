/**
 * The set progress of a real directory download over the fetcher's gRPC
 * control port: real segment-server (directory mode, rate-limited so the
 * download takes seconds) and fetcher processes. Mid-way GetProgress (and
 * `fetcher ctl progress`) counts the directory's files with some not yet
 * complete and names files in flight from the directory; WatchProgress ends
 * with every file complete, and the tree arrives intact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { FetcherControlMessages as M } from '@msd/common';
import { runCtl as fetcherCtl } from '../../services/fetcher/src/ctl';
import { startServerSet, type ServerSet } from '../helpers/processes';
import { firstHealth, startFetcher, until, type FetcherClient, type ProgramProcess } from './support/program-processes';

const MiB = 2 ** 20;
/** Relative path -> size: nested, non-ASCII, one empty file, files of one and of many pieces. */
const TREE: Record<string, number> = {
  'a.bin': 3 * MiB,
  'sub/b.bin': 2 * MiB,
  'sub/deep/c.bin': MiB + 17,
  'données/été.bin': 2 * MiB,
  'tiny.txt': 1000,
  'z/empty': 0,
};
const FILES = Object.keys(TREE).length;
const BYTES = Object.values(TREE).reduce((a, b) => a + b, 0);
/** Per listener; two listeners make ~2 MiB/s, so the ~8 MiB set takes about 4 s. */
const RATE = MiB;

describe('set progress over gRPC during a real directory download', () => {
  let dir: string;
  let src: string;
  const digests = new Map<string, string>();
  const started: { stop(): Promise<unknown> }[] = [];
  const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'msd-grpc-set-'));
    src = path.join(dir, 'served');
    for (const [name, size] of Object.entries(TREE)) {
      const file = path.join(src, ...name.split('/'));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, randomBytes(size));
      digests.set(name, sha256(file));
    }
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop()));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('mid-way: set.files is the file count, files_complete < files, files in flight are the directory\'s; at the end every file is complete', async () => {
    const servers: ServerSet = await startServerSet(src, 2, ['--piece-size', String(64 * 1024), '--no-index-cache', '--rate-limit', String(RATE)]);
    started.push(servers);
    const out = path.join(dir, 'out');
    const f: ProgramProcess<FetcherClient> = await startFetcher(['-a', '127.0.0.1', '-p', ...servers.ports.map(String), '-o', out, '--state-interval', '0.2', '--progress', 'off']);
    started.push(f);
    await firstHealth(f);
    const watched: M.ProgressMessage[] = [];
    const watch = f.client.stream('WatchProgress', { min_interval_ms: 100 }, ({ progress }) => watched.push(progress));

    let mid: M.ProgressMessage | undefined;
    await until('a set progress mid-way with files in flight', async () => {
      const { progress } = await f.client.call('GetProgress', {});
      const midWay = progress.state === 'DOWNLOADING' && progress.bytes_done < progress.size && (progress.set?.in_flight.length ?? 0) > 0;
      if (midWay) mid = progress;
      return midWay;
    }, 30_000);
    expect(mid).toMatchObject({ file: '', size: BYTES });
    const set = mid?.set;
    expect(set?.files).toBe(FILES);
    expect(set?.files_complete).toBeLessThan(FILES);
    for (const file of set?.in_flight ?? []) {
      expect({ name: file.name, size: file.size }).toEqual({ name: file.name, size: TREE[file.name] });
      expect(file.bytes_done).toBeLessThanOrEqual(file.size);
    }

    // what an operator sees at the same time
    let text = '';
    const code = await fetcherCtl(['progress', '--addr', f.grpcAddress], { out: (t) => void (text += t), err: (t) => void (text += t) });
    expect({ code, text }).toMatchObject({ code: 0, text: expect.stringMatching(new RegExp(`^files\\s+\\d+/${FILES} complete$`, 'm')) });

    expect((await f.child.exited).code).toBe(0);
    await watch;
    const last = watched[watched.length - 1];
    expect(last).toMatchObject({ state: 'DONE', bytes_done: BYTES, set: { files: FILES, files_complete: FILES, in_flight: [] } });
    const complete = watched.map((p) => p.set?.files_complete ?? -1);
    expect([...complete].sort((a, b) => a - b)).toEqual(complete); // never goes back
    for (const [name, digest] of digests) expect({ name, digest: sha256(path.join(out, ...name.split('/'))) }).toEqual({ name, digest });
  }, 60_000);
});
