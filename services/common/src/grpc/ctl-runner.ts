import { readFileSync } from 'node:fs';
import { resolveToken } from '../token';
import { ControlCallError, type ControlClientOptions, type HealthServingStatus } from './control-client';

/** Where a ctl command writes (the process's stdout/stderr, or a test's buffers). */
export interface CtlIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CtlIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export type CtlFlagKind = 'boolean' | 'string';

export interface CtlContext<C> {
  readonly client: C;
  /** positional arguments, as named in the command's `args` */
  readonly args: readonly string[];
  readonly flags: ReadonlyMap<string, string | true>;
  readonly json: boolean;
  readonly io: CtlIo;
}

export interface CtlCommand<C> {
  readonly name: string;
  readonly summary: string;
  /** required positional arguments, by name (for the usage text) */
  readonly args?: readonly string[];
  readonly flags?: Readonly<Record<string, CtlFlagKind>>;
  /** exit code: 0 ok, 1 failed */
  run(ctx: CtlContext<C>): Promise<number>;
}

/** What every ctl client offers besides its own service: grpc.health.v1 Check, and close. */
export interface CtlClient {
  check(service: string): Promise<HealthServingStatus>;
  close(): void;
}

export interface CtlProgram<C extends CtlClient> {
  /** the program's name, as in `segment-server ctl ...` */
  readonly name: string;
  readonly commands: readonly CtlCommand<C>[];
  connect(address: string, options: ControlClientOptions): C;
}

export const CTL_EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

const GLOBAL_FLAGS: Readonly<Record<string, CtlFlagKind>> = {
  addr: 'string',
  token: 'string',
  'token-file': 'string',
  'tls-ca': 'string',
  'tls-cert': 'string',
  'tls-key': 'string',
  json: 'boolean',
  timeout: 'string',
  help: 'boolean',
};

class CtlUsageError extends Error {}

/** The `health` command every program has: exit 0 when SERVING, 1 otherwise (like grpc-health-probe). */
function healthCommand<C extends CtlClient>(): CtlCommand<C> {
  return {
    name: 'health',
    summary: "grpc.health.v1 Check of --service (default '' = the whole process); exit 1 unless SERVING",
    flags: { service: 'string' },
    async run({ client, flags, json, io }) {
      const serviceFlag = flags.get('service');
      const service = typeof serviceFlag === 'string' ? serviceFlag : '';
      const status = await client.check(service);
      io.out(json ? `${JSON.stringify({ service, status })}\n` : `${status}\n`);
      return status === 'SERVING' ? CTL_EXIT.OK : CTL_EXIT.FAILED;
    },
  };
}

/**
 * Runs `<program> ctl <command> [args] --addr host:port [--token T | --token-file F] [--json]`.
 * Exit codes: 0 ok, 1 the call failed (message names the gRPC status), 2 usage.
 */
export async function runCtlProgram<C extends CtlClient>(program: CtlProgram<C>, argv: readonly string[], io: CtlIo = processIo): Promise<number> {
  const commands = [...program.commands, healthCommand<C>()];
  let parsed: ParsedCtl<C>;
  try {
    parsed = parseCtlArgs(commands, argv);
  } catch (err) {
    if (!(err instanceof CtlUsageError)) throw err;
    io.err(`${program.name} ctl: ${err.message}\n\n${usage(program.name, commands)}`);
    return CTL_EXIT.USAGE;
  }
  if (parsed.help) {
    io.out(usage(program.name, commands));
    return CTL_EXIT.OK;
  }
  const client = program.connect(parsed.addr, { token: parsed.token, timeoutMs: parsed.timeoutMs, tls: parsed.tls });
  try {
    return await parsed.command.run({ client, args: parsed.args, flags: parsed.flags, json: parsed.json, io });
  } catch (err) {
    const message = err instanceof ControlCallError || err instanceof Error ? err.message : String(err);
    io.err(`${program.name} ctl ${parsed.command.name}: ${message}\n`);
    return err instanceof CtlUsageError ? CTL_EXIT.USAGE : CTL_EXIT.FAILED;
  } finally {
    client.close();
  }
}

/** Raised by a command for a bad argument value (exit 2). */
export function ctlUsageError(message: string): Error {
  return new CtlUsageError(message);
}

interface ParsedCtl<C> {
  command: CtlCommand<C>;
  args: string[];
  flags: Map<string, string | true>;
  addr: string;
  token: string | undefined;
  json: boolean;
  timeoutMs: number;
  tls: ControlClientOptions['tls'];
  help: boolean;
}

