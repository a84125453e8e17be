'use strict';
/**
 * Our fetcher against our segment servers on loopback: the headline (4 servers, the
 * fetcher's defaults, verification on), the same with --no-verify, the sweep over server
 * counts and connections per server, and the unequal-servers case (one server at a quarter
 * of the others' rate): ideal time, ours, ours with --no-steal.
 */
const fs = require('node:fs');
const path = require('node:path');
const { newCase } = require('./bench-case');
const { measureClient } = require('./measure-client');
const { FETCHER_BIN, REPO } = require('./segment-servers');

/**
 * @typedef {import('./bench-case').BenchCase} BenchCase
 * @typedef {import('./server-pool').ServerPool} ServerPool
 * @typedef {{file: string, size: number, sha256: string}} Source
 */

/**
 * One timed fetcher run against a server set.
 * @param {{ports: number[], pids: number[]}} set
 * @param {string[]} flags extra fetcher flags
 * @param {import('./bench-case').RunContext} ctx
 * @param {number} timeoutMs
 * @param {string} [bin] the fetcher to run (another checkout's, for --baseline)
 */
function runFetcher(set, flags, ctx, timeoutMs, bin = FETCHER_BIN) {
  const out = path.join(ctx.outDir, 'out.bin');
  return measureClient({
    cmd: process.execPath,
    args: [bin, '-p', ...set.ports.map(String), '-o', out, '--no-resume', ...flags],
    logFile: path.join(ctx.logDir, `run${ctx.round}.log`),
    timeoutMs,
    serverPids: set.pids,
    output: out,
  });
}

/**
 * @param {Source} source
 * @param {ServerPool} pool
 * @param {{workDir: string, timeoutFor: (bytes: number) => number, serverMode: 'single' | 'per-server', sweepServers: number[], sweepConns: number[], unequalSeconds: number, baseline?: string | null}} o
 * @returns {BenchCase[]}
 */
function ourCases(source, pool, o) {
  const timeoutMs = o.timeoutFor(source.size);
  /** @type {Map<string, import('./segment-servers').ServerSet>} */
  const ready = new Map();
  /** @param {string} key @param {Parameters<ServerPool['get']>[1]} spec @param {string} [bin] */
  const useSet = (key, spec, bin) => ({
    prepare: async () => void ready.set(key, await pool.get(key, spec)),
    /** @param {string[]} flags */
    fetch: (flags) => (/** @type {import('./bench-case').RunContext} */ ctx) => runFetcher(/** @type {import('./segment-servers').ServerSet} */ (ready.get(key)), flags, ctx, timeoutMs, bin),
  });
  /** @param {number} n */
  const equalSet = (n) => useSet(`equal-${n}`, { file: source.file, count: n, mode: o.serverMode, logDir: path.join(o.workDir, 'logs', `servers-${n}`) });
  const base = { bytes: source.size, expectedSha256: source.sha256 };

  const four = equalSet(4);
  const cert = makeCertificate(path.join(o.workDir, 'tls'));
  const tlsFour = useSet('tls-4', { file: source.file, count: 4, mode: o.serverMode, logDir: path.join(o.workDir, 'logs', 'servers-tls'), extraArgs: ['--tls-cert', cert.cert, '--tls-key', cert.key], tls: true });
  /** @type {BenchCase[]} */
  const cases = [
    // like for like with the peers, none of which syncs its output: verification on, no fdatasync
    newCase({ ...base, id: 'ours-4', kind: 'ours:verify', label: 'ours: 4 servers, verify on, --no-fsync', group: 'ours', prepare: four.prepare, run: four.fetch(['--no-fsync']) }),
    // the defaults: also fdatasync before the state saves and the final rename (power-loss safe)
    newCase({ ...base, id: 'ours-4-durable', kind: 'ours:durable', label: 'ours: 4 servers, defaults (verify on, fsync)', group: 'ours', prepare: four.prepare, run: four.fetch([]) }),
    // TLS on the data port (issue 8): the same download over TLS 1.3 with a self-signed certificate
    newCase({ ...base, id: 'ours-4-tls', kind: 'ours:tls', label: 'ours: 4 servers, TLS, verify on, --no-fsync', group: 'ours', prepare: tlsFour.prepare, run: tlsFour.fetch(['--tls-ca', cert.cert, '--no-fsync']) }),
    newCase({ ...base, id: 'ours-4-noverify', kind: 'ours:no-verify', label: 'ours: 4 servers, --no-verify --no-fsync', group: 'ours', prepare: four.prepare, run: four.fetch(['--no-verify', '--no-fsync']) }),
  ];
  if (o.baseline) {
    // the same headline rows from another checkout's servers and fetcher (before/after figures of one run)
    const old = useSet('baseline-4', { file: source.file, count: 4, mode: o.serverMode, logDir: path.join(o.workDir, 'logs', 'servers-baseline'), repo: o.baseline }, path.join(o.baseline, path.relative(REPO, FETCHER_BIN)));
    cases.push(
      newCase({ ...base, id: 'baseline-4', kind: 'baseline:verify', label: 'baseline: 4 servers, verify on, --no-fsync', group: 'ours', prepare: old.prepare, run: old.fetch(['--no-fsync']) }),
      newCase({ ...base, id: 'baseline-4-noverify', kind: 'baseline:no-verify', label: 'baseline: 4 servers, --no-verify --no-fsync', group: 'ours', prepare: old.prepare, run: old.fetch(['--no-verify', '--no-fsync']) }),
    );
  }
  for (const n of o.sweepServers) {
    const set = equalSet(n);
    for (const c of o.sweepConns) {
      cases.push(
        newCase({
          ...base,
          id: `sweep-s${n}-c${c}`,
          kind: 'sweep',
          label: `ours: ${n} server${n > 1 ? 's' : ''} x ${c} conn${c > 1 ? 's' : ''}`,
          group: 'sweep',
          prepare: set.prepare,
          run: set.fetch(['--connections-per-server', String(c), '--no-fsync']),
        }),
      );
    }
  }

  // Unequal servers: 3 at rate R, one at R/4; R chosen so that the ideal time is unequalSeconds.
  const fast = Math.ceil(source.size / (3.25 * o.unequalSeconds));
  const rates = [fast, fast, fast, Math.floor(fast / 4)];
  const idealS = source.size / rates.reduce((a, b) => a + b, 0);
  const unequal = useSet('unequal', { file: source.file, count: 4, mode: 'per-server', rates, logDir: path.join(o.workDir, 'logs', 'servers-unequal') });
  const rateText = `${(fast / 1e6).toFixed(1)} MB/s x3 + ${(rates[3] / 1e6).toFixed(1)} MB/s`;
  cases.push(
    newCase({ ...base, id: 'unequal-ideal', kind: 'unequal:ideal', label: `unequal: ideal (size / sum of rates)`, group: 'unequal', computedWallS: idealS }),
    newCase({ ...base, id: 'unequal-ours', kind: 'unequal:ours', label: `unequal: ours (${rateText})`, group: 'unequal', prepare: unequal.prepare, run: unequal.fetch(['--no-fsync']) }),
    newCase({ ...base, id: 'unequal-nosteal', kind: 'unequal:no-steal', label: 'unequal: ours --no-steal', group: 'unequal', prepare: unequal.prepare, run: unequal.fetch(['--no-steal', '--no-fsync']) }),
  );
  return cases;
}

/** A self-signed certificate for 127.0.0.1 (openssl), for the TLS case. */
function makeCertificate(dir) {
  const { execFileSync } = require('node:child_process');
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

module.exports = { ourCases, runFetcher };
