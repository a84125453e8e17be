/** The original program's command lines work unchanged (ports random, not 4450-4453). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { FETCHER_BIN, freePorts, killAll, run, runFetcher, runToExit, SERVER_BIN, startServerSet } from '../helpers/processes';

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

describe('the original client\'s -r RESUME, and the short forms people type', () => {
  /** Starts a slowed fetcher with `args` and SIGKILLs it once its resume state is on disk. */
  async function interrupted(out: string, ports: number[], args: string[]): Promise<void> {
    const p = run(FETCHER_BIN, ['-o', out, '-p', ...ports.map(String), '--state-interval', '0.2', ...args]);
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(`${out}.part.state`) && Date.now() < deadline && p.child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(`${out}.part.state`)).toBe(true);
    await p.stop('SIGKILL');
  }
  const said = (r: { logs: Array<{ msg: string }> }, re: RegExp): boolean => r.logs.some((l) => re.test(l.msg));

  test('-r 0 starts over, -r 1 and --resumebool 1 resume, a bare -r resumes; -rp P... and -c1 parse as the original meant', async () => {
    const src = randomFile(path.join(dir, 'resume-forms.bin'), 6 * 1024 * 1024);
    // 1 MiB/s per server: the download takes seconds, long enough to interrupt it
    const servers = await startServerSet(src, 2, ['--piece-size', '64KiB', '--rate-limit', '1MiB']);
    const out = path.join(dir, 'resume-forms.out');

    await interrupted(out, servers.ports, []);
    const over = run(FETCHER_BIN, ['-o', out, '-p', ...servers.ports.map(String), '-r', '0', '--state-interval', '0.2']);
    await over.waitForLog((l) => /^starting over \(--no-resume\)/.test(l.msg));
    await over.stop('SIGKILL');

    await interrupted(out, servers.ports, ['-r', '1']);
    const resumed = await runFetcher(['-o', out, '-p', ...servers.ports.map(String), '--resumebool', '1', '-c1']);
    expect(resumed.code).toBe(0);
    expect(said(resumed, /^resuming: \d+ of \d+ pieces already verified/)).toBe(true);
    expect(sha256File(out)).toBe(sha256File(src));

    fs.rmSync(out);
    await interrupted(out, servers.ports, []);
    const grouped = await runFetcher(['-o', out, '-rp', ...servers.ports.map(String)]);
    expect(grouped.code).toBe(0);
    expect(said(grouped, /^resuming: /)).toBe(true);
    expect(sha256File(out)).toBe(sha256File(src));
    await servers.stop();
  }, 90_000);

  test('a typo is refused with exit 2 and the flag meant; -r with another value than 1 or 0 is refused naming resume', async () => {
    const [a, b] = (await freePorts(2)).map(String); // never dialled: the command line is refused first
    const typo = await runFetcher(['-o', path.join(dir, 'x.bin'), '-p', a, '--metric_intervall', '1']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown option --metric_intervall \(did you mean --metric_interval\?\)/);
    const two = await runFetcher(['-o', path.join(dir, 'x.bin'), '-p', a, '-r', '2']);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/resume \(-r\/--resume\/--resumebool, MSD_RESUME\): must be true or false; got "2"/);
    const server = await runToExit(SERVER_BIN, ['-n', '2', '-f', path.join(dir, 'x.bin'), '-p', a, b, '--rate-limt', '1']);
    expect(server.code).toBe(2);
    expect(server.stderr).toMatch(/unknown option --rate-limt \(did you mean --rate-limit\?\)/);
  });
});
