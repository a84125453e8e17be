'use strict';
/**
 * A long-running helper process (nginx, iperf3 server, segment servers): started detached
 * with its output in a log file, tracked for cleanup, stopped by PID (SIGTERM to the tree,
 * SIGKILL after a grace period).
 */
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const cleanup = require('./cleanup');
const { isAlive } = require('./proc-tree');

/** @param {string} file @param {number} [bytes] */
function tail(file, bytes = 2000) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-bytes).trim();
  } catch {
    return '';
  }
}

class BackgroundProcess {
  /**
   * @param {{cmd: string, args: string[], logFile: string, label: string, env?: NodeJS.ProcessEnv, cwd?: string}} o
   */
  constructor(o) {
    this.label = o.label;
    this.logFile = o.logFile;
    this.cmd = o.cmd;
    this.args = o.args;
    const fd = fs.openSync(o.logFile, 'a');
    this.child = spawn(o.cmd, o.args, { stdio: ['ignore', fd, fd], detached: true, env: o.env || process.env, cwd: o.cwd });
    fs.closeSync(fd);
    /** @type {{code: number | null, signal: NodeJS.Signals | null} | null} */
    this.exitStatus = null;
    if (this.child.pid === undefined) throw new Error(`${o.label}: could not start ${o.cmd}`);
    /** @type {number} */
    this.pid = this.child.pid;
    /** @type {Promise<void>} */
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        cleanup.untrackPid(this.pid);
        resolve();
      });
      this.child.on('error', (err) => {
        fs.appendFileSync(o.logFile, `\nspawn error: ${err.message}\n`);
        this.exitStatus = { code: -1, signal: null };
        cleanup.untrackPid(this.pid);
        resolve();
      });
    });
    cleanup.trackPid(this.pid, o.label, this.exited);
  }

  alive() {
    return this.exitStatus === null && isAlive(this.pid);
  }

  /** A short description with the log tail, for error messages. */
  describe() {
    const st = this.exitStatus ? ` (exit ${this.exitStatus.code ?? this.exitStatus.signal})` : '';
    const t = tail(this.logFile);
    return `${st}\n  command: ${this.cmd} ${this.args.join(' ')}\n  log ${this.logFile}:${t ? `\n${t.replace(/^/gm, '    ')}` : ' (empty)'}`;
  }

  /** Stops the process tree: SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs = 3000) {
    if (this.exitStatus !== null) return;
    const pids = cleanup.signalTree(this.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

module.exports = { BackgroundProcess, tail };
