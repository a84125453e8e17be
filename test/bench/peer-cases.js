'use strict';
/**
 * The yardsticks: the loopback ceiling (iperf3 with 1 and 4 streams), a plain disk copy
 * (cp), and the downloaders people use today fetching the file from nginx to disk:
 * curl (one stream), aria2c -x4 -s4, aria2c -x16 -s16 -k1M, axel -n4.
 */
const path = require('node:path');
const { newCase } = require('./bench-case');
const { measureClient } = require('./measure-client');
const { startIperfServer, runIperfClient } = require('./iperf');
const { startNginx } = require('./nginx-server');
const { treesCpuSeconds } = require('./proc-tree');

/**
 * @typedef {import('./bench-case').BenchCase} BenchCase
 * @typedef {{file: string, size: number, sha256: string}} Source
 * @typedef {{workDir: string, timeoutFor: (bytes: number) => number, iperfSeconds: number, nginxWorkers: string}} PeerOptions
 */

/**
 * Starts what the cases need lazily (the first case's prepare) and stops it in `stop()`.
 * @param {Source} source @param {PeerOptions} o
 * @returns {{cases: BenchCase[], stop: () => Promise<void>}}
 */
function peerCases(source, o) {
  /** @type {Awaited<ReturnType<typeof startNginx>> | null} */
  let nginx = null;
  /** @type {Awaited<ReturnType<typeof startIperfServer>> | null} */
  let iperf = null;
  const ensureNginx = async () => {
    nginx = nginx || (await startNginx({ workDir: o.workDir, rootDir: path.dirname(source.file), workers: o.nginxWorkers }));
  };
  const ensureIperf = async () => {
    iperf = iperf || (await startIperfServer(o.workDir));
  };
  const name = path.basename(source.file);
  const base = { bytes: source.size, expectedSha256: source.sha256 };

  /** @param {number} streams @returns {BenchCase} */
  const iperfCase = (streams) =>
    newCase({
      ...base,
      id: `iperf3-P${streams}`,
      kind: `ceiling:iperf3-P${streams}`,
      label: `iperf3 loopback, ${streams} stream${streams > 1 ? 's' : ''}`,
      group: 'ceiling',
      implied: true,
      expectedSha256: null,
      prepare: ensureIperf,
      run: async (ctx) => {
        const server = /** @type {NonNullable<typeof iperf>} */ (iperf);
        const cpu0 = treesCpuSeconds([server.server.pid]);
        const r = await runIperfClient({ port: server.port, streams, seconds: o.iperfSeconds, logFile: path.join(ctx.logDir, `run${ctx.round}.json`) });
        const cpu1 = treesCpuSeconds([server.server.pid]);
        return {
          wallS: r.bytesPerSecond > 0 ? source.size / r.bytesPerSecond : NaN,
          bytesPerSecond: r.bytesPerSecond,
          clientRssKiB: r.run.peakRssKiB,
          clientCpuS: r.run.cpuS,
          serverRssKiB: null,
          serverCpuS: cpu1 - cpu0,
          outputs: [],
          error: r.error,
        };
      },
    });

  /**
   * @param {string} id @param {string} label @param {string} cmd
   * @param {(out: string, url: string) => string[]} args
   * @returns {BenchCase}
   */
  const httpCase = (id, label, cmd, args) =>
    newCase({
      ...base,
      id,
      kind: `peer:${id}`,
      label,
      group: 'peers',
      prepare: ensureNginx,
      run: async (ctx) => {
        const server = /** @type {NonNullable<typeof nginx>} */ (nginx);
        const out = path.join(ctx.outDir, 'out.bin');
        return measureClient({ cmd, args: args(out, server.url(name)), logFile: path.join(ctx.logDir, `run${ctx.round}.log`), timeoutMs: o.timeoutFor(source.size), serverPids: [server.server.pid], output: out });
      },
    });

  const aria2 = (/** @type {string[]} */ flags) => (/** @type {string} */ out, /** @type {string} */ url) => [
    ...flags,
    '-d',
    path.dirname(out),
    '-o',
    path.basename(out),
    '--allow-overwrite=true',
    '--auto-file-renaming=false',
    '--console-log-level=warn',
    '--summary-interval=0',
    '--download-result=hide',
    url,
  ];

  const cases = [
    iperfCase(1),
    iperfCase(4),
    newCase({
      ...base,
      id: 'cp',
      kind: 'ceiling:cp',
      label: 'cp (page cache to disk)',
      group: 'ceiling',
      run: async (ctx) => {
        const out = path.join(ctx.outDir, 'out.bin');
        return measureClient({ cmd: 'cp', args: [source.file, out], logFile: path.join(ctx.logDir, `run${ctx.round}.log`), timeoutMs: o.timeoutFor(source.size), serverPids: [], output: out });
      },
    }),
    httpCase('curl', 'curl, 1 stream (nginx)', 'curl', (out, url) => ['-sS', '--fail', '-o', out, url]),
    httpCase('aria2c-x4', 'aria2c -x4 -s4 (nginx)', 'aria2c', aria2(['-x4', '-s4'])),
    httpCase('aria2c-x16', 'aria2c -x16 -s16 -k1M (nginx)', 'aria2c', aria2(['-x16', '-s16', '-k1M'])),
    httpCase('axel-n4', 'axel -n4 (nginx)', 'axel', (out, url) => ['-n', '4', '-q', '-o', out, url]),
  ];
  const stop = async () => {
    if (nginx) await nginx.stop();
    if (iperf) await iperf.stop();
    nginx = null;
    iperf = null;
  };
  return { cases, stop };
}

module.exports = { peerCases };