function parseCtlArgs<C>(commands: readonly CtlCommand<C>[], argv: readonly string[]): ParsedCtl<C> {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  let command: CtlCommand<C> | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h') {
      flags.set('help', true);
    } else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const kind = GLOBAL_FLAGS[name] ?? command?.flags?.[name];
      if (kind === undefined) throw new CtlUsageError(`unknown option --${name}${command ? ` for ${command.name}` : ''}`);
      if (kind === 'boolean') {
        if (eq >= 0) throw new CtlUsageError(`--${name} takes no value`);
        flags.set(name, true);
      } else {
        const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined || value === '') throw new CtlUsageError(`--${name} needs a value`);
        flags.set(name, value);
      }
    } else if (command === undefined) {
      command = commands.find((c) => c.name === arg);
      if (command === undefined) throw new CtlUsageError(`unknown command '${arg}'`);
    } else {
      positional.push(arg);
    }
  }
  const help = flags.has('help');
  if (command === undefined) {
    if (help) return { command: commands[0] as CtlCommand<C>, args: [], flags, addr: '', token: undefined, json: false, timeoutMs: 0, tls: undefined, help };
    throw new CtlUsageError('missing command');
  }
  const expected = command.args ?? [];
  if (!help && positional.length !== expected.length) {
    throw new CtlUsageError(
      expected.length === 0
        ? `${command.name} takes no arguments (got ${positional.join(' ')})`
        : `${command.name} needs ${expected.map((a) => `<${a}>`).join(' ')}`,
    );
  }
  const addr = flags.get('addr');
  if (!help && typeof addr !== 'string') throw new CtlUsageError('--addr host:port is required (the program\'s --grpc-port)');
  return {
    command,
    args: positional,
    flags,
    addr: typeof addr === 'string' ? addr : '',
    token: help ? undefined : readToken(flags),
    json: flags.has('json'),
    timeoutMs: parseTimeout(flags.get('timeout')),
    tls: help ? undefined : readTls(flags),
    help,
  };
}

function readToken(flags: ReadonlyMap<string, string | true>): string | undefined {
  const token = flags.get('token');
  const file = flags.get('token-file');
  try {
    return resolveToken(typeof token === 'string' ? token : '', typeof file === 'string' ? file : '');
  } catch (err) {
    throw new CtlUsageError(err instanceof Error ? err.message : String(err));
  }
}

/** --tls-ca / --tls-cert / --tls-key: any of them turns TLS on. */
function readTls(flags: ReadonlyMap<string, string | true>): ControlClientOptions['tls'] {
  const file = (name: string): Buffer | undefined => {
    const v = flags.get(name);
    if (typeof v !== 'string') return undefined;
    try {
      return readFileSync(v);
    } catch (err) {
      throw new CtlUsageError(`--${name}: cannot read ${v}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const ca = file('tls-ca');
  const cert = file('tls-cert');
  const key = file('tls-key');
  if (!!cert !== !!key) throw new CtlUsageError('--tls-cert and --tls-key go together');
  return ca || cert ? { ca, cert, key } : undefined;
}

function parseTimeout(value: string | true | undefined): number {
  if (value === undefined) return 10_000;
  const seconds = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new CtlUsageError(`--timeout must be a positive number of seconds (got ${String(value)})`);
  }
  return Math.round(seconds * 1000);
}

function usage<C>(program: string, commands: readonly CtlCommand<C>[]): string {
  const lines = commands.map((c) => {
    const args = (c.args ?? []).map((a) => ` <${a}>`).join('');
    const flags = Object.entries(c.flags ?? {})
      .map(([name, kind]) => (kind === 'boolean' ? ` [--${name}]` : ` [--${name} ${name.toUpperCase().replace(/-/g, '_')}]`))
      .join('');
    return `  ${(c.name + args + flags).padEnd(44)} ${c.summary}`;
  });
  return [
    `usage: ${program} ctl <command> --addr HOST:PORT [--token T | --token-file F] [--tls-ca F [--tls-cert F --tls-key F]] [--json] [--timeout SECONDS]`,
    '',
    'commands:',
    ...lines,
    '',
    'Calls the gRPC control service of a running process (its --grpc-port). --json prints the',
    'messages with their .proto field names. Exit: 0 ok, 1 call failed or not SERVING, 2 usage.',
    '',
  ].join('\n');
}
