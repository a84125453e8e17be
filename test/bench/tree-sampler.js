'use strict';
/**
 * Samples the memory of process trees at a fixed interval while a run is going on:
 * the peak of the summed RSS over all samples, and each process's high-water mark
 * (VmHWM, the kernel's own peak, so short spikes between samples are not lost).
 */
const { treesMem, treesCpuSeconds } = require('./proc-tree');

class TreeSampler {
  /** @param {number[]} roots @param {number} intervalMs */
  constructor(roots, intervalMs = 100) {
    this.roots = roots;
    this.intervalMs = intervalMs;
    this.peakRssKiB = 0;
    /** @type {Map<number, number>} */
    this.hwmByPid = new Map();
    this.cpuSeconds = 0;
    /** @type {NodeJS.Timeout | null} */
    this.timer = null;
  }

  sample() {
    const m = treesMem(this.roots);
    if (m.rssKiB > this.peakRssKiB) this.peakRssKiB = m.rssKiB;
    for (const [pid, hwm] of m.hwmByPid) this.hwmByPid.set(pid, Math.max(hwm, this.hwmByPid.get(pid) || 0));
    const cpu = treesCpuSeconds(this.roots);
    if (cpu > 0) this.cpuSeconds = cpu;
  }

  start() {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  /** Stops sampling after one last sample. */
  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this;
  }

  /** Sum of the per-process high-water marks (an upper bound of the tree's peak). */
  hwmSumKiB() {
    let s = 0;
    for (const v of this.hwmByPid.values()) s += v;
    return s;
  }

  /** Largest single-process high-water mark. */
  hwmMaxKiB() {
    let s = 0;
    for (const v of this.hwmByPid.values()) s = Math.max(s, v);
    return s;
  }
}

module.exports = { TreeSampler };
