/**
 * The one process harness of test/: real processes (our programs, Prometheus, the Pushgateway,
 * peers) with their output and JSON logs captured; every process is tracked and killed by PID.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { freePort, freePorts } from './free-ports';
import { FETCHER_BIN, ROOT, SERVER_BIN } from './program-bins';

export { FETCHER_BIN, freePort, freePorts, ROOT, SERVER_BIN };

const live = new Set<ChildProcess>();

/** Kills every process a test started and has not stopped (call from afterAll/afterEach). */
export function killAll(): void {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
  live.clear();
}

export type LogLine = Record<string, unknown> & { msg: string; level: string };
export interface Exit { code: number | null; signal: NodeJS.Signals | null }

export interface Proc {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** stdout and stderr as they arrived, interleaved. */
  output: () => string;
  /** The JSON lines of stderr (our programs' logs). */
  logs: () => LogLine[];
  /** Resolves once the process has ended (code and signal both null if it could not be started). */
  exited: Promise<Exit>;
  waitForLog: (pred: (l: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>;
  /** Waits until `pattern` appears in the output; rejects on exit or timeout. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
  /** Sends `signal` (SIGTERM by default), then SIGKILL after 10 s; resolves with the exit. */
  stop: (signal?: NodeJS.Signals) => Promise<Exit>;
}

export interface SpawnOptions { cwd?: string; env?: NodeJS.ProcessEnv }

/** Starts `command` (any program); `env` replaces the environment when given. */
export function spawnProcess(command: string, args: readonly string[], opts: SpawnOptions = {}): Proc {
  const child = spawn(command, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  let all = '';
  let done = false;
  const changed = new Set<() => void>();
  const notify = (): void => { for (const f of [...changed]) f(); };
  const parsed: LogLine[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const s = d.toString();
    out += s;
    all += s;
    notify();
  });
  child.stderr!.on('data', (d: Buffer) => {
    const s = d.toString();
    err += s;
    all += s;
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try { parsed.push(JSON.parse(line) as LogLine); } catch { /* not JSON */ }
    }
    notify();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => { live.delete(child); done = true; notify(); resolve({ code, signal }); });
    child.once('error', (e) => {
      live.delete(child);
      all += `\nspawn error: ${e.message}`;
      done = true;
      notify();
      resolve({ code: null, signal: null });
    });
  });
  /** Resolves with the first `probe()` result that is not undefined; rejects on exit or timeout. */
  const waitUntil = <T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> => new Promise((resolve, reject) => {
    const finish = (f: () => void): void => { clearTimeout(timer); changed.delete(check); f(); };
    const check = (): void => {
      const hit = probe();
      if (hit !== undefined) finish(() => resolve(hit));
      // a last look after the pipes drain: the line may arrive just after the exit
      else if (done) setTimeout(() => { const late = probe(); finish(() => (late !== undefined ? resolve(late) : reject(new Error(`${command} exited before ${what}; output:\n${all.slice(-3000)}`)))); }, 50);
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what} from ${command}; output so far:\n${all.slice(-3000)}`))), timeoutMs);
    changed.add(check);
    check();
  });
  return {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    output: () => all,
    logs: () => parsed,
    exited,
    waitForLog: (pred, timeoutMs = 20_000) => {
      let next = 0; // each line is offered to `pred` once, in order (callers may count as they go)
      return waitUntil(() => {
        while (next < parsed.length) { const l = parsed[next++]; if (pred(l)) return l; }
        return undefined;
      }, 'a log line', timeoutMs);
    },
    waitFor: (pattern, timeoutMs = 15_000) => waitUntil(() => pattern.exec(all) ?? undefined, String(pattern), timeoutMs),
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null && !done) child.kill(signal);
      const t = setTimeout(() => { if (!done) child.kill('SIGKILL'); }, 10_000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** Starts one of our programs (a bin of this repo) under this node, its logs as JSON. */
export function run(bin: string, args: string[], opts: SpawnOptions = {}): Proc {
  return spawnProcess(process.execPath, [bin, ...args], { cwd: opts.cwd, env: { ...process.env, MSD_LOG_FORMAT: 'json', ...opts.env } });
}

export interface ServerSet extends Proc { ports: number[] }

/** Starts one segment-server process; resolves once every listener is up. */
export async function startServers(args: string[], opts: { listeners?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ServerSet> {
  const p = run(SERVER_BIN, args, opts);
  const want = opts.listeners ?? 1;
  const ports: number[] = [];
  await p.waitForLog((l) => {
    if (l.msg === 'listening') ports.push(Number(l.port));
    return ports.length >= want;
  }, 60_000);
  return Object.assign(p, { ports });
}

/** Starts N listeners in one process on free ports (the original `-p P1 P2 ...` form). */
export async function startServerSet(file: string, n: number, extra: string[] = [], env?: NodeJS.ProcessEnv): Promise<ServerSet> {
  const ports = await freePorts(n);
  return startServers(['-n', String(n), '-f', file, '-p', ...ports.map(String), ...extra], { listeners: n, env });
}

export interface Finished { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; logs: LogLine[] }

/** Runs a program to its exit (SIGKILL after timeoutMs) and returns its exit status and output. */
export async function runToExit(bin: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Finished> {
  const p = run(bin, args, opts);
  const t = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const r = await p.exited;
  clearTimeout(t);
  // let the pipes drain
  await new Promise((res) => setTimeout(res, 20));
  return { ...r, stdout: p.stdout(), stderr: p.stderr(), logs: p.logs() };
}

export function runFetcher(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Finished> {
  return runToExit(FETCHER_BIN, args, opts);
}
