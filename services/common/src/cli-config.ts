/**
 * Reads a program's configuration once: defaults < JSON config file < environment < flags.
 * Flags keep the original program's spellings (e.g. `-p 4450 4451`, `--list_of_ports`) next to
 * modern ones; every value is validated by convict before anything starts, and a bad one is an
 * MsdError('E_CONFIG') that names the setting, its flag and env variable, and what is accepted.
 */
import convict from 'convict';
import { MsdError } from './errors';
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

export function loadConfig<S>(opts: LoadOptions<S>): { config: S; args: ParsedArgs } {
  addFormats();
  const args = parseArgv(opts.argv, opts.flags);
  const describe = (key: string): string => {
    const spec = opts.flags.find((f) => f.key === key);
    const node = (opts.schema as Record<string, { env?: string }>)[key];
    const names = [spec?.names.join('/'), node?.env].filter(Boolean).join(', ');
    return names ? `${key} (${names})` : key;
  };
  let conf: convict.Config<S>;
  try {
    // Flags are set as the text the user typed (convict coerces it by format). They are not handed
    // to convict's own argv parser, which turns "0x10" into "16" and "1e3" into "1000" (tokens!).
    const c = (conf = convict(opts.schema, { args: [], env: opts.env }));
    const applyFlags = (): void => {
      for (const [k, v] of args.values) c.set(k as never, v as never);
    };
    applyFlags();
    const file = opts.configKey ? (c.get(opts.configKey as never) as unknown) : undefined;
    if (typeof file === 'string' && file) {
      c.loadFile(file); // re-applies the environment over the file...
      applyFlags(); // ...and flags go over both
    }
    c.validate({ allowed: 'strict' });
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const lines = text.split('\n').map((l) => {
      const m = /^([\w.]+): (.*)$/.exec(l.trim());
      return m ? `${describe(m[1])}: ${m[2]}` : l.trim();
    });
    throw new MsdError('E_CONFIG', `invalid configuration: ${lines.join('; ')}`, { cause: err });
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
