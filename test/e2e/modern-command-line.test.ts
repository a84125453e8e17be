/**
 * The modern form: one segment-server process per server (--port/--server-id, as one Kubernetes
 * replica each), the fetcher given `--servers host:port,...` and several connections per server;
 * the same through environment variables and a config file; and --help / --version.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { FETCHER_BIN, killAll, runFetcher, runToExit, SERVER_BIN, ServerSet, startServers } from '../helpers/processes';

let dir: string;
let src: string;
beforeAll(() => {
  dir = tempDir();
  src = randomFile(path.join(dir, 'image.iso'), 16 * 1024 * 1024 + 4099);
});
afterAll(() => { killAll(); removeDir(dir); });

/** N single-listener processes on free ports, server IDs 0..n-1. */
async function onePerServer(n: number, extra: string[] = [], env?: NodeJS.ProcessEnv): Promise<ServerSet[]> {
  return Promise.all(Array.from({ length: n }, (_, id) => startServers(['-f', src, '--port', '0', '--server-id', String(id), '-n', String(n), ...extra], { env })));
}

test('4 processes with --port/--server-id, fetcher --servers ... --connections-per-server 3', async () => {
  // a rate limit stretches the transfer over a few status lines, so the connections can be seen
  const servers = await onePerServer(4, ['--piece-size', '256KiB', '--rate-limit', '6MiB', '-i', '0.2']);
  try {
    expect(servers.map((s) => s.logs().find((l) => l.msg === 'listening')?.serverId)).toEqual([0, 1, 2, 3]);
    const out = path.join(dir, 'modern.iso');
    const list = servers.map((s) => `127.0.0.1:${s.ports[0]}`).join(',');
    const r = await runFetcher(['--servers', list, '--connections-per-server', '3', '-o', out]);
    expect(r.code).toBe(0);
    expect(sha256File(out)).toBe(sha256File(src));
    for (const s of servers) {
      const status = s.logs().filter((l) => typeof l.connections === 'number');
      expect(Math.max(...status.map((l) => Number(l.connections)))).toBeGreaterThanOrEqual(3);
      expect(Math.max(...status.map((l) => Number(l.bytesSent)))).toBeGreaterThan(0);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});

test('the same from the environment (servers) and a config file (fetcher)', async () => {
  const servers = await Promise.all([0, 1, 2].map((id) => startServers([], {
    env: { MSD_FILE: src, MSD_PORT: '0', MSD_SERVER_ID: String(id), MSD_NUM_SERVERS: '3', MSD_PIECE_SIZE: '1MiB' },
  })));
  try {
    expect(servers.map((s) => s.logs().find((l) => l.msg === 'listening')?.serverId)).toEqual([0, 1, 2]);
    const out = path.join(dir, 'from-config.iso');
    const config = path.join(dir, 'fetcher.json');
    fs.writeFileSync(config, JSON.stringify({ servers: servers.map((s) => `127.0.0.1:${s.ports[0]}`), connectionsPerServer: 2, output: out }));
    const r = await runFetcher(['--config', config]);
    expect(r.code).toBe(0);
    expect(sha256File(out)).toBe(sha256File(src));

    // MSD_SERVERS (comma list) works too, and a flag beats the file
    const out2 = path.join(dir, 'from-env.iso');
    const r2 = await runFetcher(['--config', config, '-o', out2], { env: { MSD_SERVERS: servers.map((s) => `127.0.0.1:${s.ports[0]}`).join(',') } });
    expect(r2.code).toBe(0);
    expect(sha256File(out2)).toBe(sha256File(src));
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});

describe.each([
  { program: 'segment-server', bin: SERVER_BIN, flags: ['-n, --num_servers', '-f, --file_location', '-p, --list_of_ports', '-i, --status_interval', '--server-id', '--port', '--bind', '--piece-size'] },
  { program: 'fetcher', bin: FETCHER_BIN, flags: ['-a, --server_ip_address', '-p, --list_of_ports', '-o, --output_location', '-i, --metric_interval', '-r, --resume', '--servers', '--connections-per-server', '--file'] },
])('$program', ({ program, bin, flags }) => {
  test('--help prints the usage with the original and modern flags, exit 0', async () => {
    const r = await runToExit(bin, ['--help'], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: ${program} `));
    for (const f of flags) expect(r.stdout).toContain(f);
  });

  test('--version prints the name and version, exit 0', async () => {
    const r = await runToExit(bin, ['--version'], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^${program} \\d+\\.\\d+\\.\\d+`));
  });
});
