'use strict';
/**
 * The loopback ceiling: an iperf3 server on a random loopback port (started and stopped
 * by PID) and iperf3 clients with 1 or more parallel streams; the received rate comes from
 * the client's JSON report.
 */
const fs = require('node:fs');
const path = require('node:path');
const { BackgroundProcess } = require('./background-process');
const { freePorts, waitListening } = require('./ports');
const { runMeasured, failureOf } = require('./measured-run');

/** @param {string} workDir */
async function startIperfServer(workDir) {
  const [port] = await freePorts(1);
  const server = new BackgroundProcess({ cmd: 'iperf3', args: ['-s', '-B', '127.0.0.1', '-p', String(port)], logFile: path.join(workDir, 'iperf3-server.log'), label: 'iperf3 -s' });
  await waitListening([port], { alive: () => server.alive(), describe: () => server.describe(), what: 'iperf3 server' });
  return { port, server, stop: () => server.stop() };
}

/**
 * @param {{port: number, streams: number, seconds: number, logFile: string}} o
 * @returns {Promise<{bytesPerSecond: number, run: import('./measured-run').MeasuredRun, error: string | null}>}
 */
async function runIperfClient(o) {
  const args = ['-c', '127.0.0.1', '-p', String(o.port), '-P', String(o.streams), '-t', String(o.seconds), '-J'];
  const run = await runMeasured({ cmd: 'iperf3', args, logFile: o.logFile, timeoutMs: (o.seconds + 30) * 1000 });
  const failed = failureOf(run);
  if (failed) return { bytesPerSecond: 0, run, error: failed };
  try {
    const report = JSON.parse(fs.readFileSync(o.logFile, 'utf8'));
    const bps = Number(report.end.sum_received.bits_per_second);
    return { bytesPerSecond: bps / 8, run, error: null };
  } catch (e) {
    return { bytesPerSecond: 0, run, error: `unreadable iperf3 report: ${e instanceof Error ? e.message : String(e)}` };
  }
}

module.exports = { startIperfServer, runIperfClient };
