'use strict';
/**
 * Indexing large files (issue 15), each row beside `sha256sum` of the same file in the same run:
 * - cold index (no cache) of the source file (1 GiB by default) on every core and on one thread
 *   (the speed-up of the parallel hasher), and of a random --big-size file (8 GiB by default);
 * - warm start: a segment server whose index cache matches, from spawn to its first greeting, for
 *   the --big-size file and for a 100 GiB sparse file (whose sha256sum, ~6 min here, is not run:
 *   its row is extrapolated from this run's sha256sum of the --big-size file, and says so).
 * The files are backdated an hour: a file modified less than 2 s before indexing is not cached.
 * The fetcher's local check of a complete output (a rerun) is resume-cases.js's `rerun-complete` row.
 */
const fs = require('node:fs');
const path = require('node:path');
const { newCase } = require('./bench-case');
const { measureClient } = require('./measure-client');
const { SERVER_BIN, REPO, requireBuilt, startSegmentServers } = require('./segment-servers');
const { makeTestFile } = require('./test-file');
const { sizeText } = require('./memory-cases');

const SPARSE_SIZE = 100 * 2 ** 30;

/**
 * @typedef {import('./bench-case').BenchCase} BenchCase
 * @typedef {import('./bench-case').RunContext} RunContext
 * @typedef {{file: string, size: number, sha256: string}} Source
 */

/** @param {string} file */
function backdate(file) {
  const t = Date.now() / 1000 - 3600;
  fs.utimesSync(file, t, t);
}

/**
 * @param {Source} source
 * @param {{workDir: string, timeoutFor: (bytes: number) => number, bigSize: number}} o
 * @returns {BenchCase[]}
 */
