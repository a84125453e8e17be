/**
 * The command line, parsed by commander: variadic lists (`-p 4450 4451`), `--opt=value`, `-c2`,
 * `-c=2`, grouped short flags (`-rp 4450`), `--` and "did you mean" on a typo. The result is the
 * text the user typed per setting; convict coerces and checks it (cli-config), so no value is
 * judged here. Every spelling of a setting is its own commander option writing to the same key.
 */
import { Command, CommanderError, Option } from 'commander';
import { MsdError } from './errors';

/**
 * `value`: one value; `list`: one or more values (a list given twice adds up); `bool`: a switch,
 * bare (`-r`), negated (`--no-resume`) or with a value (`-r 1`, `--resume=0`, `--verify false`),
 * the form the original client documents for `-r RESUME`.
 */
export type FlagKind = 'value' | 'list' | 'bool';
export interface FlagSpec {
  key: string;
  names: string[]; // e.g. ['-p', '--list_of_ports', '--ports']
  kind: FlagKind;
}

export interface ParsedArgs {
  /** Setting key -> the text given (lists joined by ","), in the order the settings first appeared. */
  values: Map<string, string>;
  help: boolean;
  version: boolean;
}

const HINT = 'run with --help to see the options';
const usageError = (text: string): MsdError => new MsdError('E_USAGE', `${text}; ${HINT}`);

export function parseArgv(argv: string[], flags: FlagSpec[]): ParsedArgs {
  const values = new Map<string, string>();
  const known = new Set(flags.flatMap((f) => f.names).concat(['-h', '--help', '-V', '--version']));
  const shortFlags = new Set(flags.flatMap((f) => f.names.filter((n) => /^-[^-]$/.test(n))));
  const program = new Command()
    .helpOption(false)
    .allowExcessArguments(true)
    .allowUnknownOption(false)
    .combineFlagAndOptionalValue(false) // `-rp 4450` is -r then -p, not -r with the value "p"
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
  let help = false;
  let version = false;
  program.addOption(new Option('-h, --help')).on('option:help', () => { help = true; });
  program.addOption(new Option('-V, --version')).on('option:version', () => { version = true; });

  for (const spec of flags) {
    const shorts = spec.names.filter((n) => /^-[^-]$/.test(n));
    const longs = spec.names.filter((n) => n.startsWith('--'));
    const spellings = longs.length ? longs.map((l, i) => (i === 0 && shorts[0] ? `${shorts[0]}, ${l}` : l)) : shorts;
    const arg = spec.kind === 'bool' ? ' [value]' : spec.kind === 'list' ? ' <value...>' : ' <value>';
    for (const spelling of spellings) {
      const option = new Option(spelling + arg);
      program.addOption(option);
      const shown = option.short ?? option.long!;
      program.on(`option:${option.name()}`, (value: string | null | undefined) => {
        if (spec.kind === 'bool') return void values.set(spec.key, value ?? 'true');
        // a required value is taken even when it starts with "-": `-w -5` and `-n -` are values,
        // but `-p -n x` forgot the ports
        if (typeof value === 'string' && known.has(value)) throw usageError(`option ${shown} needs a value`);
        // commander hands a list over value by value, occurrences not told apart: a list adds up
        const before = spec.kind === 'list' ? values.get(spec.key) : undefined;
        values.set(spec.key, before === undefined ? String(value) : `${before},${value}`);
      });
    }
    if (spec.kind === 'bool') {
      for (const long of longs) {
        const negated = new Option(`--no-${long.slice(2)}`);
        program.addOption(negated);
        program.on(`option:${negated.name()}`, () => { values.set(spec.key, 'false'); });
      }
    }
  }

  // `-c=2` reads as "-c" "2" (commander would take "=2" as the value)
  const args = argv.flatMap((a) => (/^-[^-]=/.test(a) && shortFlags.has(a.slice(0, 2)) ? [a.slice(0, 2), a.slice(3)] : [a]));
  try {
    program.parse(args, { from: 'user' });
  } catch (err) {
    if (err instanceof MsdError) throw err;
    if (!(err instanceof CommanderError)) throw err;
    throw usageError(describe(err, args));
  }
  const stray = program.args[0];
  if (stray !== undefined) throw usageError(`unexpected argument "${stray}"`);
  return { values, help, version };
}

/** commander's error in this project's words: the flag as typed, the suggestion kept. */
function describe(err: CommanderError, args: string[]): string {
  const suggestion = /\(Did you mean (.+)\?\)/.exec(err.message)?.[1];
  const also = suggestion ? ` (did you mean ${suggestion}?)` : '';
  if (err.code === 'commander.unknownOption') {
    const flag = /unknown option '([^']*)'/.exec(err.message)?.[1] ?? '?';
    return `unknown option ${flag.split('=')[0]}${also}`;
  }
  // only the last argument can miss its value: a required value is taken whatever follows
  if (err.code === 'commander.optionMissingArgument') return `option ${args[args.length - 1]} needs a value`;
  return err.message.replace(/^error: /, '').split('\n')[0] + also;
}
