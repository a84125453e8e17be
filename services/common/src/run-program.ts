/**
 * The frame both programs run in: read the settings once, answer --help and --version, create
 * the logger, run, and turn whatever escapes into one line and an exit code. Before the logger
 * exists a failure goes to stderr as "PROGRAM: error: ..."; after, through the logger.
 */
import { ExitCode, MsdError } from './errors';
import { createLogger, Logger, LogFormat, LogLevel } from './logger';
import { VERSION } from './version';

export interface Program<C extends { logFormat: LogFormat; logLevel: LogLevel }> {
  name: string;
  readConfig(argv: string[], env: NodeJS.ProcessEnv): { config: C; help: boolean; version: boolean };
  helpText(): string;
  /** Runs with the settings read; resolves with the exit code. */
  run(config: C, log: Logger): Promise<number>;
}

export async function runProgram<C extends { logFormat: LogFormat; logLevel: LogLevel }>(
  program: Program<C>, argv: string[], env: NodeJS.ProcessEnv,
): Promise<number> {
  let parsed: { config: C; help: boolean; version: boolean };
  try {
    parsed = program.readConfig(argv, env);
  } catch (err) {
    return reportFatal(program.name, err);
  }
  if (parsed.help) {
    process.stdout.write(program.helpText());
    return ExitCode.OK;
  }
  if (parsed.version) {
    process.stdout.write(`${program.name} ${VERSION}\n`);
    return ExitCode.OK;
  }
  const log = createLogger({ name: program.name, format: parsed.config.logFormat, level: parsed.config.logLevel });
  try {
    return await program.run(parsed.config, log);
  } catch (err) {
    return reportFatal(program.name, err, log);
  }
}

/** Errors of the operating system that mean "this address or port cannot be used": a setting to change. */
const LISTEN_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Says what went wrong and returns the exit code: an MsdError's own code; a port or address that
 * cannot be listened on is a usage error (exit 2); anything else is internal (exit 1, with the
 * stack in the log, where someone will look for it).
 */
export function reportFatal(program: string, err: unknown, log?: Logger): number {
  const say = (text: string, code: string, extra: Record<string, unknown> = {}): void => {
    if (log) log.error(text, { code, ...extra });
    else process.stderr.write(`${program}: error: ${text}\n`);
  };
  if (err instanceof MsdError) {
    say(err.message, err.code);
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  const { code: errno, syscall } = (err ?? {}) as NodeJS.ErrnoException;
  // EACCES on opening a file is not about an address: only listening calls (or none named) count
  if (errno && LISTEN_ERRORS.has(errno) && (syscall === undefined || /^(listen|bind|getaddrinfo)$/.test(syscall))) {
    say(`cannot listen: ${msg}; choose another port (-p/--port/--grpc-port/--metrics-port) or address (--bind, --metrics-bind)`, 'E_CONFIG');
    return ExitCode.USAGE;
  }
  say(`internal error: ${msg}`, 'E_INTERNAL', { stack: (err as Error)?.stack });
  return ExitCode.INTERNAL;
}
