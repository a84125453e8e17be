'use strict';
/**
 * Remembers every process and temporary path the benchmark creates and removes them
 * on any exit: normal end, failure, uncaught error, Ctrl-C (SIGINT), SIGTERM, SIGHUP.
 * Processes are ended by PID (the tracked root and its descendants), never by name.
 */
const fs = require('node:fs');
const { childrenMap, treePids, isAlive } = require('./proc-tree');

/** @type {Map<number, {label: string, exited: Promise<unknown> | null}>} */
const processes = new Map();
/** @type {Set<string>} */
const paths = new Set();
let keepPaths = false;
let installed = false;

/**
 * @param {number} pid
 * @param {string} label
 * @param {Promise<unknown>} [exited] settles when our child is reaped (so Ctrl-C leaves no zombies)
 */
function trackPid(pid, label, exited) {
  processes.set(pid, { label, exited: exited || null });
}
/** @param {number} pid */
function untrackPid(pid) {
  processes.delete(pid);
}
/** @param {string} p */
function trackPath(p) {
  paths.add(p);
}
/** @param {boolean} keep leave temporary files in place (for debugging) */
function setKeepPaths(keep) {
  keepPaths = keep;
}

/** @param {number} ms */
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Sends `signal` to the root and every descendant, by PID; returns the PIDs signalled. */
function signalTree(root, signal, map = childrenMap()) {
  const pids = treePids(root, map);
  // Children first, so a wrapper (e.g. /usr/bin/time) does not outlive what it wraps unnoticed.
  for (const pid of pids.reverse()) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
  return pids;
}

/** Ends every tracked process tree (SIGTERM, then SIGKILL after graceMs) and removes tracked paths. */
function cleanupSync(graceMs = 2000) {
  const map = childrenMap();
  /** @type {number[]} */
  let all = [];
  for (const pid of processes.keys()) all = all.concat(signalTree(pid, 'SIGTERM', map));
  processes.clear();
  const deadline = Date.now() + graceMs;
  while (all.some(isAlive) && Date.now() < deadline) sleepSync(20);
  for (const pid of all.filter(isAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (!keepPaths) {
    for (const p of paths) fs.rmSync(p, { recursive: true, force: true });
    paths.clear();
  }
}

/** Like cleanupSync, but waits for our children to be reaped: for signals, where we can still wait. */
async function cleanupAsync(graceMs = 2000) {
  const exits = [...processes.values()].map((p) => p.exited).filter((e) => e !== null);
  const map = childrenMap();
  for (const pid of processes.keys()) signalTree(pid, 'SIGTERM', map);
  const settled = Promise.all(exits);
  await Promise.race([settled, new Promise((r) => setTimeout(r, graceMs))]);
  cleanupSync(0); // SIGKILL what is left, remove the paths
  await Promise.race([settled, new Promise((r) => setTimeout(r, 500))]);
}

/** Installs the exit and signal handlers once. */
function installHandlers() {
  if (installed) return;
  installed = true;
  process.on('exit', () => cleanupSync());
  for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig} received, stopping every process and removing temporary files\n`);
      void cleanupAsync().finally(() => process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)));
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err && err.stack ? err.stack : String(err)}\n`);
    cleanupSync();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: ${err instanceof Error && err.stack ? err.stack : String(err)}\n`);
    cleanupSync();
    process.exit(1);
  });
}

module.exports = { trackPid, untrackPid, trackPath, setKeepPaths, signalTree, cleanupSync, cleanupAsync, installHandlers };
