'use strict';
/**
 * Our segment servers on random loopback ports, serving one file: either one process
 * with N listeners (`-f FILE -p P1..PN -n N`, the original form) or one process per
 * server (`-f FILE --port P --server-id i -n N [--rate-limit R]`), the form to use when
 * servers need their own rates. Stopped by PID.
 */
const fs = require('node:fs');
const path = require('node:path');
const { BackgroundProcess } = require('./background-process');
const { freePorts, waitListening } = require('./ports');

const { ROOT: REPO, SERVER_BIN, FETCHER_BIN } = require('../helpers/program-bins');

/** @param {'segment-server' | 'fetcher'} program throws a clear error when it is not built yet */
function requireBuilt(program) {
  const bin = program === 'fetcher' ? FETCHER_BIN : SERVER_BIN;
  const dist = path.join(REPO, 'services', program, 'dist', 'main.js');
  for (const f of [bin, dist]) if (!fs.existsSync(f)) throw new Error(`${program} is not built (missing ${path.relative(REPO, f)}): run \`make build\``);
}

/**
 * @typedef {object} ServerSet
 * @property {number[]} ports
 * @property {BackgroundProcess[]} processes
 * @property {number[]} pids root PIDs, for CPU and memory sampling
 * @property {() => Promise<void>} stop
 */

/**
 * @param {{file: string, count: number, mode: 'single' | 'per-server', rates?: number[], logDir: string, extraArgs?: string[], tls?: boolean, repo?: string}} o
 *   rates: bytes per second of each server (0 = unlimited); implies per-server processes;
 *   repo: another checkout whose segment-server to run (the bench's --baseline)
 * @returns {Promise<ServerSet>}
 */
async function startSegmentServers(o) {
  requireBuilt('segment-server');
  fs.mkdirSync(o.logDir, { recursive: true });
  const perServer = o.mode === 'per-server' || (o.rates !== undefined && o.rates.some((r) => r > 0));
  const common = ['--log-level', 'warn', ...(o.extraArgs || [])];
  let lastError = new Error('not started');
  for (let attempt = 1; attempt <= 3; attempt++) {
    const ports = await freePorts(o.count);
    /** @type {BackgroundProcess[]} */
    const processes = [];
    const start = (/** @type {string[]} */ args, /** @type {string} */ label) =>
      processes.push(new BackgroundProcess({ cmd: process.execPath, args: [o.repo ? path.join(o.repo, path.relative(REPO, SERVER_BIN)) : SERVER_BIN, ...args], logFile: path.join(o.logDir, `${label}.log`), label }));
    if (perServer) {
      ports.forEach((port, i) => {
        const rate = o.rates ? o.rates[i] || 0 : 0;
        start(['-f', o.file, '--port', String(port), '--server-id', String(i), '-n', String(o.count), ...(rate > 0 ? ['--rate-limit', String(Math.round(rate))] : []), ...common], `server-${i}`);
      });
    } else {
      start(['-f', o.file, '-p', ...ports.map(String), '-n', String(o.count), ...common], 'servers');
    }
    const set = { ports, processes, pids: processes.map((p) => p.pid), stop: async () => void (await Promise.all(processes.map((p) => p.stop()))) };
    try {
      await Promise.all(
        processes.map((p, i) =>
          waitListening(perServer ? [ports[i]] : ports, { timeoutMs: 120000, alive: () => p.alive(), describe: () => p.describe(), what: `segment-server ${p.label}` }),
        ),
      );
      // ports are bound before the file is indexed; a server greets only once it serves
      await Promise.all(ports.map((port) => waitGreeting(port, 120000, !!o.tls)));
      return set;
    } catch (e) {
      await set.stop();
      lastError = e instanceof Error ? e : new Error(String(e));
      if (!/EADDRINUSE|address already in use/i.test(lastError.message)) break; // only a port race is worth retrying
    }
  }
  throw lastError;
}

/** Resolves when the server on `port` sends its protocol greeting (it is indexed and serving). */
async function waitGreeting(port, timeoutMs, useTls) {
  const net = require('node:net');
  const tls = require('node:tls');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      // the bench only waits for readiness here; the fetcher itself verifies the certificate
      const s = useTls ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : net.connect({ port, host: '127.0.0.1' });
      let got = Buffer.alloc(0);
      const done = (v) => { s.destroy(); resolve(v); };
      s.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length >= 4) done(got.toString('latin1', 0, 4) === 'MSDS'); });
      s.on('error', () => done(false));
      s.on('close', () => done(false));
      setTimeout(() => done(false), 2000);
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`segment-server on port ${port} did not start serving within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

module.exports = { startSegmentServers, requireBuilt, SERVER_BIN, FETCHER_BIN, REPO };
