#!/usr/bin/env node
'use strict';
/**
 * `make bench`: our fetcher against the downloaders people use today, on one machine, in
 * one run. See --help and test/bench/README.md. Progress goes to stderr, the table to
 * stdout; exit code 1 when any run failed (error, or an output whose SHA-256 differs).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const cleanup = require('./cleanup');
const { parseBenchArgs } = require('./cli-args');
const { makeTestFile } = require('./test-file');
const { peerCases } = require('./peer-cases');
const { ourCases } = require('./our-cases');
const { indexCases } = require('./index-cases');
const { resumeCases } = require('./resume-cases');
const { setCases, setFloors } = require('./set-cases');
const { memoryCases, sizeText } = require('./memory-cases');
const { ServerPool } = require('./server-pool');
const { runRounds } = require('./runner');
const { summarize, checkFloors } = require('./summary');
const { renderReport } = require('./report-table');
const { renderChart } = require('./chart-svg');
const { haveGnuTime } = require('./measured-run');

const PEER_TOOLS = /** @type {const} */ ([
  ['curl', 'curl', ['--version']],
  ['aria2c', 'aria2', ['--version']],
  ['axel', 'axel', ['--version']],
  ['nginx', 'nginx-light', ['-v']],
  ['iperf3', 'iperf3', ['--version']],
]);

/** @returns {Record<string, string>} first version line of every peer tool */
function toolVersions() {
  /** @type {Record<string, string>} */
  const versions = {};
  const missing = [];
  for (const [cmd, pkg, args] of PEER_TOOLS) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.error) missing.push([cmd, pkg]);
    else versions[cmd] = `${r.stdout}${r.stderr}`.split('\n')[0].trim();
  }
  if (missing.length) {
    throw new Error(
      `missing ${missing.map(([c]) => c).join(', ')}: run \`bash scripts/install-bench-deps.sh\` (as root), or \`apt-get install -y ${missing.map(([, p]) => p).join(' ')}\``,
    );
  }
  return versions;
}

/** @param {string} line */
const log = (line) => process.stderr.write(`${line}\n`);

async function main() {
  const opts = parseBenchArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(`${opts.helpText}\n`);
    return 0;
  }
  cleanup.installHandlers();
  cleanup.setKeepPaths(opts.keep);
  const versions = toolVersions();
  const workDir = fs.mkdtempSync(path.join(opts.tmp, 'msd-bench-'));
  cleanup.trackPath(workDir);
  fs.chmodSync(workDir, 0o755); // nginx workers run as another user
  const serveDir = path.join(workDir, 'serve');
  fs.mkdirSync(serveDir, { mode: 0o755 });
  log(`bench: temp dir ${workDir}${opts.keep ? ' (kept)' : ''}`);
  log(`bench: making a ${sizeText(opts.size)} ${opts.sparse ? 'sparse' : 'random'} test file and warming it in the page cache`);
  const source = await makeTestFile({ file: path.join(serveDir, 'file.bin'), size: opts.size, sparse: opts.sparse });
  const loadBefore = os.loadavg();

  const pool = new ServerPool();
  const peers = peerCases(source, { workDir, timeoutFor: opts.timeoutFor, iperfSeconds: opts.iperfSeconds, nginxWorkers: opts.nginxWorkers });
  const memory = memoryCases(source, { workDir, timeoutFor: opts.timeoutFor, bigSize: opts.bigSize, clients: opts.clients, clientsSize: opts.clientsSize });
  const sets = setCases(source, pool, { workDir, ...opts });
  const keep = (/** @type {import('./bench-case').BenchCase} */ c) => (!opts.casesFilter || opts.casesFilter.test(c.id)) && (!opts.onlyGroups || opts.onlyGroups.includes(c.group));
  const main = [...peers.cases, ...ourCases(source, pool, { workDir, ...opts }), ...resumeCases(source, pool, { workDir, ...opts }), ...indexCases(source, { workDir, ...opts }), ...sets.cases].filter(keep);
  const mem = memory.cases.filter(keep);
  const started = new Date();
  try {
    log(`bench: ${main.length} cases x (${opts.warmup} warm-up + ${opts.runs} runs), alternating order`);
    await runRounds(main, { workDir, runs: opts.runs, warmup: opts.warmup, log });
    await peers.stop();
    await pool.stopAll();
    sets.stop();
    if (mem.length) {
      log(`bench: memory cases x ${opts.memRuns} run${opts.memRuns > 1 ? 's' : ''}`);
      await runRounds(mem, { workDir, runs: opts.memRuns, warmup: 0, log });
    }
  } finally {
    await peers.stop();
    await pool.stopAll();
    sets.stop();
    await memory.stop();
  }

  const all = [...main, ...mem];
  const rows = summarize(all);
  const floors = [...checkFloors(rows), ...setFloors(rows)];
  const heading =
    `multi-server-downloader benchmark: ${sizeText(opts.size)} ${opts.sparse ? 'sparse' : 'random'} file, ${opts.runs} run${opts.runs > 1 ? 's' : ''} after ${opts.warmup} warm-up, ` +
    `${os.cpus().length} CPUs, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}${opts.quick ? ' [--quick: sizes too small for the figures to mean anything]' : ''}`;
  process.stdout.write(`${renderReport(rows, floors, heading)}\n`);
  if (opts.json) {
    const doc = {
      started: started.toISOString(),
      finished: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryBytes: os.totalmem(), kernel: os.release(), loadBefore, loadAfter: os.loadavg() },
      node: process.version,
      tools: versions,
      measuredBy: haveGnuTime ? 'GNU time (wait4 rusage) for clients; /proc sampling for servers' : '/proc sampling (20 ms clients, 100 ms servers)',
      options: { ...opts, casesFilter: opts.casesFilter ? String(opts.casesFilter) : null, helpText: undefined, timeoutFor: undefined },
      source: { size: source.size, sparse: source.sparse, sha256: source.sha256 },
      rows,
      floors,
      cases: all.map((c) => ({ id: c.id, kind: c.kind, label: c.label, group: c.group, bytes: c.bytes, expectedSha256: c.expectedSha256, computedWallS: c.computedWallS ?? null, prepareError: c.prepareError, records: c.records })),
    };
    fs.writeFileSync(opts.json, `${JSON.stringify(doc, null, 2)}\n`);
    log(`bench: wrote ${opts.json}`);
  }
  if (opts.svg) {
    fs.writeFileSync(opts.svg, renderChart(rows, heading.split(':')[0] + `: ${sizeText(opts.size)}, ${started.toISOString().slice(0, 16)}`));
    log(`bench: wrote ${opts.svg}`);
  }
  const failed = rows.filter((r) => r.status !== 'ok');
  if (failed.length) log(`bench: ${failed.length} case(s) FAILED or not run: ${failed.map((r) => r.id).join(', ')}${opts.keep ? '' : ' (--keep keeps the logs)'}`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => {
    cleanup.cleanupSync();
    process.exit(code);
  },
  (err) => {
    log(`bench: ${err instanceof Error ? err.message : String(err)}`);
    cleanup.cleanupSync();
    process.exit(2);
  },
);
