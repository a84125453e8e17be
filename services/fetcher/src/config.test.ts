/** fetcher settings: the original command line, the modern one, validation. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FetcherConfig, helpText, readConfig } from './config';
import { resolveServers } from './server-address';

/** Matches the MsdError a bad setting throws (a usage error for unknown flags; an asymmetric matcher, typed as what toThrow takes). */
const configError = (message: RegExp): Error => expect.objectContaining({ code: expect.stringMatching(/^E_(CONFIG|USAGE)$/), message: expect.stringMatching(message) });

const read = (argv: string[], env: NodeJS.ProcessEnv = {}): FetcherConfig => readConfig(argv, env).config;

describe('fetcher configuration', () => {
  it('the original command line: -a H -p 4450 4451 4452 4453 -o OUT -i 1 -r', () => {
    const c = read(['-a', '10.1.2.3', '-p', '4450', '4451', '4452', '4453', '-o', 'OUT', '-i', '1', '-r']);
    expect(c).toMatchObject({ serverIpAddress: '10.1.2.3', ports: [4450, 4451, 4452, 4453], output: 'OUT', metricInterval: 1, resume: true });
    expect(resolveServers(c.servers, c.serverIpAddress, c.ports).map((s) => s.label)).toEqual(['10.1.2.3:4450', '10.1.2.3:4451', '10.1.2.3:4452', '10.1.2.3:4453']);
  });

  it('the documented short form: -o out.bin -p 4450 4451 4452 4453', () => {
    const c = read(['-o', 'out.bin', '-p', '4450', '4451', '4452', '4453']);
    expect(c).toMatchObject({ serverIpAddress: '127.0.0.1', output: 'out.bin', ports: [4450, 4451, 4452, 4453] });
  });

  it('the original long spellings', () => {
    const c = read(['--server_ip_address', 'h', '--list_of_ports', '1', '--output_location', 'o', '--metric_interval', '3', '--resume']);
    expect(c).toMatchObject({ serverIpAddress: 'h', ports: [1], output: 'o', metricInterval: 3, resume: true });
  });

  it('--include/--exclude: repeatable, comma-separated in env, spaces kept; not with --file', () => {
    expect(read(['--include', 'My Model/**', '--include', '*.json', '--exclude', '**/*.tmp'])).toMatchObject({ include: ['My Model/**', '*.json'], exclude: ['**/*.tmp'] });
    expect(read([], { MSD_INCLUDE: 'a b/*,c', MSD_EXCLUDE: 'x' })).toMatchObject({ include: ['a b/*', 'c'], exclude: ['x'] });
    expect(read([])).toMatchObject({ include: [], exclude: [] });
    expect(() => read(['--file', 'a.bin', '--include', '*.json'])).toThrow(configError(/file \(--file\) names one file, include\/exclude/));
    expect(() => read(['--exclude', 'x'], { MSD_FILE: 'a.bin' })).toThrow(configError(/give one or the other/));
  });

  it('defaults', () => {
    expect(read([])).toMatchObject({
      serverIpAddress: '127.0.0.1', ports: [], servers: [], output: '.', file: '', metricInterval: 1, resume: true, onBadState: 'reverify',
      connectionsPerServer: 1, pipeline: 4, stateInterval: 1, stallTimeout: 10, steal: true, verify: true, grpcPort: null, metricsPort: null, pushgatewayUrl: '',
    });
  });

  it('the modern form', () => {
    const c = read(['--servers', 'seg-0.seg:4450,seg-1.seg:4450', '--file', 'a/b.iso', '--connections-per-server', '2', '--no-resume', '--no-steal', '--no-verify', '--on-bad-state', 'fail', '--stall-timeout', '2.5']);
    expect(c).toMatchObject({ servers: ['seg-0.seg:4450', 'seg-1.seg:4450'], file: 'a/b.iso', connectionsPerServer: 2, resume: false, steal: false, verify: false, onBadState: 'fail', stallTimeout: 2.5 });
    expect(read(['--servers', 'a:1', 'b:2']).servers).toEqual(['a:1', 'b:2']);
  });

  it('environment, as in the Job manifest', () => {
    const c = read([], { MSD_SERVERS: 'a:1,b:2', MSD_OUTPUT: '/out', MSD_RESUME: 'false', MSD_STEAL: 'false', MSD_CONNECTIONS_PER_SERVER: '3', MSD_PUSHGATEWAY_URL: 'http://pgw:9091' });
    expect(c).toMatchObject({ servers: ['a:1', 'b:2'], output: '/out', resume: false, steal: false, connectionsPerServer: 3, pushgatewayUrl: 'http://pgw:9091' });
  });

  it('precedence: defaults < file < env < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'msd-fetcher-config-'));
    try {
      const f = join(dir, 'c.json');
      writeFileSync(f, JSON.stringify({ output: '/file', pipeline: 8, stallTimeout: 30, steal: false }));
      const c = read(['--stall-timeout', '5'], { MSD_CONFIG: f, MSD_PIPELINE: '16', MSD_STALL_TIMEOUT: '20' });
      expect(c).toMatchObject({ output: '/file', pipeline: 16, stallTimeout: 5, steal: false, resume: true });
      expect(read(['--config', f, '--steal']).steal).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the original -r RESUME: -r 1 and a bare -r resume, -r 0 starts over; --resume 1 and --resumebool 1 too', () => {
    for (const argv of [['-r', '1'], ['-r'], ['--resume', '1'], ['--resumebool', '1'], ['--resume'], ['--resumebool=1'], ['-r', '1', '-p', '4450']]) expect(read(argv).resume).toBe(true);
    for (const argv of [['-r', '0'], ['--resume', '0'], ['--resumebool', '0'], ['--no-resume'], ['-r=0']]) expect(read(argv).resume).toBe(false);
    expect(read(['-a', 'h', '-p', '4450', '4451', '-o', 'OUT', '-i', '1', '-r', '1'])).toMatchObject({ ports: [4450, 4451], resume: true, metricInterval: 1 });
    expect(() => read(['-r', '2'])).toThrow(configError(/resume \(-r\/--resume\/--resumebool, MSD_RESUME\): must be true or false; got "2"/));
  });

  it('grouped short flags, -c2, -c=2 and --opt=value', () => {
    expect(read(['-rp', '4450', '4451'])).toMatchObject({ resume: true, ports: [4450, 4451] });
    expect(read(['-c2']).connectionsPerServer).toBe(2);
    expect(read(['-c=3']).connectionsPerServer).toBe(3);
    expect(read(['--pipeline=8', '--output_location=o']).pipeline).toBe(8);
  });

  it('connections per server and pipeline are whole numbers from 1 to 64; the state interval more than 0 s', () => {
    expect(read(['-c', '64', '--pipeline', '64'])).toMatchObject({ connectionsPerServer: 64, pipeline: 64 });
    for (const v of ['0', '65', '1.5']) {
      expect(() => read(['-c', v])).toThrow(configError(/connectionsPerServer \(--connections-per-server\/-c, MSD_CONNECTIONS_PER_SERVER\): must be a whole number between 1 and 64/));
      expect(() => read(['--pipeline', v])).toThrow(configError(/pipeline \(--pipeline, MSD_PIPELINE\): must be a whole number between 1 and 64/));
    }
    expect(() => read([], { MSD_PIPELINE: '100' })).toThrow(configError(/pipeline .*between 1 and 64; got "100" from MSD_PIPELINE/));
    expect(() => read(['--state-interval', '0'])).toThrow(configError(/stateInterval \(--state-interval, MSD_STATE_INTERVAL\): must be a number of seconds > 0/));
  });

  it('a typo gets the flag meant', () => {
    expect(() => read(['--ouput', 'x'])).toThrow(configError(/unknown option --ouput \(did you mean --output\?\)/));
  });

  it('-r after --no-resume wins (last flag wins)', () => {
    expect(read(['--no-resume', '-r']).resume).toBe(true);
    expect(read(['-r', '--no-resume']).resume).toBe(false);
  });

  it.each([
    [['-p', '4450', 'out.bin'], /ports \(-p\/--list_of_ports\/--ports, MSD_PORTS\)/],
    [['-p', '0'], /ports.*port 0 is not between 1 and 65535/],
    [['-i', 'often'], /metricInterval \(-i\/--metric_interval\/--metric-interval, MSD_METRIC_INTERVAL\)/],
    [['--on-bad-state', 'ignore'], /onBadState \(--on-bad-state, MSD_ON_BAD_STATE\)/],
    [['--stall-timeout', '-1'], /stallTimeout \(--stall-timeout, MSD_STALL_TIMEOUT\)/],
    [['--connections-per-server', 'two'], /connectionsPerServer \(--connections-per-server\/-c, MSD_CONNECTIONS_PER_SERVER\)/],
    [['--grpc-port', '99999'], /grpcPort/],
    [['--progress', 'fancy'], /progress \(--progress, MSD_PROGRESS\)/],
  ])('bad value %j is an E_CONFIG naming the setting', (argv, msg) => {
    expect(() => read(argv as string[])).toThrow(configError(msg));
  });

  it('unknown flags and stray arguments are usage errors', () => {
    expect(() => read(['--output-location', 'x'])).toThrow(configError(/unknown option --output-location/));
    expect(() => read(['-o'])).toThrow(configError(/option -o needs a value/));
  });

  it('help lists the original flags', () => {
    const h = helpText();
    for (const f of ['-a, --server_ip_address', '-p, --list_of_ports', '-o, --output_location', '-i, --metric_interval', '-r, --resume, --resumebool', '--servers', '--connections-per-server']) expect(h).toContain(f);
  });
});
