/**
 * Bad flags, environment values and config files, given to the real programs: each stops the
 * program before it does anything, with exit code 2 and one clear message that names the setting
 * (flag or variable) and the bad value (docs/configuration.md: "a message that names the setting,
 * the value and what is accepted"). No stack traces, no "internal error".
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { randomFile, tempDir } from '../helpers/files';
import { FETCHER_BIN, freePorts, killAll, runToExit, SERVER_BIN, startServerSet } from '../helpers/processes';

// fixtures are made at load time: concurrent tests may start before beforeAll hooks finish
const dir = tempDir('msd-settings-');
const F = randomFile(path.join(dir, 'served.bin'), 4096);
const write = (name: string, text: string): string => {
  fs.writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
};
const MALFORMED = write('malformed.json', '{"port": 4450,');
const UNKNOWN_KEY = write('unknown-key.json', JSON.stringify({ fileLocation: 'x' }));
const BAD_VALUE = write('bad-value.json', JSON.stringify({ pieceSize: 'huge' }));
const FETCHER_BAD_VALUE = write('fetcher-bad-value.json', JSON.stringify({ connectionsPerServer: 'many' }));
const MISSING = path.join(dir, 'missing.json');

afterAll(() => {
  killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Case {
  what: string;
  args: string[] | (() => Promise<string[]>);
  env?: NodeJS.ProcessEnv;
  /** Each must appear in the output (the setting, the value...). */
  mentions: Array<string | RegExp>;
}

async function expectRefused(bin: string, c: Case): Promise<void> {
  const args = typeof c.args === 'function' ? await c.args() : c.args;
  const r = await runToExit(bin, args, { env: c.env, timeoutMs: 20_000, cwd: dir });
  const out = r.stdout + r.stderr;
  const shown = `${path.basename(bin)} ${args.join(' ')} ${JSON.stringify(c.env ?? {})}\nexit ${r.code} ${r.signal ?? ''}\n${out.slice(-1500)}`;
  if (r.code !== 2) throw new Error(`wanted exit 2:\n${shown}`);
  if (/internal error|\n\s+at .+:\d+:\d+/.test(out)) throw new Error(`an internal error or stack trace instead of a clear message:\n${shown}`);
  for (const m of c.mentions) {
    const hit = typeof m === 'string' ? out.includes(m) : m.test(out);
    if (!hit) throw new Error(`the message does not mention ${String(m)}:\n${shown}`);
  }
  // it stopped before serving or fetching anything (a server may index before it finds its port taken)
  expect(out).not.toMatch(/"msg":"(listening|source|download complete)"/);
}

