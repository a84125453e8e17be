/** Config loading: precedence, validation errors that name the setting, formats and their ranges. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Schema } from 'convict';
import type { FlagSpec } from './argv-parser';
import { loadConfig, usage } from './cli-config';
import { exactSize, sizeBetween, wholeBetween } from './config-formats';
import { MsdError } from './errors';

interface Conf {
  name: string;
  ports: number[];
  size: number;
  wait: number;
  port: number | null;
  on: boolean;
  tags: string[];
  mode: 'a' | 'b';
  count: number;
  every: number;
  config: string;
}

const schema: Schema<Conf> = {
  name: { doc: 'a name', format: String, default: 'dflt', env: 'T_NAME' },
  ports: { doc: 'ports', format: 'port-list', default: [], env: 'T_PORTS' },
  size: { doc: 'a size', format: 'size', default: 1024, env: 'T_SIZE' },
  wait: { doc: 'seconds', format: 'seconds', default: 1, env: 'T_WAIT' },
  port: { doc: 'optional port', format: 'optional-port', default: null, env: 'T_PORT' },
  on: { doc: 'a switch', format: Boolean, default: true, env: 'T_ON' },
  tags: { doc: 'tags', format: 'string-list', default: [], env: 'T_TAGS' },
  mode: { doc: 'mode', format: ['a', 'b'], default: 'a', env: 'T_MODE' },
  count: { doc: 'a count', format: 'positive-int', default: 1, env: 'T_COUNT' },
  every: { doc: 'an interval', format: 'positive-seconds', default: 1, env: 'T_EVERY' },
  config: { doc: 'config file', format: String, default: '', env: 'T_CONFIG' },
};
const flags: FlagSpec[] = [
  { key: 'name', names: ['-n', '--name'], kind: 'value' },
  { key: 'ports', names: ['-p', '--list_of_ports'], kind: 'list' },
  { key: 'size', names: ['--size'], kind: 'value' },
  { key: 'wait', names: ['-w', '--wait'], kind: 'value' },
  { key: 'port', names: ['--port'], kind: 'value' },
  { key: 'on', names: ['-o', '--on'], kind: 'bool' },
  { key: 'tags', names: ['--tags'], kind: 'list' },
  { key: 'mode', names: ['--mode'], kind: 'value' },
  { key: 'count', names: ['--count'], kind: 'value' },
  { key: 'every', names: ['--every'], kind: 'value' },
  { key: 'config', names: ['--config'], kind: 'value' },
];

function load(argv: string[], env: NodeJS.ProcessEnv = {}): Conf {
  return loadConfig<Conf>({ schema, flags, argv, env, configKey: 'config' }).config;
}

function failure(fn: () => unknown, code: 'E_CONFIG' | 'E_USAGE' = 'E_CONFIG'): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MsdError);
    expect((err as MsdError).code).toBe(code);
    expect((err as MsdError).exitCode).toBe(2);
    return (err as MsdError).message;
  }
  throw new Error(`expected ${code}`);
}

describe('loadConfig', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'msd-config-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: unknown): string => {
    const f = join(dir, name);
    writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
    return f;
  };

  it('defaults', () => {
    expect(load([])).toEqual({ name: 'dflt', ports: [], size: 1024, wait: 1, port: null, on: true, tags: [], mode: 'a', count: 1, every: 1, config: '' });
  });

  it('precedence: defaults < file < env < flags, setting by setting', () => {
    const f = file('prec.json', { name: 'file', size: 2048, wait: 3, mode: 'b' });
    const env = { T_CONFIG: f, T_NAME: 'env', T_SIZE: '4KiB' };
    const c = load(['--size', '8KiB'], env);
    expect(c.mode).toBe('b'); // file over default
    expect(c.wait).toBe(3); // file over default
    expect(c.name).toBe('env'); // env over file
    expect(c.size).toBe(8192); // flag over env over file
    expect(load(['--config', f]).name).toBe('file');
    expect(load(['--config', f, '-n', 'flag'], { T_NAME: 'env' }).name).toBe('flag');
  });

  it('the result is frozen', () => {
    const c = load([]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('coerces each format from text', () => {
    const c = load(['-p', '1', '2', '--size', '1.5KiB', '-w', '0.25', '--port', '0', '--tags', 'x, y', '-o'], { T_ON: 'false' });
    expect(c).toMatchObject({ ports: [1, 2], size: 1536, wait: 0.25, port: 0, tags: ['x', 'y'], on: true });
    expect(load([], { T_PORTS: '7,8 9' }).ports).toEqual([7, 8, 9]);
    expect(load([], { T_ON: 'false' }).on).toBe(false);
    expect(load(['--port', 'off']).port).toBeNull();
    expect(load(['--count', '12', '--every', '0.1'])).toMatchObject({ count: 12, every: 0.1 });
  });

  it('sizes and seconds from a config file as numbers or text', () => {
    expect(load(['--config', file('sz.json', { size: '2MiB', wait: 1.5 })])).toMatchObject({ size: 2 * 1024 * 1024, wait: 1.5 });
    expect(load(['--config', file('sz2.json', { size: 4096 })]).size).toBe(4096);
  });

  it('keeps text values that look like numbers as text', () => {
    expect(load(['-n', '0123'], {}).name).toBe('0123');
    expect(load(['-n', '0x10'], {}).name).toBe('0x10');
    expect(load(['-n', '1e3'], {}).name).toBe('1e3');
    expect(load([], { T_NAME: '42' }).name).toBe('42');
  });

  it.each([
    [['-p', '0'], /ports \(-p\/--list_of_ports, T_PORTS\): .*port 0 is not between 1 and 65535/],
    [['-p', '65536'], /ports.*65536/],
    [['-p', '1', 'x'], /ports \(-p\/--list_of_ports, T_PORTS\)/],
    [['--size', 'lots'], /size \(--size, T_SIZE\): must be a size in bytes/],
    [['--size', '-1'], /size \(--size, T_SIZE\)/],
    [['-w', '-1'], /wait \(-w\/--wait, T_WAIT\): must be a number of seconds >= 0/],
    [['-w', 'soon'], /wait.*seconds/],
    [['--port', '70000'], /port \(--port, T_PORT\): must be a port between 0 and 65535/],
    [['--port', 'eighty'], /port \(--port, T_PORT\)/],
    [['--mode', 'c'], /mode \(--mode, T_MODE\)/],
    [['--count', '0'], /count \(--count, T_COUNT\): must be a whole number >= 1/],
    [['--count', '-2'], /count.*>= 1/],
    [['--count', '2.5'], /count.*>= 1/],
    [['--count', '4abc'], /count.*>= 1/],
    [['--every', '0'], /every \(--every, T_EVERY\): must be a number of seconds > 0/],
    [['--every', 'x'], /every.*> 0/],
  ])('bad flag value %j names the setting', (argv, msg) => {
    expect(failure(() => load(argv as string[]))).toMatch(msg);
  });

  it.each([
    [{ T_SIZE: '12 parsecs' }, /size \(--size, T_SIZE\)/],
    [{ T_PORTS: '80,http' }, /ports.*T_PORTS/],
    [{ T_WAIT: 'NaN' }, /wait.*T_WAIT/],
    [{ T_MODE: 'z' }, /mode.*T_MODE/],
  ])('bad environment value %j names the setting', (env, msg) => {
    expect(failure(() => load([], env as NodeJS.ProcessEnv))).toMatch(msg);
  });

  it('bad config files: missing, not JSON, unknown key, bad value', () => {
    expect(failure(() => load(['--config', join(dir, 'nope.json')]))).toMatch(/invalid configuration/);
    expect(failure(() => load(['--config', file('bad.json', '{ not json')]))).toMatch(/invalid configuration/);
    expect(failure(() => load(['--config', file('unknown.json', { nmae: 'typo' })]))).toMatch(/nmae/);
    expect(failure(() => load(['--config', file('badval.json', { wait: -3 })]))).toMatch(/wait \(-w\/--wait, T_WAIT\)/);
  });

  it('quotes the bad value and where it came from', () => {
    expect(failure(() => load(['-p', 'abc']))).toMatch(/ports \(-p\/--list_of_ports, T_PORTS\): .*; got "abc" from the command line$/);
    expect(failure(() => load(['-p', '4450', '70000']))).toMatch(/port 70000 is not between 1 and 65535; got "4450,70000"/);
    expect(failure(() => load([], { T_SIZE: 'xyz' }))).toMatch(/size \(--size, T_SIZE\): must be a size in bytes.*; got "xyz" from T_SIZE$/);
    const f = file('quoted.json', { size: 'huge' });
    expect(failure(() => load(['--config', f]))).toMatch(new RegExp(`size \\(--size, T_SIZE\\): .*; got "huge" from ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`));
    // the flag is quoted even when the environment also sets the key (flags win)
    expect(failure(() => load(['--size', 'abc'], { T_SIZE: '1' }))).toMatch(/got "abc" from the command line/);
  });

  it('switches accept true/false, 1/0, yes/no, on/off and nothing else', () => {
    for (const [text, want] of [['false', false], ['FALSE', false], ['0', false], ['no', false], ['off', false], ['true', true], ['1', true], ['Yes', true], ['on', true]] as const) {
      expect(load([], { T_ON: text }).on).toBe(want);
      expect(load([`--on=${text}`]).on).toBe(want);
    }
    expect(failure(() => load([], { T_ON: 'nope' }))).toMatch(/on \(-o\/--on, T_ON\): must be true or false; got "nope" from T_ON/);
    expect(failure(() => load(['--on=maybe']))).toMatch(/on .*: must be true or false; got "maybe" from the command line/);
    expect(failure(() => load([], { T_ON: '' }))).toMatch(/must be true or false; got ""/);
  });

  it('a config file that cannot be used is named in the message', () => {
    const missing = join(dir, 'nope.json');
    expect(failure(() => load(['--config', missing]))).toContain(`config (--config, T_CONFIG): cannot use ${missing}: no such file`);
    const bad = file('bad2.json', '{"size": 1,');
    expect(failure(() => load([], { T_CONFIG: bad }))).toContain(`config (--config, T_CONFIG): cannot use ${bad}: `);
    const list = file('list.json', '[1, 2]');
    expect(failure(() => load(['--config', list]))).toMatch(/must hold one JSON object/);
    const unknown = file('unknown2.json', { nmae: 'x' });
    expect(failure(() => load(['--config', unknown]))).toContain(`nmae`);
    expect(failure(() => load(['--config', unknown]))).toContain(unknown);
  });

  it('reports every bad setting at once', () => {
    const msg = failure(() => load(['--size', 'x', '-w', '-1']));
    expect(msg).toMatch(/size/);
    expect(msg).toMatch(/wait/);
  });

  it('usage lists every flag with its env variable and default', () => {
    const u = usage('prog', '[options]', flags, schema as never);
    expect(u).toMatch(/^usage: prog \[options\]/);
    for (const f of flags) expect(u).toContain(f.names.join(', '));
    expect(u).toContain('[T_SIZE]');
    expect(u).toContain('(default 1024)');
    expect(u).toContain('-p, --list_of_ports V...');
  });
});

describe('formats with bounds', () => {
  interface Bounded { n: number; size: number; host: string }
  const boundedSchema: Schema<Bounded> = {
    n: { doc: 'n', format: wholeBetween(2, 5), default: 3, env: 'B_N' },
    size: { doc: 'size', format: sizeBetween(4096, 16 * 1024 * 1024), default: 4096, env: 'B_SIZE' },
    host: { doc: 'host', format: 'address', default: '127.0.0.1', env: 'B_HOST' },
  };
  const boundedFlags: FlagSpec[] = [{ key: 'n', names: ['-n'], kind: 'value' }, { key: 'size', names: ['--size'], kind: 'value' }, { key: 'host', names: ['--host'], kind: 'value' }];
  const loadBounded = (argv: string[], env: NodeJS.ProcessEnv = {}): Bounded => loadConfig<Bounded>({ schema: boundedSchema, flags: boundedFlags, argv, env }).config;

  it('accepts the ends of the range and refuses one past, naming the range', () => {
    expect(loadBounded(['-n', '2']).n).toBe(2);
    expect(loadBounded(['-n', '5']).n).toBe(5);
    for (const v of ['1', '6', '2.5', 'x']) expect(failure(() => loadBounded(['-n', v]))).toMatch(/n \(-n, B_N\): must be a whole number between 2 and 5/);
    expect(loadBounded(['--size', '16MiB']).size).toBe(16 * 1024 * 1024);
    expect(failure(() => loadBounded([], { B_SIZE: '4095' }))).toMatch(/size \(--size, B_SIZE\): must be a size between 4KiB and 16MiB.*; got "4095" from B_SIZE/);
    expect(failure(() => loadBounded(['--host', '  ']))).toMatch(/host \(--host, B_HOST\): must not be empty/);
  });

  it('--help answers even when a setting is out of range', () => {
    expect(loadConfig<Bounded>({ schema: boundedSchema, flags: boundedFlags, argv: ['-n', '9', '--help'], env: {} }).args.help).toBe(true);
  });

  it('names sizes by their exact binary unit', () => {
    expect([4096, 16 * 1024 * 1024, 1536, 3 * 1024 ** 3, 1000].map(exactSize)).toEqual(['4KiB', '16MiB', '1536 bytes', '3GiB', '1000 bytes']);
  });
});
