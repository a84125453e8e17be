'use strict';
/**
 * Memory must not grow with the file or the number of clients:
 * - the fetcher's peak RSS fetching a large sparse file (8 GiB by default; compare with the
 *   headline row at the normal size);
 * - one segment server's peak RSS (VmHWM of a fresh process) while N fetchers (32 by
 *   default) download from it at the same time.
 */
const fs = require('node:fs');
const path = require('node:path');
const { newCase } = require('./bench-case');
const { runFetcher } = require('./our-cases');
const { FETCHER_BIN, startSegmentServers } = require('./segment-servers');
const { makeTestFile } = require('./test-file');
const { runMeasured, failureOf } = require('./measured-run');
const { TreeSampler } = require('./tree-sampler');
const { treesCpuSeconds } = require('./proc-tree');

/**
 * @typedef {import('./bench-case').BenchCase} BenchCase
 * @typedef {{file: string, size: number, sha256: string, sparse: boolean}} Source
 */

/** @param {number} bytes */
function sizeText(bytes) {
  for (const [unit, mult] of /** @type {const} */ ([['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]])) {
    if (bytes >= mult) return `${+(bytes / mult).toFixed(2)} ${unit}`;
  }
  return `${bytes} B`;
}

/**
 * @param {Source} source
 * @param {{workDir: string, timeoutFor: (bytes: number) => number, bigSize: number, clients: number, clientsSize: number}} o
 * @returns {{cases: BenchCase[], stop: () => Promise<void>}}
 */
function memoryCases(source, o) {
  const bigDir = path.join(o.workDir, 'big');
  /** @type {import('./segment-servers').ServerSet | null} */
  let bigSet = null;
  const big = newCase({
    id: 'mem-fetcher-big',
    kind: 'memory:fetcher-big',
    label: `memory: fetcher at ${sizeText(o.bigSize)} (sparse source)`,
    group: 'memory',
    bytes: o.bigSize,
    expectedSha256: null,
    prepare: async () => {
      fs.mkdirSync(bigDir, { recursive: true });
      const file = await makeTestFile({ file: path.join(bigDir, 'big.bin'), size: o.bigSize, sparse: true });
      big.expectedSha256 = file.sha256;
      bigSet = await startSegmentServers({ file: file.file, count: 4, mode: 'single', logDir: path.join(o.workDir, 'logs', 'servers-big') });
    },
    run: (ctx) => runFetcher(/** @type {import('./segment-servers').ServerSet} */ (bigSet), [], ctx, o.timeoutFor(o.bigSize)),
  });

  /** @type {{file: string, sha256: string} | null} */
  let clientsFile = null;
  const many = newCase({
    id: 'mem-server-clients',
    kind: 'memory:server-clients',
    label: `memory: 1 server, ${o.clients} fetchers x ${sizeText(o.clientsSize)}`,
    group: 'memory',
    bytes: o.clients * o.clientsSize,
    expectedSha256: null,
    prepare: async () => {
      clientsFile =
        o.clientsSize === source.size ? source : await makeTestFile({ file: path.join(o.workDir, 'clients.bin'), size: o.clientsSize, sparse: source.sparse });
      many.expectedSha256 = clientsFile.sha256;
    },
    run: async (ctx) => {
      // A fresh server for every run, so its VmHWM is this run's peak.
      const set = await startSegmentServers({ file: /** @type {{file: string}} */ (clientsFile).file, count: 1, mode: 'per-server', logDir: path.join(ctx.logDir, `server${ctx.round}`) });
      try {
        const sampler = new TreeSampler(set.pids, 100).start();
        const cpu0 = treesCpuSeconds(set.pids);
        const t0 = performance.now();
        const runs = await Promise.all(
          Array.from({ length: o.clients }, (_, i) => {
            const dir = path.join(ctx.outDir, `client${i}`);
            fs.mkdirSync(dir, { recursive: true });
            return runMeasured({
              cmd: process.execPath,
              args: [FETCHER_BIN, '-p', String(set.ports[0]), '-o', path.join(dir, 'out.bin'), '--no-resume'],
              logFile: path.join(ctx.logDir, `run${ctx.round}-client${i}.log`),
              timeoutMs: o.timeoutFor(o.clients * o.clientsSize),
            });
          }),
        );
        const wallS = (performance.now() - t0) / 1000;
        const cpu1 = treesCpuSeconds(set.pids);
        sampler.stop();
        const failures = runs.map((r, i) => [i, failureOf(r)]).filter(([, f]) => f !== null);
        return {
          wallS,
          bytesPerSecond: null,
          clientRssKiB: Math.max(...runs.map((r) => r.peakRssKiB)),
          clientCpuS: runs.reduce((s, r) => s + r.cpuS, 0),
          serverRssKiB: sampler.hwmMaxKiB(),
          serverCpuS: cpu1 - cpu0,
          outputs: runs.map((_, i) => path.join(ctx.outDir, `client${i}`, 'out.bin')),
          error: failures.length ? `${failures.length} of ${o.clients} fetchers failed; first: client ${failures[0][0]}: ${failures[0][1]}` : null,
        };
      } finally {
        await set.stop();
      }
    },
  });

  const stop = async () => {
    if (bigSet) await bigSet.stop();
    bigSet = null;
    fs.rmSync(bigDir, { recursive: true, force: true });
  };
  return { cases: [big, many], stop };
}

module.exports = { memoryCases, sizeText };
