'use strict';
/**
 * What a benchmark case is: one row of the table, run once per round, with its records.
 */

/**
 * @typedef {import('./measure-client').RunResult} RunResult
 */
/**
 * @typedef {object} RunRecord
 * @property {number} round
 * @property {boolean} warmup
 * @property {boolean} ok
 * @property {string | null} error
 * @property {RunResult} result
 * @property {string[]} sha256 of every output
 *
 * @typedef {object} RunContext
 * @property {string} outDir empty directory for this run's output (deleted afterwards)
 * @property {string} logDir directory for this case's logs (kept until the end)
 * @property {number} round
 *
 * @typedef {object} BenchCase
 * @property {string} id stable identifier (JSON, tests)
 * @property {string} kind row kind: what the test checks is present (e.g. 'peer:curl')
 * @property {string} label row label in the table
 * @property {string} group section: ceiling | peers | ours | sweep | unequal | memory
 * @property {number} bytes bytes delivered per run (MB/s = bytes / wall)
 * @property {string | null} expectedSha256 SHA-256 every output must have
 * @property {boolean} [implied] wall derived from a rate (iperf3), not timed
 * @property {number} [computedWallS] a computed row (ideal time): never run
 * @property {() => Promise<void>} [prepare] once, before the first round (start servers...)
 * @property {(ctx: RunContext) => Promise<RunResult>} [run]
 * @property {RunRecord[]} records
 * @property {string | null} prepareError
 */

/**
 * @param {Omit<BenchCase, 'records' | 'prepareError'>} c
 * @returns {BenchCase}
 */
function newCase(c) {
  return { ...c, records: [], prepareError: null };
}

/** @param {string} error @returns {RunResult} a run that failed before measuring anything */
function failedResult(error) {
  return { wallS: NaN, bytesPerSecond: null, clientRssKiB: null, clientCpuS: null, serverRssKiB: null, serverCpuS: null, outputs: [], error };
}

module.exports = { newCase, failedResult };
