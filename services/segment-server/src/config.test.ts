/** segment-server settings: the original command line, the modern one, and the listener plan. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helpText, planListeners, readConfig, readTls, ServerConfig } from './config';

/** Matches the MsdError a bad setting throws (a usage error for unknown flags; an asymmetric matcher, typed as what toThrow takes). */
const configError = (message: RegExp): Error => expect.objectContaining({ code: expect.stringMatching(/^E_(CONFIG|USAGE)$/), message: expect.stringMatching(message) });

const read = (argv: string[], env: NodeJS.ProcessEnv = {}): ServerConfig => readConfig(argv, env).config;

describe('segment-server configuration', () => {
  it('the original command line: -n 4 -f F -p 4450 4451 4452 4453 -i 5', () => {
    const c = read(['-n', '4', '-f', 'F', '-p', '4450', '4451', '4452', '4453', '-i', '5']);
    expect(c).toMatchObject({ numServers: 4, file: 'F', ports: [4450, 4451, 4452, 4453], statusInterval: 5 });
    expect(planListeners(c)).toEqual({
      listeners: [{ serverId: 0, port: 4450 }, { serverId: 1, port: 4451 }, { serverId: 2, port: 4452 }, { serverId: 3, port: 4453 }],
      numServers: 4,
    });
  });

  it('the original forms as people type them: -n4, -i=5, --num_servers=4, -p ... --', () => {
    expect(read(['-n4', '-f', 'F', '-p', '4450', '4451', '--', ])).toMatchObject({ numServers: 4, ports: [4450, 4451] });
    expect(read(['-n=4', '-fF', '-i=5'])).toMatchObject({ numServers: 4, file: 'F', statusInterval: 5 });
    expect(read(['--num_servers=4', '--file_location=F', '--list_of_ports=4450,4451'])).toMatchObject({ numServers: 4, file: 'F', ports: [4450, 4451] });
  });

  it('a typo gets the flag meant', () => {
    expect(() => read(['-f', 'F', '--max-conections', '4'])).toThrow(configError(/unknown option --max-conections \(did you mean --max-connections\?\)/));
  });

  it('the original long spellings', () => {
    const c = read(['--num_servers', '2', '--file_location', '/srv/f', '--list_of_ports', '1', '2', '--status_interval', '0.5']);
    expect(c).toMatchObject({ numServers: 2, file: '/srv/f', ports: [1, 2], statusInterval: 0.5 });
  });

  it('defaults', () => {
    const c = read(['-f', 'F']);
    expect(c).toMatchObject({ ports: [], numServers: 0, statusInterval: 0, serverId: 0, port: 4450, portBase: null, bind: '127.0.0.1', pieceSize: 1024 * 1024, rateLimit: 0, grpcPort: null, metricsPort: null, token: '', logFormat: 'auto', logLevel: 'info' });
    expect(planListeners(c)).toEqual({ listeners: [{ serverId: 0, port: 4450 }], numServers: 1 });
  });

  it('the modern single-listener form, from flags or environment (Kubernetes)', () => {
    const c = read(['--file', '/data', '--server-id', '3', '--port', '5000', '--bind', '0.0.0.0', '--num-servers', '4', '--piece-size', '4MiB', '--rate-limit', '10MB']);
    expect(c).toMatchObject({ serverId: 3, port: 5000, bind: '0.0.0.0', pieceSize: 4 * 1024 * 1024, rateLimit: 10_000_000 });
    expect(planListeners(c)).toEqual({ listeners: [{ serverId: 3, port: 5000 }], numServers: 4 });
    const e = read([], { MSD_FILE: '/data', MSD_SERVER_ID: '2', MSD_PORT_BASE: '4450', MSD_NUM_SERVERS: '4', MSD_GRPC_PORT: '9090', MSD_METRICS_PORT: '9100' });
    expect(planListeners(e)).toEqual({ listeners: [{ serverId: 2, port: 4452 }], numServers: 4 });
    expect(e).toMatchObject({ grpcPort: 9090, metricsPort: 9100 });
  });

  it('precedence: file < env < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'msd-server-config-'));
    try {
      const f = join(dir, 'c.json');
      writeFileSync(f, JSON.stringify({ file: '/from-file', port: 1111, bind: '10.0.0.1', rateLimit: '1MiB' }));
      const c = read(['--config', f, '--port', '3333'], { MSD_PORT: '2222', MSD_BIND: '10.0.0.2' });
      expect(c).toMatchObject({ file: '/from-file', port: 3333, bind: '10.0.0.2', rateLimit: 1024 * 1024 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a token that looks like a number stays as typed', () => {
    expect(read(['-f', 'F', '--token', '0x1234']).token).toBe('0x1234');
    expect(read(['-f', 'F', '--token', '00012345678901234567890']).token).toBe('00012345678901234567890');
  });

  it.each([
    [['-f', 'F', '-p', '4450', '70000'], /ports \(-p\/--list_of_ports\/--ports, MSD_PORTS\).*70000/],
    [['-f', 'F', '-n', 'four'], /numServers \(-n\/--num_servers\/--num-servers, MSD_NUM_SERVERS\)/],
    [['-f', 'F', '-i', '-1'], /statusInterval \(-i\/--status_interval\/--status-interval, MSD_STATUS_INTERVAL\)/],
    [['-f', 'F', '--port', '65536'], /port \(--port, MSD_PORT\)/],
    [['-f', 'F', '--piece-size', 'big'], /pieceSize \(--piece-size, MSD_PIECE_SIZE\)/],
    [['-f', 'F', '--rate-limit', 'fast'], /rateLimit \(--rate-limit, MSD_RATE_LIMIT\)/],
    [['-f', 'F', '--grpc-port', '-5'], /grpcPort \(--grpc-port, MSD_GRPC_PORT\)/],
    [['-f', 'F', '--log-format', 'xml'], /logFormat \(--log-format, MSD_LOG_FORMAT\)/],
    [['-f', 'F', '--log-level', 'verbose'], /logLevel \(--log-level, MSD_LOG_LEVEL\)/],
    [['-f', 'F', '--handshake-timeout', 'x'], /handshakeTimeout/],
  ])('bad value %j is an E_CONFIG naming the setting', (argv, msg) => {
    expect(() => read(argv as string[])).toThrow(configError(msg));
  });

  it('piece size between 4 KiB and 16 MiB, and a non-empty bind address', () => {
    expect(read(['-f', 'F', '--piece-size', '4KiB']).pieceSize).toBe(4096);
    expect(read(['-f', 'F', '--piece-size', '16MiB']).pieceSize).toBe(16 * 1024 * 1024);
    for (const size of ['4095', '16777217', '0']) expect(() => read(['-f', 'F', '--piece-size', size])).toThrow(configError(/pieceSize \(--piece-size, MSD_PIECE_SIZE\): must be a size between 4KiB and 16MiB \(e\.g\. 1048576 or 1MiB\); got "\d+" from the command line/));
    expect(() => read(['-f', 'F', '--bind', ' '])).toThrow(configError(/bind \(--bind, MSD_BIND\): must not be empty/));
    expect(() => read(['-f', 'F'], { MSD_PIECE_SIZE: '32MiB' })).toThrow(configError(/pieceSize .*between 4KiB and 16MiB .*; got "32MiB" from MSD_PIECE_SIZE/));
    expect(readConfig(['--piece-size', '1', '--help'], {}).help).toBe(true); // --help works whatever else is wrong
  });

  it('TLS certificate and key go together; unreadable files name the setting', () => {
    expect(readTls(read(['-f', 'F']))).toBeUndefined();
    expect(() => readTls(read(['-f', 'F', '--tls-cert', '/c.pem']))).toThrow(configError(/tls-cert .* and tls-key .* go together/));
    expect(() => readTls(read(['-f', 'F', '--tls-client-ca', '/ca.pem']))).toThrow(configError(/go together/));
    expect(() => readTls(read(['-f', 'F', '--tls-cert', '/nonexistent/c.pem', '--tls-key', '/nonexistent/k.pem']))).toThrow(configError(/tls-cert \(--tls-cert, MSD_TLS_CERT\): cannot read \/nonexistent\/c\.pem/));
  });

  it('bad environment values name the variable', () => {
    expect(() => read(['-f', 'F'], { MSD_PORTS: '4450,x' })).toThrow(configError(/MSD_PORTS/));
    expect(() => read(['-f', 'F'], { MSD_PIECE_SIZE: '1 banana' })).toThrow(configError(/MSD_PIECE_SIZE/));
  });

  it('unknown flags are usage errors', () => {
    expect(() => read(['-f', 'F', '--num-server', '4'])).toThrow(configError(/unknown option --num-server/));
    expect(() => read(['-f', 'F', 'extra'])).toThrow(configError(/unexpected argument "extra"/));
  });

  describe('planListeners', () => {
    const base = (over: Partial<ServerConfig>): ServerConfig => ({ ...read(['-f', 'F']), ...over });

    it('requires the file', () => {
      expect(() => planListeners(base({ file: '' }))).toThrow(configError(/file_location \(-f, --file, MSD_FILE\) is required/));
    });

    it('refuses repeated ports', () => {
      expect(() => planListeners(base({ ports: [4450, 4451, 4450] }))).toThrow(configError(/ports repeat \(4450 4451 4450\)/));
    });

    it('numServers defaults to the number of ports, and may be larger (the rest elsewhere)', () => {
      expect(planListeners(base({ ports: [1, 2, 3] })).numServers).toBe(3);
      expect(planListeners(base({ ports: [1, 2], numServers: 4 })).numServers).toBe(4);
    });

    it('refuses fewer servers than listeners', () => {
      expect(() => planListeners(base({ ports: [1, 2, 3], numServers: 2 }))).toThrow(configError(/num_servers .* is 2 but server IDs go up to 2; give -n at least 3/));
      expect(() => planListeners(base({ serverId: 5, numServers: 5 }))).toThrow(configError(/server IDs go up to 5/));
    });

    it('several ports with a starting server ID', () => {
      expect(planListeners(base({ ports: [7, 8], serverId: 2, numServers: 4 })).listeners).toEqual([{ serverId: 2, port: 7 }, { serverId: 3, port: 8 }]);
    });

    it('port base + server ID must be a port', () => {
      expect(planListeners(base({ portBase: 65000, serverId: 535, numServers: 536 })).listeners).toEqual([{ serverId: 535, port: 65535 }]);
      expect(() => planListeners(base({ portBase: 65000, serverId: 536, numServers: 537 }))).toThrow(configError(/65536 is not a valid port/));
    });
  });

  it('help lists the original flags', () => {
    const h = helpText();
    for (const f of ['-n, --num_servers', '-f, --file_location', '-p, --list_of_ports', '-i, --status_interval', '--server-id', '--rate-limit']) expect(h).toContain(f);
  });
});