function indexCases(source, o) {
  const dir = path.join(o.workDir, 'index');
  const cacheDir = path.join(dir, 'cache');
  /** @type {{file: string, size: number} | null} */
  let big = null;
  const sparse = path.join(dir, 'sparse-100g.img');

  /** @param {string} file @param {number} bytes @param {string[]} flags @param {RunContext} ctx @param {string} cache */
  const index = (file, bytes, flags, ctx, cache) =>
    measureClient({
      cmd: process.execPath,
      args: [SERVER_BIN, 'index', file, '--index-cache-dir', cache, '--log-format', 'json', ...flags],
      logFile: path.join(ctx.logDir, `run${ctx.round}.log`),
      timeoutMs: o.timeoutFor(bytes),
      serverPids: [],
      output: null,
    });
  /** @param {string} file @param {number} bytes @param {RunContext} ctx */
  const sha256sum = (file, bytes, ctx) =>
    measureClient({ cmd: 'sha256sum', args: [file], logFile: path.join(ctx.logDir, `run${ctx.round}.log`), timeoutMs: o.timeoutFor(bytes), serverPids: [], output: null });

  /**
   * A server on a file whose cache is in place: wall = spawn to first greeting; fails unless the
   * server says it took the index from the cache.
   * @param {string} file @param {RunContext} ctx
   */
  const warmStart = async (file, ctx) => {
    const logDir = path.join(ctx.logDir, `run${ctx.round}`);
    const t0 = performance.now();
    const set = await startSegmentServers({ file, count: 1, mode: 'single', logDir, extraArgs: ['--log-level', 'info', '--log-format', 'json', '--index-cache-dir', cacheDir] });
    const wallS = (performance.now() - t0) / 1000;
    await set.stop();
    const log = fs.readFileSync(path.join(logDir, 'servers.log'), 'utf8');
    const used = /"msg":"indexed file".*"source":"cache"/.test(log);
    return { wallS, bytesPerSecond: null, clientRssKiB: null, clientCpuS: null, serverRssKiB: null, serverCpuS: null, outputs: [], error: used ? null : `the server did not use the index cache (log: ${path.join(logDir, 'servers.log')})` };
  };

  const prepareSource = async () => {
    requireBuilt('segment-server');
    backdate(source.file);
  };
  const prepareBig = async () => {
    requireBuilt('segment-server');
    if (big) return;
    fs.mkdirSync(dir, { recursive: true });
    big = await makeTestFile({ file: path.join(dir, 'big.bin'), size: o.bigSize, sparse: false });
    backdate(big.file);
  };
  const bigFile = () => /** @type {{file: string, size: number}} */ (big).file;

  const sumBig = newCase({
    id: 'index-sha256sum-big',
    kind: 'index:sha256sum-big',
    label: `sha256sum ${sizeText(o.bigSize)}`,
    group: 'index',
    bytes: o.bigSize,
    expectedSha256: null,
    prepare: prepareBig,
    run: async (ctx) => {
      const r = await sha256sum(bigFile(), o.bigSize, ctx);
      if (!r.error) sparseSum.computedWallS = (r.wallS * SPARSE_SIZE) / o.bigSize;
      return r;
    },
  });
  /** A computed row: filled in by sumBig's runs (runRounds skips rows without `run`). */
  const sparseSum = newCase({
    id: 'index-sha256sum-sparse',
    kind: 'index:sha256sum-sparse',
    label: `sha256sum 100 GiB (not run: ${sizeText(o.bigSize)} rate x ${+(SPARSE_SIZE / o.bigSize).toFixed(1)})`,
    group: 'index',
    bytes: SPARSE_SIZE,
    expectedSha256: null,
  });

  return [
    newCase({
      id: 'index-cold-source',
      kind: 'index:cold-source',
      label: `index cold ${sizeText(source.size)}, every core`,
      group: 'index',
      bytes: source.size,
      expectedSha256: null,
      prepare: prepareSource,
      run: (ctx) => index(source.file, source.size, [], ctx, path.join(ctx.outDir, 'cache')),
    }),
    newCase({
      id: 'index-cold-source-1t',
      kind: 'index:cold-source-1t',
      label: `index cold ${sizeText(source.size)}, 1 thread`,
      group: 'index',
      bytes: source.size,
      expectedSha256: null,
      prepare: prepareSource,
      run: (ctx) => index(source.file, source.size, ['--hash-threads', '1'], ctx, path.join(ctx.outDir, 'cache')),
    }),
    newCase({
      id: 'index-sha256sum-source',
      kind: 'index:sha256sum-source',
      label: `sha256sum ${sizeText(source.size)}`,
      group: 'index',
      bytes: source.size,
      expectedSha256: null,
      run: (ctx) => sha256sum(source.file, source.size, ctx),
    }),
    newCase({
      id: 'index-cold-big',
      kind: 'index:cold-big',
      label: `index cold ${sizeText(o.bigSize)}, every core`,
      group: 'index',
      bytes: o.bigSize,
      expectedSha256: null,
      prepare: prepareBig,
      run: (ctx) => index(bigFile(), o.bigSize, [], ctx, path.join(ctx.outDir, 'cache')),
    }),
    sumBig,
    newCase({
      id: 'index-warm-big',
      kind: 'index:warm-big',
      label: `warm start ${sizeText(o.bigSize)} (cached index)`,
      group: 'index',
      bytes: o.bigSize,
      expectedSha256: null,
      prepare: async () => {
        await prepareBig();
        const r = await index(bigFile(), o.bigSize, [], { outDir: dir, logDir: path.join(o.workDir, 'logs', 'index-warm-big'), round: -1 }, cacheDir);
        if (r.error) throw new Error(`cannot make the cache: ${r.error}`);
      },
      run: (ctx) => warmStart(bigFile(), ctx),
    }),
    newCase({
      id: 'index-warm-sparse',
      kind: 'index:warm-sparse',
      label: 'warm start 100 GiB sparse (cached index)',
      group: 'index',
      bytes: SPARSE_SIZE,
      expectedSha256: null,
      prepare: async () => {
        requireBuilt('segment-server');
        fs.mkdirSync(dir, { recursive: true });
        await makeSparseCache(sparse, cacheDir);
      },
      run: (ctx) => warmStart(sparse, ctx),
    }),
    sparseSum,
  ];
}

/**
 * A 100 GiB sparse file and the cache an index run would write for it (every piece of a hole is
 * the digest of zeros), made in well under a second instead of hashing 100 GiB of zeros.
 * @param {string} file @param {string} cacheDir
 */
async function makeSparseCache(file, cacheDir) {
  const crypto = require('node:crypto');
  const { fileIndexOf, PieceGrid } = require(path.join(REPO, 'services', 'common', 'dist'));
  const { cacheFileFor, stampOf, writeIndexCache } = require(path.join(REPO, 'services', 'segment-server', 'dist', 'index-cache'));
  const PIECE = 1 << 20; // the server's default piece size
  const fd = fs.openSync(file, 'w', 0o644);
  fs.ftruncateSync(fd, SPARSE_SIZE);
  fs.closeSync(fd);
  backdate(file);
  const grid = new PieceGrid(SPARSE_SIZE, PIECE);
  const zero = crypto.createHash('sha256').update(Buffer.alloc(PIECE)).digest();
  const digests = Buffer.alloc(grid.count * 32);
  for (let p = 0; p < grid.count; p++) zero.copy(digests, p * 32);
  await writeIndexCache(cacheFileFor(cacheDir, fs.realpathSync(file), PIECE), stampOf(fs.statSync(file, { bigint: true })), fileIndexOf(grid, digests));
}

module.exports = { indexCases };