const serverCases: Case[] = [
  { what: 'an unknown flag', args: ['-f', F, '--bogus'], mentions: ['--bogus'] },
  { what: 'a misspelt original flag', args: ['-f', F, '--num-server', '4'], mentions: ['--num-server'] },
  { what: 'a stray argument', args: ['-f', F, 'extra'], mentions: ['extra'] },
  { what: '-p with a non-number', args: ['-f', F, '-p', 'abc'], mentions: [/-p|list_of_ports/, 'abc'] },
  { what: '-p without a value', args: ['-f', F, '-p'], mentions: ['-p'] },
  { what: 'port 70000', args: ['-f', F, '-p', '4450', '70000'], mentions: [/-p|list_of_ports/, '70000'] },
  { what: '--port 70000', args: ['-f', F, '--port', '70000'], mentions: ['--port', '70000'] },
  { what: 'no -f', args: ['-p', '4450'], mentions: [/-f|file_location/] },
  { what: '-f naming nothing', args: ['-f', path.join(dir, 'nope.bin'), '--port', '0'], mentions: [/-f|file_location/, path.join(dir, 'nope.bin')] },
  { what: 'a negative status interval', args: ['-f', F, '-i', '-1'], mentions: [/-i|status_interval/, '-1'] },
  { what: '--piece-size garbage', args: ['-f', F, '--piece-size', 'garbage'], mentions: ['--piece-size', 'garbage'] },
  { what: '--piece-size 0', args: ['-f', F, '--piece-size', '0', '--port', '0'], mentions: ['--piece-size'] },
  { what: '--piece-size 32MiB, past 16MiB', args: ['-f', F, '--piece-size', '32MiB', '--port', '0'], mentions: ['--piece-size', 'between 4KiB and 16MiB', '32MiB'] },
  { what: 'MSD_PIECE_SIZE=1KiB, under 4KiB', args: ['-f', F, '--port', '0'], env: { MSD_PIECE_SIZE: '1KiB' }, mentions: ['MSD_PIECE_SIZE', 'between 4KiB and 16MiB', '1KiB'] },
  { what: '--piece-size beyond the 32-bit wire field', args: ['-f', F, '--piece-size', '5GiB', '--port', '0'], mentions: ['--piece-size'] },
  { what: 'duplicate ports', args: async () => { const [p] = await freePorts(1); return ['-f', F, '-p', String(p), String(p)]; }, mentions: [/-p|list_of_ports/, /repeat|twice|duplicate/] },
  { what: '-n smaller than the port count', args: async () => ['-n', '2', '-f', F, '-p', ...(await freePorts(3)).map(String)], mentions: [/-n|num_servers/, '2'] },
  { what: '-n not a number', args: ['-f', F, '-n', 'four'], mentions: [/-n|num_servers/, 'four'] },
  { what: 'a port another process holds', args: async () => [...['-f', F, '--port'], String(await heldPort())], mentions: [/port/, /in use|EADDRINUSE/] },
  { what: '--bind to an address that does not exist', args: ['-f', F, '--port', '0', '--bind', '999.1.1.1'], mentions: ['--bind', '999.1.1.1'] },
  { what: 'MSD_PORTS=abc', args: ['-f', F], env: { MSD_PORTS: 'abc' }, mentions: ['MSD_PORTS', 'abc'] },
  { what: 'MSD_PORT=99999', args: ['-f', F], env: { MSD_PORT: '99999' }, mentions: ['MSD_PORT', '99999'] },
  { what: 'MSD_PIECE_SIZE=xyz', args: ['-f', F], env: { MSD_PIECE_SIZE: 'xyz' }, mentions: ['MSD_PIECE_SIZE', 'xyz'] },
  { what: 'MSD_STATUS_INTERVAL=-3', args: ['-f', F], env: { MSD_STATUS_INTERVAL: '-3' }, mentions: ['MSD_STATUS_INTERVAL', '-3'] },
  { what: 'MSD_NUM_SERVERS=two', args: ['-f', F], env: { MSD_NUM_SERVERS: 'two' }, mentions: ['MSD_NUM_SERVERS', 'two'] },
  { what: 'MSD_LOG_LEVEL=loud', args: ['-f', F], env: { MSD_LOG_LEVEL: 'loud' }, mentions: ['MSD_LOG_LEVEL', 'loud'] },
  { what: 'MSD_LOG_FORMAT=xml', args: ['-f', F], env: { MSD_LOG_FORMAT: 'xml' }, mentions: ['MSD_LOG_FORMAT', 'xml'] },
  { what: 'an empty MSD_BIND', args: ['-f', F, '--port', '0'], env: { MSD_BIND: '' }, mentions: ['MSD_BIND'] },
  { what: 'MSD_FILE naming nothing', args: ['--port', '0'], env: { MSD_FILE: path.join(dir, 'gone') }, mentions: [path.join(dir, 'gone')] },
  { what: 'a malformed --config file', args: ['-f', F, '--config', MALFORMED], mentions: [MALFORMED] },
  { what: 'a missing --config file', args: ['-f', F, '--config', MISSING], mentions: [MISSING] },
  { what: 'a --config file with an unknown key', args: ['-f', F, '--config', UNKNOWN_KEY], mentions: ['fileLocation'] },
  { what: 'a --config file with a bad value', args: ['-f', F, '--config', BAD_VALUE], mentions: ['pieceSize', 'huge'] },
  { what: 'a malformed MSD_CONFIG file', args: ['-f', F], env: { MSD_CONFIG: MALFORMED }, mentions: [MALFORMED] },
];

