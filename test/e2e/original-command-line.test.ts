/** The original program's command lines work unchanged (ports random, not 4450-4453). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { killAll, runFetcher, startServerSet } from '../helpers/processes';

let dir: string;
beforeAll(() => { dir = tempDir(); });
afterAll(() => { killAll(); removeDir(dir); });

test('segment-server -n 4 -f F -p P... and fetcher -o out.bin -p P... move a file exactly', async () => {
  const src = randomFile(path.join(dir, 'video.mp4'), 5 * 1024 * 1024 + 12345);
  const servers = await startServerSet(src, 4, ['-i', '5']);
  const out = path.join(dir, 'output.mp4');
  const r = await runFetcher(['-o', out, '-p', ...servers.ports.map(String)], { cwd: dir });
  expect(r.stderr).not.toMatch(/"level":"error"/);
  expect(r.code).toBe(0);
  expect(sha256File(out)).toBe(sha256File(src));
  expect(fs.existsSync(`${out}.part`)).toBe(false);
  expect(fs.existsSync(`${out}.part.state`)).toBe(false);
  await servers.stop();
});

test('fetcher -a HOST -p P... -o DIR -i 1 -r writes the served name into the directory', async () => {
  const src = randomFile(path.join(dir, 'data.bin'), 3 * 1024 * 1024 + 7);
  const servers = await startServerSet(src, 4);
  const outDir = fs.mkdtempSync(path.join(dir, 'out-'));
  const r = await runFetcher(['-a', '127.0.0.1', '-p', ...servers.ports.map(String), '-o', outDir, '-i', '1', '-r']);
  expect(r.code).toBe(0);
  expect(sha256File(path.join(outDir, 'data.bin'))).toBe(sha256File(src));
  await servers.stop();
});
