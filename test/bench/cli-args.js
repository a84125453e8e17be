'use strict';
/** The benchmark's command line: `node test/bench/bench.js [options]` (see --help). */
const { parseArgs } = require('node:util');

const HELP = `usage: node test/bench/bench.js [options]   (or: make bench BENCH_ARGS="...")

  --size SIZE            test file size (default 1GiB; suffixes KiB MiB GiB KB MB GB)
  --sparse               make the test file sparse (zeros) instead of random bytes
  --runs N               measured runs of each case (default 5), after --warmup runs
  --warmup N             warm-up rounds, not counted (default 1)
  --servers LIST         server counts of the sweep (default 1,2,4,8,16)
  --conns LIST           connections per server of the sweep (default 1,2,3,4)
  --server-mode MODE     single: one segment-server process with N listeners (default);
                         per-server: one process per server
  --unequal-seconds S    ideal time of the unequal-servers case (sets the rate limits; default 3)
  --big-size SIZE        sparse file for the fetcher memory case (default 8GiB)
  --clients N            concurrent fetchers for the server memory case (default 32)
  --clients-size SIZE    file those clients fetch (default: the smaller of --size and 256MiB)
  --mem-runs N           runs of each memory case (default 1)
  --iperf-seconds S      duration of each iperf3 run (default 2)
  --nginx-workers N      nginx worker_processes (default auto)
  --cases REGEX          run only the cases whose id matches (ids are in the JSON)
  --only LIST            run only these sections (comma-separated): ceiling, peers, ours, sweep,
                         unequal, memory, index, set (e.g. --only set: the directory rows)
  --baseline DIR         another checkout of this repository, built (e.g. \`git worktree add DIR
                         COMMIT\`, then make build there): its servers and fetcher run the headline
                         rows (verify on, --no-verify) beside ours, in the same rounds
  --timeout S            per-run time limit in seconds (default 60 + 1 s per 10 MB)
  --json FILE            write every run and summary as JSON
  --svg FILE             write a bar chart of median wall times
  --quick                16MiB, 1 run, no warm-up, a reduced sweep (every row kind still present)
  --tmp DIR              where the random temp dir is made (default /tmp)
  --keep                 keep the temp dir (files and logs) for inspection
  -h, --help`;

/** @param {string} text @param {string} what @returns {number} bytes */
function parseSize(text, what) {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB|K|M|G)?$/i.exec(text.trim());
  if (!m) throw new Error(`${what}: "${text}" is not a size (e.g. 1GiB, 512MiB, 1000000)`);
  const unit = (m[2] || 'B').toLowerCase();
  /** @type {Record<string, number>} */
  const mult = { b: 1, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };
  return Math.round(Number(m[1]) * mult[unit]);
}

/** @param {string} text @param {string} what @param {number} min */
function parseNumber(text, what, min) {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new Error(`${what}: "${text}" must be a number >= ${min}`);
  return n;
}

/** @param {string} text @param {string} what */
function parseList(text, what) {
  return text.split(',').map((t) => Math.trunc(parseNumber(t, what, 1)));
}

/** The report's sections, as the cases' `group` names them. */
const GROUPS = ['ceiling', 'peers', 'ours', 'sweep', 'unequal', 'memory', 'index', 'set'];

/** @param {string} text @returns {string[]} */
function parseGroups(text) {
  const groups = text.split(',').map((g) => g.trim());
  const unknown = groups.filter((g) => !GROUPS.includes(g));
  if (unknown.length) throw new Error(`--only: "${unknown.join(', ')}" is not a section; the sections are ${GROUPS.join(', ')}`);
  return groups;
}

/**
 * @typedef {ReturnType<typeof parseBenchArgs>} BenchOptions
 * @param {string[]} argv
 */
function parseBenchArgs(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      size: { type: 'string' },
      sparse: { type: 'boolean', default: false },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      servers: { type: 'string' },
      conns: { type: 'string' },
      'server-mode': { type: 'string', default: 'single' },
      'unequal-seconds': { type: 'string' },
      'big-size': { type: 'string' },
      clients: { type: 'string' },
      'clients-size': { type: 'string' },
      'mem-runs': { type: 'string', default: '1' },
      'iperf-seconds': { type: 'string' },
      'nginx-workers': { type: 'string', default: 'auto' },
      cases: { type: 'string' },
      only: { type: 'string' },
      baseline: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'string' },
      svg: { type: 'string' },
      quick: { type: 'boolean', default: false },
      tmp: { type: 'string', default: '/tmp' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const q = values.quick;
  const size = parseSize(values.size || (q ? '16MiB' : '1GiB'), '--size');
  if (size < 1) throw new Error('--size must be at least 1 byte');
  const timeoutS = values.timeout ? parseNumber(values.timeout, '--timeout', 1) : null;
  const mode = values['server-mode'];
  if (mode !== 'single' && mode !== 'per-server') throw new Error(`--server-mode: "${mode}" must be single or per-server`);
  return {
    help: values.help,
    helpText: HELP,
    quick: q,
    size,
    sparse: values.sparse,
    runs: Math.trunc(parseNumber(values.runs || (q ? '1' : '5'), '--runs', 1)),
    warmup: Math.trunc(parseNumber(values.warmup || (q ? '0' : '1'), '--warmup', 0)),
    sweepServers: parseList(values.servers || (q ? '1,2' : '1,2,4,8,16'), '--servers'),
    sweepConns: parseList(values.conns || (q ? '1,2' : '1,2,3,4'), '--conns'),
    serverMode: /** @type {'single' | 'per-server'} */ (mode),
    unequalSeconds: parseNumber(values['unequal-seconds'] || (q ? '0.5' : '3'), '--unequal-seconds', 0.01),
    bigSize: parseSize(values['big-size'] || (q ? String(4 * size) : '8GiB'), '--big-size'),
    clients: Math.trunc(parseNumber(values.clients || '32', '--clients', 1)),
    clientsSize: parseSize(values['clients-size'] || String(Math.min(size, 256 * 2 ** 20)), '--clients-size'),
    memRuns: Math.trunc(parseNumber(values['mem-runs'], '--mem-runs', 1)),
    iperfSeconds: parseNumber(values['iperf-seconds'] || (q ? '1' : '2'), '--iperf-seconds', 1),
    nginxWorkers: values['nginx-workers'],
    casesFilter: values.cases ? new RegExp(values.cases) : null,
    onlyGroups: values.only ? parseGroups(values.only) : null,
    baseline: values.baseline ? require('node:path').resolve(values.baseline) : null,
    /** @param {number} bytes @returns {number} ms a run moving `bytes` may take */
    timeoutFor: (bytes) => 1000 * (timeoutS !== null ? timeoutS : 60 + bytes / 10e6),
    json: values.json || null,
    svg: values.svg || null,
    tmp: values.tmp,
    keep: values.keep,
  };
}

module.exports = { parseBenchArgs, parseSize };