const fetcherCases: Case[] = [
  { what: 'an unknown flag', args: ['-p', '4450', '--bogus'], mentions: ['--bogus'] },
  { what: 'no servers at all', args: ['-o', path.join(dir, 'o.bin')], mentions: ['-p', '--servers'] },
  { what: '-p with a non-number', args: ['-p', 'abc'], mentions: [/-p|list_of_ports/, 'abc'] },
  { what: 'port 70000', args: ['-p', '70000'], mentions: [/-p|list_of_ports/, '70000'] },
  { what: 'the same server twice', args: ['-p', '4450', '4450'], mentions: ['127.0.0.1:4450'] },
  { what: '--servers without a port', args: ['--servers', 'hostonly'], mentions: ['--servers', 'hostonly'] },
  { what: '--servers with port 70000', args: ['--servers', '127.0.0.1:70000'], mentions: ['--servers', '70000'] },
  { what: 'a negative metric interval', args: ['-p', '4450', '-i', '-2'], mentions: [/-i|metric_interval/, '-2'] },
  { what: '--connections-per-server 0', args: ['-p', '4450', '--connections-per-server', '0'], mentions: ['--connections-per-server', '0'] },
  { what: '--connections-per-server lots', args: ['-p', '4450', '--connections-per-server', 'lots'], mentions: ['--connections-per-server', 'lots'] },
  { what: '--pipeline 0', args: ['-p', '4450', '--pipeline', '0'], mentions: ['--pipeline', '0'] },
  { what: '--pipeline 65, past its range', args: ['-p', '4450', '--pipeline', '65'], mentions: ['--pipeline', 'between 1 and 64', '65'] },
  { what: '-c65, past its range', args: ['-p', '4450', '-c65'], mentions: ['--connections-per-server', 'between 1 and 64', '65'] },
  { what: 'MSD_PIPELINE=100', args: ['-p', '4450'], env: { MSD_PIPELINE: '100' }, mentions: ['MSD_PIPELINE', 'between 1 and 64', '100'] },
  { what: '-r with a value other than 1 or 0', args: ['-p', '4450', '-r', '2'], mentions: ['--resume', '"2"'] },
  { what: 'a misspelt flag, with the one meant', args: ['-p', '4450', '--pipelin', '2'], mentions: ['--pipelin', 'did you mean --pipeline?'] },
  { what: 'a negative --stall-timeout', args: ['-p', '4450', '--stall-timeout', '-1'], mentions: ['--stall-timeout', '-1'] },
  { what: '--on-bad-state maybe', args: ['-p', '4450', '--on-bad-state', 'maybe'], mentions: ['--on-bad-state', 'maybe'] },
  {
    what: '-o in a directory that does not exist (servers up)',
    args: async () => ['-p', String(await liveServerPort()), '-o', path.join(dir, 'no', 'such', 'out.bin')],
    mentions: [/-o|output_location/, path.join(dir, 'no', 'such')],
  },
  {
    what: '-o in a directory that does not exist, checked before any server is contacted',
    args: async () => ['-p', String((await freePorts(1))[0]), '-o', path.join(dir, 'no', 'such', 'out.bin'), '--give-up-after', '2'],
    mentions: [/-o|output_location/, path.join(dir, 'no', 'such')],
  },
  { what: 'MSD_SERVERS=garbage', args: [], env: { MSD_SERVERS: 'garbage' }, mentions: ['MSD_SERVERS', 'garbage'] },
  { what: 'MSD_PORTS=abc', args: [], env: { MSD_PORTS: 'abc' }, mentions: ['MSD_PORTS', 'abc'] },
  { what: 'MSD_CONNECTIONS_PER_SERVER=abc', args: ['-p', '4450'], env: { MSD_CONNECTIONS_PER_SERVER: 'abc' }, mentions: ['MSD_CONNECTIONS_PER_SERVER', 'abc'] },
  { what: 'MSD_METRIC_INTERVAL=soon', args: ['-p', '4450'], env: { MSD_METRIC_INTERVAL: 'soon' }, mentions: ['MSD_METRIC_INTERVAL', 'soon'] },
  { what: 'MSD_VERIFY=nope', args: async () => ['-p', String((await freePorts(1))[0]), '--give-up-after', '1'], env: { MSD_VERIFY: 'nope' }, mentions: ['MSD_VERIFY', 'nope'] },
  { what: 'MSD_RESUME=maybe', args: async () => ['-p', String((await freePorts(1))[0]), '--give-up-after', '1'], env: { MSD_RESUME: 'maybe' }, mentions: ['MSD_RESUME', 'maybe'] },
  { what: 'a malformed --config file', args: ['-p', '4450', '--config', MALFORMED], mentions: [MALFORMED] },
  { what: 'a missing --config file', args: ['-p', '4450', '--config', MISSING], mentions: [MISSING] },
  { what: 'a --config file with a bad value', args: ['-p', '4450', '--config', FETCHER_BAD_VALUE], mentions: ['connectionsPerServer', 'many'] },
];

/** A port held by another listener (closed when the suite ends). */
const held: net.Server[] = [];
async function heldPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  held.push(s);
  return (s.address() as net.AddressInfo).port;
}
/** The port of a real segment server (so the fetcher gets past discovery); stopped by killAll. */
async function liveServerPort(): Promise<number> {
  return (await startServerSet(F, 1)).ports[0];
}
afterAll(() => { for (const s of held) s.close(); });

describe('segment-server refuses bad settings with exit 2 and a message naming them', () => {
  test.concurrent.each(serverCases)('$what', async (c) => expectRefused(SERVER_BIN, c), 30_000);
});

describe('fetcher refuses bad settings with exit 2 and a message naming them', () => {
  test.concurrent.each(fetcherCases)('$what', async (c) => expectRefused(FETCHER_BIN, c), 30_000);
});
