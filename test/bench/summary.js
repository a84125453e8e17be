'use strict';
/**
 * Turns the runs of every case into one summary row (median and spread of wall time, MB/s,
 * peak RSS, CPU seconds, ratios against aria2c -x4 and curl from the same benchmark run)
 * and checks the floors of issue 4.
 */
const { describe } = require('./stats');

/**
 * @typedef {object} CaseSummary
 * @property {string} id
 * @property {string} kind
 * @property {string} label
 * @property {string} group
 * @property {'ok' | 'FAILED' | 'NOT RUN'} status
 * @property {string | null} error first failure
 * @property {number} runs measured runs that succeeded
 * @property {number} failedRuns runs (warm-up included) that failed
 * @property {boolean} implied wall derived from a measured rate
 * @property {boolean} computed a computed row (no run)
 * @property {ReturnType<typeof describe>} wallS
 * @property {number} mbPerS decimal MB per second at the median
 * @property {number | null} clientRssMiB largest peak over the runs
 * @property {number | null} serverRssMiB
 * @property {number | null} clientCpuS median
 * @property {number | null} serverCpuS median
 * @property {number | null} vsAria2 median wall / aria2c -x4 median wall
 * @property {number | null} vsCurl median wall / curl median wall
 */

/** @param {(number | null)[]} xs */
const present = (xs) => /** @type {number[]} */ (xs.filter((x) => x !== null && Number.isFinite(x)));

/** @param {import('./bench-case').BenchCase} c @returns {CaseSummary} */
function summarizeCase(c) {
  const measured = c.records.filter((r) => !r.warmup && r.ok);
  const failed = c.records.filter((r) => !r.ok);
  const computed = c.computedWallS !== undefined;
  const wallS = computed ? describe([/** @type {number} */ (c.computedWallS)]) : describe(measured.map((r) => r.result.wallS));
  const rates = present(measured.map((r) => r.result.bytesPerSecond));
  const max = (/** @type {(number | null)[]} */ xs) => (present(xs).length ? Math.max(...present(xs)) : null);
  const maxMiB = (/** @type {(number | null)[]} */ xs) => {
    const kib = max(xs);
    return kib === null ? null : kib / 1024;
  };
  const median = (/** @type {(number | null)[]} */ xs) => (present(xs).length ? describe(present(xs)).median : null);
  const firstError = c.prepareError || (failed[0] ? failed[0].error : null);
  /** @type {CaseSummary['status']} */
  const status = c.prepareError || failed.length ? 'FAILED' : computed || measured.length ? 'ok' : 'NOT RUN';
  return {
    id: c.id,
    kind: c.kind,
    label: c.label,
    group: c.group,
    status,
    error: firstError,
    runs: measured.length,
    failedRuns: failed.length,
    implied: Boolean(c.implied),
    computed,
    wallS,
    mbPerS: c.implied && rates.length ? describe(rates).median / 1e6 : c.bytes / wallS.median / 1e6,
    clientRssMiB: maxMiB(measured.map((r) => r.result.clientRssKiB)),
    serverRssMiB: maxMiB(measured.map((r) => r.result.serverRssKiB)),
    clientCpuS: median(measured.map((r) => r.result.clientCpuS)),
    serverCpuS: median(measured.map((r) => r.result.serverCpuS)),
    vsAria2: null,
    vsCurl: null,
  };
}

/**
 * @param {import('./bench-case').BenchCase[]} cases
 * @returns {CaseSummary[]}
 */
function summarize(cases) {
  const rows = cases.map(summarizeCase);
  const ref = (/** @type {string} */ id) => rows.find((r) => r.id === id && r.status === 'ok' && Number.isFinite(r.wallS.median));
  const aria2 = ref('aria2c-x4');
  const curl = ref('curl');
  for (const r of rows) {
    // Rate-limited, memory and index rows measure something else: a ratio to a peer would mislead.
    if (!Number.isFinite(r.wallS.median) || r.group === 'memory' || r.group === 'unequal' || r.group === 'index') continue;
    if (aria2) r.vsAria2 = r.wallS.median / aria2.wallS.median;
    if (curl) r.vsCurl = r.wallS.median / curl.wallS.median;
  }
  return rows;
}

/**
 * The floors of issue 4 that these rows allow to check.
 * @param {CaseSummary[]} rows
 * @returns {{floor: string, value: string, pass: boolean}[]}
 */
function checkFloors(rows) {
  const get = (/** @type {string} */ id) => rows.find((r) => r.id === id && r.status === 'ok');
  const ours = get('ours-4');
  /** @type {{floor: string, value: string, pass: boolean}[]} */
  const out = [];
  // issue 3: one server at a quarter rate, finish within 1.15 x the ideal time
  const ideal = rows.find((r) => r.id === 'unequal-ideal');
  const unequal = get('unequal-ours');
  if (ideal && unequal) {
    const ratio = unequal.wallS.median / ideal.wallS.median;
    const noSteal = get('unequal-nosteal');
    out.push({ floor: 'unequal servers: wall <= 1.15 x ideal', value: `${ratio.toFixed(2)} x (${unequal.wallS.median.toFixed(3)} s vs ideal ${ideal.wallS.median.toFixed(3)} s${noSteal ? `; --no-steal ${(noSteal.wallS.median / ideal.wallS.median).toFixed(2)} x` : ''})`, pass: ratio <= 1.15 });
  }
  if (!ours) return out;
  /** @param {string} id @param {string} name @param {number} limit */
  const wallVs = (id, name, limit) => {
    const peer = get(id);
    if (!peer) return;
    const ratio = ours.wallS.median / peer.wallS.median;
    out.push({ floor: `fetcher wall <= ${limit} x ${name}`, value: `${ratio.toFixed(2)} x (${ours.wallS.median.toFixed(3)} s vs ${peer.wallS.median.toFixed(3)} s)`, pass: ratio <= limit });
  };
  wallVs('aria2c-x4', 'aria2c -x4', 0.65);
  wallVs('axel-n4', 'axel -n4', 1.0);
  wallVs('curl', 'curl', 1.3);
  if (ours.clientRssMiB !== null) {
    out.push({ floor: 'fetcher peak RSS <= 150 MiB (main size)', value: `${ours.clientRssMiB.toFixed(1)} MiB`, pass: ours.clientRssMiB <= 150 });
    const big = get('mem-fetcher-big');
    if (big && big.clientRssMiB !== null) {
      const ratio = big.clientRssMiB / ours.clientRssMiB;
      out.push({ floor: 'fetcher peak RSS at big size <= 1.10 x main size', value: `${big.clientRssMiB.toFixed(1)} MiB (${ratio.toFixed(2)} x)`, pass: ratio <= 1.1 });
    }
  }
  const many = get('mem-server-clients');
  if (many && many.serverRssMiB !== null) out.push({ floor: 'segment-server peak RSS <= 150 MiB with many clients', value: `${many.serverRssMiB.toFixed(1)} MiB`, pass: many.serverRssMiB <= 150 });
  return out;
}

module.exports = { summarize, checkFloors };
