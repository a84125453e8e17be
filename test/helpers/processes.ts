/**
 * Real processes for tests: segment servers and fetchers started from the built bins, on free
 * loopback ports, with their JSON logs captured; every process is tracked and killed by PID.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as net from 'node:net';

export const ROOT = path.resolve(__dirname, '..', '..');
export const SERVER_BIN = path.join(ROOT, 'services/segment-server/bin/segment-server.js');
export const FETCHER_BIN = path.join(ROOT, 'services/fetcher/bin/fetcher.js');

const live = new Set<ChildProcess>();

/** Kills every process a test started and has not stopped (call from afterAll/afterEach). */
export function killAll(): void {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
  live.clear();
}

export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    servers.push(s);
    ports.push((s.address() as net.AddressInfo).port);
  }
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export type LogLine = Record<string, unknown> & { msg: string; level: string };

export interface Proc {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  logs: () => LogLine[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog: (pred: (l: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>;
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function run(bin: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, MSD_LOG_FORMAT: 'json', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  const waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  const parsed: LogLine[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => {
    const s = d.toString();
    err += s;
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const l = JSON.parse(line) as LogLine;
        parsed.push(l);
        for (const w of [...waiters]) if (w.pred(l)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(l); }
      } catch { /* not JSON */ }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { live.delete(child); resolve({ code, signal }); });
  });
  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> => {
    const hit = parsed.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for a log line; stderr so far:\n${err.slice(-3000)}`)), timeoutMs);
      const w = { pred, resolve: (l: LogLine) => { clearTimeout(t); resolve(l); } };
      waiters.push(w);
      void exited.then(() => {
        setTimeout(() => {
          if (waiters.includes(w)) { clearTimeout(t); reject(new Error(`process exited before the log line; stderr:\n${err.slice(-3000)}`)); }
        }, 50);
      });
    });
  };
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    logs: () => parsed,
    exited,
    waitForLog,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
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
