'use strict';
/**
 * Reads process facts from /proc: the tree below a PID, its memory (VmRSS, VmHWM)
 * and its CPU time (utime + stime, plus cutime + cstime of reaped children).
 * Everything is synchronous and tolerant of processes that vanish mid-read.
 */
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number.parseInt((r.stdout || '').trim(), 10);
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** @param {number} pid @returns {{ppid: number, ticks: number} | null} */
function readStat(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime..cstime are fields 14..17.
  const ppid = Number(rest[1]);
  const ticks = Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
  return { ppid, ticks };
}

/** @returns {Map<number, number[]>} parent PID -> child PIDs, for every process now alive. */
function childrenMap() {
  /** @type {Map<number, number[]>} */
  const map = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    const list = map.get(st.ppid);
    if (list) list.push(Number(name));
    else map.set(st.ppid, [Number(name)]);
  }
  return map;
}

/** @param {number} root @returns {number[]} root first, then every live descendant. */
function treePids(root, map = childrenMap()) {
  const out = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = /** @type {number} */ (stack.pop());
    out.push(pid);
    for (const c of map.get(pid) || []) stack.push(c);
  }
  return out;
}

/** @param {number} pid @returns {{rssKiB: number, hwmKiB: number} | null} */
function readMem(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(text);
  if (!rss || !hwm) return null; // zombie or kernel thread
  return { rssKiB: Number(rss[1]), hwmKiB: Number(hwm[1]) };
}

/** CPU seconds of the trees below the given roots (live processes plus their reaped children). */
function treesCpuSeconds(roots) {
  const map = childrenMap();
  let ticks = 0;
  for (const root of roots) {
    for (const pid of treePids(root, map)) {
      const st = readStat(pid);
      if (st) ticks += st.ticks;
    }
  }
  return ticks / CLK_TCK;
}

/** Memory of the trees below the given roots: summed RSS, per-process high-water marks. */
function treesMem(roots) {
  const map = childrenMap();
  let rssKiB = 0;
  /** @type {Map<number, number>} */
  const hwmByPid = new Map();
  for (const root of roots) {
    for (const pid of treePids(root, map)) {
      const m = readMem(pid);
      if (!m) continue;
      rssKiB += m.rssKiB;
      hwmByPid.set(pid, m.hwmKiB);
    }
  }
  return { rssKiB, hwmByPid };
}

/** @param {number} pid @returns {boolean} running (a zombie, exited but not reaped, is not) */
function isAlive(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text[text.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

module.exports = { CLK_TCK, readStat, childrenMap, treePids, readMem, treesCpuSeconds, treesMem, isAlive };
