/** The command line as people type it: every form commander handles, and the original spellings. */
import { FlagSpec, parseArgv } from './argv-parser';
import { MsdError } from './errors';

const flags: FlagSpec[] = [
  { key: 'name', names: ['-n', '--name'], kind: 'value' },
  { key: 'ports', names: ['-p', '--list_of_ports', '--ports'], kind: 'list' },
  { key: 'size', names: ['--size'], kind: 'value' },
  { key: 'wait', names: ['-w', '--wait'], kind: 'value' },
  { key: 'on', names: ['-o', '--on'], kind: 'bool' },
  { key: 'resume', names: ['-r', '--resume', '--resumebool'], kind: 'bool' },
  { key: 'count', names: ['--count', '-c'], kind: 'value' },
  { key: 'tags', names: ['--tags'], kind: 'list' },
];

const values = (argv: string[]): Array<[string, string]> => [...parseArgv(argv, flags).values];
const value = (argv: string[], key: string): string | undefined => parseArgv(argv, flags).values.get(key);

function usageError(argv: string[]): string {
  try {
    parseArgv(argv, flags);
  } catch (err) {
    expect(err).toBeInstanceOf(MsdError);
    expect((err as MsdError).code).toBe('E_USAGE');
    expect((err as MsdError).exitCode).toBe(2);
    return (err as MsdError).message;
  }
  throw new Error(`expected a usage error for ${JSON.stringify(argv)}`);
}

describe('parseArgv', () => {
  it('reads values, lists up to the next option, bools, inline values, --no-', () => {
    const a = parseArgv(['-n', 'x', '-p', '1', '2', '3', '-o', '--size=4MiB', '--no-on', '--tags', 'a,b', 'c'], flags);
    expect([...a.values]).toEqual([['name', 'x'], ['ports', '1,2,3'], ['on', 'false'], ['size', '4MiB'], ['tags', 'a,b,c']]);
    expect(a.help).toBe(false);
  });

  it('later flags win, whichever spelling', () => {
    expect(value(['-n', 'a', '--name', 'b'], 'name')).toBe('b');
    expect(value(['--no-resume', '-r'], 'resume')).toBe('true');
    expect(value(['-r', '--no-resume'], 'resume')).toBe('false');
  });

  it('a list given twice adds up (commander does not tell occurrences apart)', () => {
    expect(value(['-p', '1', '2', '-n', 'x', '--ports', '3'], 'ports')).toBe('1,2,3');
  });

  it('-- ends a list; nothing may follow it', () => {
    expect(values(['-p', '1', '2', '--'])).toEqual([['ports', '1,2']]);
    expect(usageError(['-p', '1', '--', '2'])).toMatch(/unexpected argument "2"/);
  });

  it('a negative number is a value, not an option', () => {
    expect(value(['-w', '-5'], 'wait')).toBe('-5');
    expect(value(['-p', '1', '-2'], 'ports')).toBe('1,-2');
  });

  it('a lone "-" is a value', () => {
    expect(value(['-n', '-'], 'name')).toBe('-');
  });

  it('--opt=value, -c2 and -c=2', () => {
    expect(value(['--count=2'], 'count')).toBe('2');
    expect(value(['-c2'], 'count')).toBe('2');
    expect(value(['-c=2'], 'count')).toBe('2');
    expect(value(['-c', '2'], 'count')).toBe('2');
    expect(value(['--name=a=b'], 'name')).toBe('a=b');
  });

  it('grouped short flags: -rp 4450 4451 is -r then -p 4450 4451', () => {
    expect(values(['-rp', '4450', '4451'])).toEqual([['resume', 'true'], ['ports', '4450,4451']]);
    expect(values(['-orc3'])).toEqual([['on', 'true'], ['resume', 'true'], ['count', '3']]);
  });

  it('the original -r RESUME: -r 1, -r 0, --resume 1, --resumebool 1, a bare -r', () => {
    expect(value(['-r', '1'], 'resume')).toBe('1');
    expect(value(['-r', '0'], 'resume')).toBe('0');
    expect(value(['--resume', '1'], 'resume')).toBe('1');
    expect(value(['--resumebool', '1'], 'resume')).toBe('1');
    expect(value(['--resumebool=0'], 'resume')).toBe('0');
    expect(value(['-r'], 'resume')).toBe('true');
    expect(value(['-r', '-p', '1'], 'resume')).toBe('true');
    expect(value(['--no-resume'], 'resume')).toBe('false');
  });

  it('help and version anywhere', () => {
    expect(parseArgv(['-p', '1', '-h'], flags).help).toBe(true);
    expect(parseArgv(['--help'], flags).help).toBe(true);
    expect(parseArgv(['--version'], flags).version).toBe(true);
    expect(parseArgv(['-V'], flags).version).toBe(true);
  });

  it('unknown options and stray arguments are usage errors', () => {
    expect(usageError(['--bogus'])).toMatch(/unknown option --bogus.*--help/);
    expect(usageError(['--bogus=1'])).toMatch(/unknown option --bogus/);
    expect(usageError(['-x'])).toMatch(/unknown option -x/);
    expect(usageError(['stray'])).toMatch(/unexpected argument "stray"/);
    expect(usageError(['-n', 'a', 'b'])).toMatch(/unexpected argument "b"/);
    expect(usageError(['--no-name'])).toMatch(/unknown option --no-name/); // --no- only for switches
  });

  it('suggests the flag meant on a typo', () => {
    expect(usageError(['--nmae', 'x'])).toMatch(/unknown option --nmae \(did you mean --name\?\); run with --help/);
    expect(usageError(['--list-of-ports', '1'])).toMatch(/did you mean --list_of_ports\?/);
    expect(usageError(['--resum'])).toMatch(/did you mean --resume\?/);
  });

  it('a value option without a value is a usage error', () => {
    expect(usageError(['-n'])).toMatch(/option -n needs a value/);
    expect(usageError(['-p', '-n', 'x'])).toMatch(/option -p needs a value/);
    expect(usageError(['--size'])).toMatch(/option --size needs a value/);
  });

  it('a switch with an inline value', () => {
    expect(value(['--on=false'], 'on')).toBe('false');
    expect(value(['--on', 'no'], 'on')).toBe('no');
  });
});
