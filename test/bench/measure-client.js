'use strict';
/**
 * One timed client run against servers that stay up between runs: the client is measured
 * by runMeasured; the servers' CPU is the difference of their /proc counters before and
 * after, their peak RSS the largest summed RSS sampled during the run.
 */
const { runMeasured, failureOf } = require('./measured-run');
const { TreeSampler } = require('./tree-sampler');
const { treesCpuSeconds } = require('./proc-tree');

/**
 * @typedef {object} RunResult
 * @property {number} wallS wall time of the run (implied from the rate for iperf3)
 * @property {number | null} bytesPerSecond measured rate when the tool reports one (iperf3)
 * @property {number | null} clientRssKiB peak RSS of the client (largest client, for many)
 * @property {number | null} clientCpuS
 * @property {number | null} serverRssKiB
 * @property {number | null} serverCpuS
 * @property {string[]} outputs files whose SHA-256 must equal the source's
 * @property {string | null} error
 */

/**
 * @param {{cmd: string, args: string[], logFile: string, timeoutMs: number, serverPids: number[], output: string | null}} o
 * @returns {Promise<RunResult>}
 */
async function measureClient(o) {
  const sampler = o.serverPids.length > 0 ? new TreeSampler(o.serverPids, 100).start() : null;
  const cpu0 = o.serverPids.length > 0 ? treesCpuSeconds(o.serverPids) : 0;
  const run = await runMeasured({ cmd: o.cmd, args: o.args, logFile: o.logFile, timeoutMs: o.timeoutMs });
  const cpu1 = o.serverPids.length > 0 ? treesCpuSeconds(o.serverPids) : 0;
  if (sampler) sampler.stop();
  return {
    wallS: run.wallS,
    bytesPerSecond: null,
    clientRssKiB: run.peakRssKiB,
    clientCpuS: run.cpuS,
    serverRssKiB: sampler ? sampler.peakRssKiB : null,
    serverCpuS: sampler ? cpu1 - cpu0 : null,
    outputs: o.output ? [o.output] : [],
    error: failureOf(run),
  };
}

module.exports = { measureClient };
