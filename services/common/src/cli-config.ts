/**
 * Reads a program's configuration once: defaults < JSON config file < environment < flags.
 * Flags keep the original program's spellings (e.g. `-p 4450 4451`, `--list_of_ports`) next to
 * modern ones; every value is validated by convict before anything starts, and a bad one is an
 * MsdError('E_CONFIG') that names the setting, its flag and env variable, and what is accepted.
 */
import convict from 'convict';
import { readFileSync } from 'node:fs';
import { errorMessage, MsdError } from './errors';
import { parseSize } from './units';

export type FlagKind = 'value' | 'list' | 'bool';
export interface FlagSpec {
  key: string;
  names: string[]; // e.g. ['-p', '--list_of_ports', '--ports']
  kind: FlagKind;
}

export interface ParsedArgs {
  values: Map<string, string>;
  help: boolean;
  version: boolean;
}

let formatsAdded = false;
function addFormats(): void {
  if (formatsAdded) return;
  formatsAdded = true;
  convict.addFormat({
    name: 'size',
    validate: (v: unknown) => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error('must be a size in bytes, e.g. 1048576, 512KiB, 4MiB');
    },
    coerce: (v: unknown) => parseSize(String(v)) ?? Number.NaN,
  });
  convict.addFormat({
    name: 'port-list',
    validate: (v: unknown) => {
      if (!Array.isArray(v)) throw new Error('must be a list of ports');
      for (const p of v) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`port ${String(p)} is not between 1 and 65535`);
    },
    coerce: (v: unknown) => String(v).split(/[\s,]+/).filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : Number.NaN)),
  });
  convict.addFormat({
    name: 'optional-port',
    validate: (v: unknown) => {
      if (v === null) return;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new Error('must be a port between 0 and 65535 (0 = any free port)');
    },
    coerce: (v: unknown) => (v === '' || v === 'off' ? null : /^\d+$/.test(String(v)) ? Number(v) : Number.NaN),
  });
  convict.addFormat({
    name: 'seconds',
    validate: (v: unknown) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error('must be a number of seconds >= 0');
    },
    coerce: (v: unknown) => Number(v),
  });
  convict.addFormat({
    name: 'positive-int',
    validate: (v: unknown) => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new Error('must be a whole number >= 1');
    },
    coerce: (v: unknown) => (/^\s*\d+\s*$/.test(String(v)) ? Number(v) : Number.NaN),
  });
  convict.addFormat({
    name: 'whole',
    validate: (v: unknown) => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error('must be a whole number >= 0');
    },
    coerce: (v: unknown) => (/^\s*\d+\s*$/.test(String(v)) ? Number(v) : Number.NaN),
  });
  convict.addFormat({
    name: 'positive-seconds',
    validate: (v: unknown) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error('must be a number of seconds > 0');
    },
    coerce: (v: unknown) => Number(v),
  });
  convict.addFormat({
    name: 'string-list',
    validate: (v: unknown) => {
      if (!Array.isArray(v)) throw new Error('must be a comma-separated list');
    },
    coerce: (v: unknown) => String(v).split(/[\s,]+/).filter(Boolean),
  });
}

export function parseArgv(argv: string[], flags: FlagSpec[]): ParsedArgs {
  const byName = new Map<string, FlagSpec>();
  for (const f of flags) for (const n of f.names) byName.set(n, f);
  const values = new Map<string, string>();
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') { help = true; continue; }
    if (arg === '-V' || arg === '--version') { version = true; continue; }
    let name = arg;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) { name = arg.slice(0, eq); inline = arg.slice(eq + 1); }
    let spec = byName.get(name);
    let negated = false;
    if (!spec && name.startsWith('--no-')) {
      const pos = byName.get('--' + name.slice(5));
      if (pos?.kind === 'bool') { spec = pos; negated = true; }
    }
    if (!spec) {
      throw new MsdError('E_USAGE', arg.startsWith('-') ? `unknown option ${name}; run with --help to see the options` : `unexpected argument "${arg}"; run with --help to see the options`);
    }
    if (spec.kind === 'bool') {
      if (inline !== undefined) values.set(spec.key, inline);
      else values.set(spec.key, negated ? 'false' : 'true');
      continue;
    }
    if (inline !== undefined) { values.set(spec.key, inline); continue; }
    const taken: string[] = [];
    while (i + 1 < argv.length && !(argv[i + 1].startsWith('-') && argv[i + 1].length > 1 && !/^-\d/.test(argv[i + 1]))) {
      taken.push(argv[++i]);
      if (spec.kind === 'value') break;
    }
    if (taken.length === 0) throw new MsdError('E_USAGE', `option ${name} needs a value; run with --help to see the options`);
    values.set(spec.key, taken.join(','));
  }
  return { values, help, version };
}

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
  addFormats();
  const args = parseArgv(opts.argv, opts.flags);
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
