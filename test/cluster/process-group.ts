import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The processes of one control plane, each logging to its own file, stopped by PID: in reverse
 * start order with SIGTERM, then SIGKILL after a grace period. Three ways they are stopped:
 *  - stop(), from afterAll or `make cluster-down`;
 *  - SIGINT/SIGTERM/exit of the owning process (handlers installed here, removed by stop());
 *  - the owning process dying without running any handler (SIGKILL, OOM): reaper.js, which holds
 *    a pipe from the owner, sees it close and SIGKILLs every PID still listed.
 */
export interface Supervised {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Last bytes of its log (for error messages). */
  tail(bytes?: number): string;
}

/** Whether a process with this PID exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class ProcessGroup {
  private readonly members: Supervised[] = [];
  /** Processes others started for this cluster (the local kubelet's containers): killed with it. */
  private readonly adopted = new Set<ChildProcess>();
  private readonly reaper: ChildProcess;
  private stopped = false;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.killNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  private readonly onExit = (): void => this.killNow();

  /** handleSignals=false: the owner handles SIGINT/SIGTERM itself (and must call stop()). */
  constructor(
    private readonly logDir: string,
    private readonly handleSignals = true,
  ) {
    this.reaper = spawn(process.execPath, [path.join(__dirname, 'reaper.js')], { stdio: ['pipe', 'ignore', 'ignore'] });
    this.reaper.unref();
    (this.reaper.stdin as NodeJS.WritableStream & { unref?: () => void }).unref?.();
    if (handleSignals) {
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
    }
    process.on('exit', this.onExit);
  }

  /** Tracks a process started elsewhere, so that every way of stopping this group stops it too. */
  adopt(child: ChildProcess): void {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const pid = child.pid;
    this.adopted.add(child);
    this.reaper.stdin?.write(`${pid}\n`);
    child.once('exit', () => {
      this.adopted.delete(child);
      if (!this.reaper.stdin?.writableEnded) this.reaper.stdin?.write(`-${pid}\n`);
    });
  }

  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Supervised {
    if (this.stopped) throw new Error(`CLUSTER_STOPPED: cannot start ${name}: this control plane was stopped`);
    const logFile = path.join(this.logDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(command, args, { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env } });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`CLUSTER_SPAWN: ${command} could not be started (see ${logFile})`);
    this.reaper.stdin?.write(`${child.pid}\n`);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const member: Supervised = {
      name,
      pid: child.pid,
      logFile,
      child,
      exited,
      tail: (bytes = 4000) => {
        try {
          return readFileSync(logFile, 'utf8').slice(-bytes);
        } catch {
          return '';
        }
      },
    };
    this.members.push(member);
    return member;
  }

  pids(): number[] {
    return this.members.filter((m) => m.child.exitCode === null && m.child.signalCode === null).map((m) => m.pid);
  }

  private adoptedPids(): number[] {
    return [...this.adopted].map((c) => c.pid as number);
  }

  /** SIGTERM in reverse start order, SIGKILL whatever is left after graceMs; resolves when all have exited. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    for (const c of this.adopted) c.kill('SIGKILL');
    for (const m of [...this.members].reverse()) {
      if (m.child.exitCode !== null || m.child.signalCode !== null) continue;
      m.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([m.exited, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      if (m.child.exitCode === null && m.child.signalCode === null) {
        m.child.kill('SIGKILL');
        await m.exited;
      }
      this.reaper.stdin?.write(`-${m.pid}\n`);
    }
    this.detachHandlers();
    this.reaper.stdin?.end();
  }

  /** Synchronous SIGKILL of every member (signal and exit handlers cannot wait). */
  private killNow(): void {
    for (const pid of [...this.adoptedPids(), ...this.pids()]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private detachHandlers(): void {
    if (this.handleSignals) {
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
    }
    process.off('exit', this.onExit);
  }
}
