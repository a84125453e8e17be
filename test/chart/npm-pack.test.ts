import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './helm';
import { freePorts } from '../helpers/free-ports';

/**
 * `npm pack` of the repository makes a package that runs: installed globally (into a scratch
 * prefix) with the repository's Node 24, `fetcher` and `segment-server` answer --help, and the
 * installed pair serves and fetches a file (protos, gRPC and all). The install is --offline:
 * `make install` filled the npm cache with every dependency, and tests reach nothing but loopback.
 */
const NODE24 = path.join(REPO_ROOT, 'node_modules', '.bin', 'node');

function npmCli(): string {
  const npm = execFileSync('bash', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  return realpathSync(npm);
}

describe('npm pack', () => {
  jest.setTimeout(180_000);
  const scratch = mkdtempSync(path.join(tmpdir(), 'msd-npm-pack-'));
  const prefix = path.join(scratch, 'prefix');
  const env = { PATH: `${path.dirname(NODE24)}:/usr/local/bin:/usr/bin:/bin`, HOME: process.env.HOME ?? scratch };
  let tarball = '';
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('packs the compiled programs with @msd/common bundled, and nothing of the sources or tests', () => {
    const out = execFileSync(NODE24, [npmCli(), 'pack', '--pack-destination', scratch, '--json', '--loglevel=error'], { cwd: REPO_ROOT, encoding: 'utf8', env });
    const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(scratch, info?.filename ?? '');
    const files = (info?.files ?? []).map((f) => f.path);
    for (const need of ['services/fetcher/bin/fetcher.js', 'services/fetcher/dist/runtime-tuning.js', 'services/segment-server/dist/main.js', 'node_modules/@msd/common/dist/index.js']) {
      expect(files).toContain(need);
    }
    expect(files.some((f) => f.startsWith('node_modules/@msd/common/proto/'))).toBe(true);
    expect(files.filter((f) => /\.test\.|\/src\/|\.tsbuildinfo$|\.map$|^charts\/|^test\//.test(f))).toEqual([]);
  });

  it('installs with npm install -g on Node 24; both programs answer --help and --version', () => {
    execFileSync(NODE24, [npmCli(), 'install', '-g', tarball, '--prefix', prefix, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { encoding: 'utf8', env });
    for (const program of ['fetcher', 'segment-server']) {
      const bin = path.join(prefix, 'bin', program);
      expect(existsSync(bin)).toBe(true);
      expect(execFileSync(bin, ['--help'], { encoding: 'utf8', env, cwd: scratch })).toMatch(new RegExp(`^usage: ${program} `));
      expect(execFileSync(bin, ['--version'], { encoding: 'utf8', env, cwd: scratch }).trim()).toMatch(new RegExp(`^${program} \\d+\\.\\d+\\.\\d+`));
    }
  });

  it('the installed segment-server serves a file (gRPC health on) that the installed fetcher downloads', async () => {
    const data = path.join(scratch, 'data');
    const out = path.join(scratch, 'out');
    mkdirSync(data);
    mkdirSync(out);
    const content = randomBytes(2 * 1024 * 1024 + 99);
    writeFileSync(path.join(data, 'data.bin'), content);
    const [port, grpcPort] = await freePorts(2);
    const server = spawn(path.join(prefix, 'bin', 'segment-server'), [], {
      cwd: scratch,
      env: { ...env, MSD_FILE: path.join(data, 'data.bin'), MSD_PORT: String(port), MSD_BIND: '127.0.0.1', MSD_SERVER_ID: '0', MSD_NUM_SERVERS: '1', MSD_GRPC_PORT: String(grpcPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    server.stdout.on('data', (c: Buffer) => (log += c.toString()));
    server.stderr.on('data', (c: Buffer) => (log += c.toString()));
    try {
      execFileSync(path.join(prefix, 'bin', 'fetcher'), ['--servers', `127.0.0.1:${port}`, '-o', `${out}/`], { cwd: scratch, env, encoding: 'utf8', timeout: 60_000 });
      expect(readdirSync(out)).toContain('data.bin');
      expect(readFileSync(path.join(out, 'data.bin')).equals(content)).toBe(true);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- server ---\n${log}`);
    } finally {
      server.kill('SIGKILL');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    expect(log).toMatch(/grpc listening/);
  });
});
