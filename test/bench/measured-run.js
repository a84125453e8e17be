'use strict';
/**
 * Runs one client command to completion and measures it from the outside: wall time
 * (spawn to exit), peak RSS and CPU seconds (user + system, including its children).
 * GNU time (/usr/bin/time) gives exact figures from wait4(); without it the process tree
 * is sampled from /proc every 20 ms (VmHWM is exact, CPU misses at most the last 20 ms).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const cleanup = require('./cleanup');
const { TreeSampler } = require('./tree-sampler');
const { tail } = require('./background-process');

const GNU_TIME = '/usr/bin/time';
const haveGnuTime = (() => {
  if (!fs.existsSync(GNU_TIME)) return false;
  const r = spawnSync(GNU_TIME, ['-f', '%M', 'true'], { encoding: 'utf8' });
  return r.status === 0 && /^\d+\s*$/m.test(r.stderr);
})();
const TIME_TAG = 'msd-bench-time';

/**
 * @typedef {object} MeasuredRun
 * @property {number} wallS
 * @property {number | null} code exit code (null when killed by a signal)
 * @property {string | null} signal
 * @property {boolean} timedOut
 * @property {number} peakRssKiB
 * @property {number} cpuS
 * @property {'gnu-time' | 'proc-sampling'} measuredBy
 * @property {string} logFile
 */

/**
 * @param {{cmd: string, args: string[], logFile: string, timeoutMs: number, env?: NodeJS.ProcessEnv, cwd?: string}} o
 * @returns {Promise<MeasuredRun>}
 */
async function runMeasured(o) {
  const timeFile = `${o.logFile}.time`;
  const argv = haveGnuTime ? [GNU_TIME, '-f', `${TIME_TAG} %e %M %U %S`, '-o', timeFile, o.cmd, ...o.args] : [o.cmd, ...o.args];
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  const fd = fs.openSync(o.logFile, 'w');
  const t0 = performance.now();
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd], detached: true, env: o.env || process.env, cwd: o.cwd });
  fs.closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${o.cmd}`);
  const sampler = haveGnuTime ? null : new TreeSampler([pid], 20).start();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    cleanup.signalTree(pid, 'SIGKILL');
  }, o.timeoutMs);
  /** @type {Promise<{code: number | null, signal: string | null}>} */
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => {
      fs.appendFileSync(o.logFile, `\nspawn error: ${err.message}\n`);
      resolve({ code: -1, signal: null });
    });
  });
  cleanup.trackPid(pid, o.cmd, exited);
  const st = await exited;
  const wallS = (performance.now() - t0) / 1000;
  clearTimeout(timer);
  cleanup.untrackPid(pid);
  let peakRssKiB = 0;
  let cpuS = 0;
  if (sampler) {
    sampler.stop();
    peakRssKiB = sampler.hwmSumKiB();
    cpuS = sampler.cpuSeconds;
  } else {
    const line = fs.readFileSync(timeFile, 'utf8').split('\n').find((l) => l.startsWith(TIME_TAG));
    if (line) {
      const [, , maxrss, user, sys] = line.split(' ');
      peakRssKiB = Number(maxrss);
      cpuS = Number(user) + Number(sys);
    }
    fs.rmSync(timeFile, { force: true });
  }
  return { wallS, code: st.code, signal: st.signal, timedOut, peakRssKiB, cpuS, measuredBy: haveGnuTime ? 'gnu-time' : 'proc-sampling', logFile: o.logFile };
}

/** @param {MeasuredRun} r @returns {string | null} why the run failed, or null */
function failureOf(r) {
  if (r.timedOut) return `timed out after ${r.wallS.toFixed(1)} s`;
  if (r.code !== 0) {
    const lines = tail(r.logFile, 4000).split('\n').map((l) => l.trim()).filter(Boolean);
    // The most telling line: a thrown error, an error-level log line, else the last line.
    const why = lines.find((l) => /^\w*Error\b|"level":"error"|\berror:/i.test(l)) || lines[lines.length - 1] || '';
    return `exit ${r.code ?? r.signal}${why ? `: ${why.slice(0, 300)}` : ''} (log: ${r.logFile})`;
  }
  return null;
}

module.exports = { runMeasured, failureOf, haveGnuTime };
