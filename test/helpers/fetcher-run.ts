/**
 * A fetcher run the test can watch and signal while it works (runFetcher only returns at exit):
 * its progress lines, its JSON log, and waiting for a given amount of verified data.
 */
import { FETCHER_BIN, LogLine, Proc, run } from './processes';

/** Starts the fetcher with JSON logs and progress lines every 0.2 s unless `-i` is given. */
export function startFetcher(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const withInterval = args.includes('-i') || args.includes('--metric_interval') ? args : [...args, '-i', '0.2'];
  return run(FETCHER_BIN, withInterval, opts);
}

/** Resolves on the first progress line reporting at least `bytes` verified. */
export function waitForBytesDone(p: Proc, bytes: number, timeoutMs = 30_000): Promise<LogLine> {
  return p.waitForLog((l) => typeof l.bytesDone === 'number' && l.bytesDone >= bytes, timeoutMs);
}

/** Resolves with the exit status, killing the process if it runs past `timeoutMs`. */
export async function exitOf(p: Proc, timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const t = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const r = await p.exited;
  clearTimeout(t);
  await new Promise((res) => setTimeout(res, 20)); // let the pipes drain
  return r;
}

/** The `download complete` line of a finished run. */
export function completion(logs: LogLine[]): LogLine & { bytesReceived: number; resumedBytes: number } {
  const l = logs.find((x) => x.msg === 'download complete');
  if (!l) throw new Error(`the fetcher logged no "download complete" line; messages: ${logs.map((x) => x.msg).slice(-20).join(' | ')}`);
  return l as LogLine & { bytesReceived: number; resumedBytes: number };
}

export function messages(logs: LogLine[], level?: string): string[] {
  return logs.filter((l) => level === undefined || l.level === level).map((l) => l.msg);
}
