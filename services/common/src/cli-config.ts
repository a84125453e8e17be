/**
 * Reads a program's configuration once: defaults < JSON config file < environment < flags.
 * Flags keep the original program's spellings (e.g. `-p 4450 4451`, `--list_of_ports`) next to
 * modern ones (argv-parser); every value, ranges included, is validated by convict with the
 * formats of config-formats before anything starts, and a bad one is an MsdError('E_CONFIG')
 * that names the setting, its flag and env variable, and what is accepted.
 */
import convict from 'convict';
import { readFileSync } from 'node:fs';
import { FlagSpec, ParsedArgs, parseArgv } from './argv-parser';
import { addConfigFormats } from './config-formats';
import { errorMessage, MsdError } from './errors';

export interface LoadOptions<S> {
  schema: convict.Schema<S>;
  flags: FlagSpec[];
  argv: string[];
  env: NodeJS.ProcessEnv;
  configKey?: string; // the key holding a config file path
}

/** Text accepted for a switch (Boolean setting) from the command line or the environment. */
const SWITCH_TEXT: Record<string, boolean> = { true: true, false: false, 1: true, 0: false, yes: true, no: false, on: true, off: false };

export function loadConfig<S>(opts: LoadOptions<S>): { config: S; args: ParsedArgs } {
  addConfigFormats();
  const args = parseArgv(opts.argv, opts.flags);
  // --help and --version answer whatever else is wrong: nothing of the settings is used then
  if (args.help || args.version) return { config: Object.freeze(convict(opts.schema, { args: [], env: {} }).getProperties()) as S, args };
  const nodes = opts.schema as Record<string, { env?: string; format?: unknown }>;
  const describe = (key: string): string => {
    const spec = opts.flags.find((f) => f.key === key);
    const names = [spec?.names.join('/'), nodes[key]?.env].filter(Boolean).join(', ');
    return names ? `${key} (${names})` : key;
  };
  const refuse = (lines: string[], cause?: unknown): never => {
    throw new MsdError('E_CONFIG', `invalid configuration: ${lines.join('; ')}`, { cause });
  };

  // Switches: convict reads any text but "false" as true, so MSD_VERIFY=nope would mean on.
  const env: NodeJS.ProcessEnv = { ...opts.env };
  const flagValues = new Map(args.values);
  const badSwitches: string[] = [];
  for (const [key, node] of Object.entries(nodes)) {
    if (node.format !== Boolean) continue;
    const check = (text: string | undefined, from: string, put: (v: string) => void): void => {
      if (text === undefined) return;
      const v = SWITCH_TEXT[text.trim().toLowerCase()];
      if (v === undefined) badSwitches.push(`${describe(key)}: must be true or false; got ${JSON.stringify(text)} from ${from}`);
      else put(String(v));
    };
    const envName = node.env;
    if (envName) check(env[envName], envName, (v) => { env[envName] = v; });
    check(flagValues.get(key), 'the command line', (v) => flagValues.set(key, v));
  }
  if (badSwitches.length) refuse(badSwitches);

  let file = '';
  let fileValues: Record<string, unknown> = {};
  /** The text the user gave for a setting, and where: what an error message should quote. */
  const given = (key: string): string => {
    const envName = nodes[key]?.env;
    if (flagValues.has(key)) return `; got ${JSON.stringify(flagValues.get(key))} from the command line`;
    if (envName && env[envName] !== undefined) return `; got ${JSON.stringify(env[envName])} from ${envName}`;
    if (key in fileValues) return `; got ${JSON.stringify(fileValues[key])} from ${file}`;
    return '';
  };

  let conf: convict.Config<S>;
  try {
    // Flags are set as the text the user typed (convict coerces it by format). They are not handed
    // to convict's own argv parser, which turns "0x10" into "16" and "1e3" into "1000" (tokens!).
    const c = (conf = convict(opts.schema, { args: [], env }));
    const applyFlags = (): void => {
      for (const [k, v] of flagValues) c.set(k as never, v as never);
    };
    applyFlags();
    const path = opts.configKey ? (c.get(opts.configKey as never) as unknown) : undefined;
    if (typeof path === 'string' && path) {
      file = path;
      try {
        const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('it must hold one JSON object of settings');
        fileValues = parsed as Record<string, unknown>;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const why = e?.code === 'ENOENT' ? 'no such file' : e?.code === 'EACCES' ? 'permission denied' : String(e?.message ?? err);
        refuse([`${describe(opts.configKey!)}: cannot use ${path}: ${why}`], err);
      }
      c.load(fileValues as never); // re-applies the environment over the file...
      applyFlags(); // ...and flags go over both
    }
    c.validate({ allowed: 'strict' });
  } catch (err) {
    if (err instanceof MsdError) throw err;
    const text = errorMessage(err);
    const lines = text.split('\n').map((l) => {
      const m = /^([\w.]+): (.*?)(?:: value was .*)?$/.exec(l.trim());
      if (m && m[1] in nodes) return `${describe(m[1])}: ${m[2]}${given(m[1])}`;
      return file && /not declared in the schema/.test(l) ? `${l.trim()} (in ${file})` : l.trim();
    });
    return refuse(lines, err);
  }
  return { config: Object.freeze(conf.getProperties()) as S, args };
}

export function usage(program: string, synopsis: string, flags: FlagSpec[], schema: Record<string, { doc?: string; env?: string; default?: unknown }>): string {
  const rows = flags.map((f) => {
    const s = schema[f.key];
    const val = f.kind === 'bool' ? '' : f.kind === 'list' ? ' V...' : ' V';
    const def = s?.default === null || s?.default === undefined || s?.default === '' ? '' : ` (default ${JSON.stringify(s.default)})`;
    return `  ${(f.names.join(', ') + val).padEnd(44)} ${s?.doc ?? ''}${def}${s?.env ? ` [${s.env}]` : ''}`;
  });
  return `usage: ${program} ${synopsis}\n\noptions:\n  ${'-h, --help'.padEnd(44)} show this help and exit\n  ${'-V, --version'.padEnd(44)} print the version and exit\n${rows.join('\n')}\n`;
}
