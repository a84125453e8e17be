'use strict';
/**
 * Runs the cases: each round runs every case once, the order reversed on every other
 * round (so slow drift of the machine falls evenly on all cases); round 0 is a warm-up
 * whose figures are kept apart. Every output is hashed and compared with the source; a
 * mismatch fails the run. Outputs are deleted after each run.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { sha256File } = require('./test-file');
const { failedResult } = require('./bench-case');

/**
 * @typedef {import('./measure-client').RunResult} RunResult
 * @typedef {import('./bench-case').BenchCase} BenchCase
 * @typedef {import('./bench-case').RunContext} RunContext
 * @typedef {import('./bench-case').RunRecord} RunRecord
 */

/** @param {BenchCase} c @param {RunContext} ctx @param {boolean} warmup @returns {Promise<RunRecord>} */
async function runOnce(c, ctx, warmup) {
  fs.rmSync(ctx.outDir, { recursive: true, force: true });
  fs.mkdirSync(ctx.outDir, { recursive: true });
  fs.mkdirSync(ctx.logDir, { recursive: true });
  /** @type {RunResult} */
  let result;
  try {
    result = await /** @type {NonNullable<BenchCase['run']>} */ (c.run)(ctx);
  } catch (e) {
    result = failedResult(e instanceof Error ? e.message : String(e));
  }
  let error = result.error;
  /** @type {string[]} */
  const sha256 = [];
  if (!error) {
    for (const out of result.outputs) {
      if (!fs.existsSync(out)) {
        error = `output ${path.basename(out)} missing`;
        break;
      }
      const h = await sha256File(out);
      sha256.push(h);
      if (h !== c.expectedSha256) {
        error = `SHA-256 mismatch: ${path.relative(ctx.outDir, out)} is ${h.slice(0, 16)}..., source is ${String(c.expectedSha256).slice(0, 16)}...`;
        break;
      }
    }
  }
  fs.rmSync(ctx.outDir, { recursive: true, force: true });
  spawnSync('sync'); // nothing of this run left to write back during the next one
  return { round: ctx.round, warmup, ok: error === null, error, result, sha256 };
}

/**
 * @param {BenchCase[]} cases
 * @param {{workDir: string, runs: number, warmup: number, log: (line: string) => void}} o
 */
async function runRounds(cases, o) {
  const runnable = cases.filter((c) => c.run && c.computedWallS === undefined);
  for (const c of runnable) {
    if (!c.prepare) continue;
    try {
      await c.prepare();
    } catch (e) {
      c.prepareError = e instanceof Error ? e.message : String(e);
      o.log(`  ${c.label}: cannot start: ${c.prepareError.split('\n')[0]}`);
    }
  }
  const active = runnable.filter((c) => c.prepareError === null);
  const rounds = o.warmup + o.runs;
  for (let round = 0; round < rounds; round++) {
    const warmup = round < o.warmup;
    const order = round % 2 === 0 ? active : [...active].reverse();
    o.log(`round ${round + 1}/${rounds}${warmup ? ' (warm-up)' : ''}`);
    for (const c of order) {
      const ctx = { outDir: path.join(o.workDir, 'out', c.id), logDir: path.join(o.workDir, 'logs', c.id), round };
      const rec = await runOnce(c, ctx, warmup);
      c.records.push(rec);
      const wall = Number.isFinite(rec.result.wallS) ? `${rec.result.wallS.toFixed(3)} s` : '-';
      o.log(`  ${c.label.padEnd(44)} ${wall.padStart(10)}${rec.ok ? '' : `  FAILED: ${rec.error}`}`);
    }
  }
}

module.exports = { runRounds, runOnce };
