'use strict';
/** Order statistics of a small sample: median, quartiles (linear interpolation), min, max. */

/** @param {number[]} sorted @param {number} q in [0, 1] */
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * @param {number[]} values
 * @returns {{n: number, median: number, min: number, max: number, q1: number, q3: number}}
 */
function describe(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), min: s.length ? s[0] : NaN, max: s.length ? s[s.length - 1] : NaN, q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
}

module.exports = { describe, quantile };
