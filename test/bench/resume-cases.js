'use strict';
/**
 * What the fetcher's promises cost (issue 12), beside the fresh download of the same file from the
 * same 4 servers in the same run (`ours-4`):
 * - resume at 50 %: a part file whose first half the saved state calls verified; the fetcher hashes
 *   that half again (on its hashing threads, while it downloads the other half) before the rename;
 * - the same with --verify-output (the whole part file read back once more before the rename);
 * - a rerun on a complete output: checked locally on every core, nothing downloaded.
 * The part file and state are made before the timed run (copy + state written with the fetcher's
 * own codec); only the fetcher's run is measured.
 */
const fs = require('node:fs');
const path = require('node:path');
const { newCase } = require('./bench-case');
const { measureClient } = require('./measure-client');
const { FETCHER_BIN, REPO } = require('./segment-servers');

const PIECE = 1024 * 1024; // the segment-server's default piece size

/**
 * @typedef {import('./bench-case').BenchCase} BenchCase
 * @typedef {import('./bench-case').RunContext} RunContext
 * @typedef {import('./server-pool').ServerPool} ServerPool
 * @typedef {{file: string, size: number, sha256: string}} Source
 */

/**
 * @param {Source} source
 * @param {ServerPool} pool
 * @param {{workDir: string, timeoutFor: (bytes: number) => number, serverMode: 'single' | 'per-server'}} o
 * @returns {BenchCase[]}
 */
function resumeCases(source, pool, o) {
  const timeoutMs = o.timeoutFor(source.size);
  /** @type {import('./segment-servers').ServerSet | undefined} */
  let set;
  /** @type {Buffer | undefined} */
  let contentId;
  const prepare = async () => {
    set = await pool.get('equal-4', { file: source.file, count: 4, mode: o.serverMode, logDir: path.join(o.workDir, 'logs', 'servers-4') });
    if (!contentId) {
      const common = require(path.join(REPO, 'services/common/dist/index.js'));
      const digests = await common.hashPieces(source.file, source.size, PIECE);
      contentId = common.contentIdentity(source.size, PIECE, digests);
    }
  };
  /** A part file holding the source's first `fraction` of pieces, and a state that calls them verified. */
  const halfDone = (/** @type {string} */ out, /** @type {number} */ fraction) => {
    const common = require(path.join(REPO, 'services/common/dist/index.js'));
    const { encodeState } = require(path.join(REPO, 'services/fetcher/dist/resume-state.js'));
    const count = Math.ceil(source.size / PIECE);
    const keep = Math.floor(count * fraction);
    const part = `${out}.part`;
    fs.copyFileSync(source.file, part);
    const done = new common.Bitfield(count);
    for (let p = 0; p < keep; p++) done.set(p);
    fs.writeFileSync(`${part}.state`, encodeState({ size: source.size, pieceSize: PIECE, pieceCount: count, contentId, done, partial: new Map() }));
  };
  const fetch = (/** @type {RunContext} */ ctx, /** @type {string[]} */ flags) => {
    const out = path.join(ctx.outDir, 'out.bin');
    return { out, run: () => measureClient({
      cmd: process.execPath,
      args: [FETCHER_BIN, '-p', ...(set?.ports ?? []).map(String), '-o', out, '--no-fsync', ...flags],
      logFile: path.join(ctx.logDir, `run${ctx.round}.log`),
      timeoutMs,
      serverPids: set?.pids ?? [],
      output: out,
    }) };
  };
  const base = { bytes: source.size, expectedSha256: source.sha256, group: 'ours', prepare };
  return [
    newCase({ ...base, id: 'resume-50', kind: 'ours:resume', label: 'ours: resume at 50 % (kept half re-checked)', run: (ctx) => {
      const f = fetch(ctx, []);
      halfDone(f.out, 0.5);
      return f.run();
    } }),
    newCase({ ...base, id: 'resume-50-verify-output', kind: 'ours:resume-verify-output', label: 'ours: resume at 50 %, --verify-output', run: (ctx) => {
      const f = fetch(ctx, ['--verify-output']);
      halfDone(f.out, 0.5);
      return f.run();
    } }),
    newCase({ ...base, id: 'fresh-verify-output', kind: 'ours:verify-output', label: 'ours: fresh, --verify-output', run: (ctx) => fetch(ctx, ['--no-resume', '--verify-output']).run() }),
    newCase({ ...base, id: 'rerun-complete', kind: 'ours:rerun-complete', label: 'ours: rerun on a complete output (local check)', run: (ctx) => {
      const f = fetch(ctx, []);
      fs.linkSync(source.file, f.out); // the complete file, without a copy (the check only reads it)
      return f.run();
    } }),
  ];
}

module.exports = { resumeCases };
