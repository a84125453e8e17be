import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** A child process with its output captured, stopped by PID in `stop()`. */
export interface Child {
  readonly proc: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
  /** Waits until `pattern` appears in stdout/stderr; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function startChild(command: string, args: readonly string[], options: SpawnOptions = {}): Child {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    for (const l of listeners) l();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      done = true;
      for (const l of listeners) l();
      resolve(code ?? signal ?? 'unknown');
    });
    proc.once('error', (err) => {
      out += `\nspawn error: ${err.message}`;
      done = true;
      for (const l of listeners) l();
      resolve('spawn-error');
    });
  });
  return {
    proc,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 15000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = pattern.exec(out);
          if (m !== null) finish(() => resolve(m));
          else if (done) finish(() => reject(new Error(`${command} exited before printing ${pattern}; output:\n${out}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`timeout waiting for ${pattern} from ${command}; output:\n${out}`))), timeoutMs);
        const finish = (f: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (!done && proc.pid !== undefined) {
        proc.kill(signal);
        const timer = setTimeout(() => { if (!done) proc.kill('SIGKILL'); }, 5000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}
