'use strict';
/**
 * Loopback ports: pick free random ones (test/helpers/free-ports.js) and wait until
 * a process listens on them, read from /proc/net/tcp{,6} so no probe connection disturbs
 * the server (iperf3 and our servers count every connection).
 */
const fs = require('node:fs');
const { freePorts } = require('../helpers/free-ports');

/** @returns {Set<number>} every local port in LISTEN state (IPv4 and IPv6) */
function listeningPorts() {
  /** @type {Set<number>} */
  const ports = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A = TCP_LISTEN
      ports.add(Number.parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}

/**
 * Resolves when every port is listening; rejects after timeoutMs or as soon as `alive()`
 * says the owning process has gone (with `describe()` in the message, e.g. its log tail).
 * @param {number[]} ports
 * @param {{timeoutMs?: number, alive?: () => boolean, describe?: () => string, what?: string}} [opts]
 */
async function waitListening(ports, opts = {}) {
  const { timeoutMs = 30000, alive = () => true, describe = () => '', what = 'process' } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = listeningPorts();
    if (ports.every((p) => open.has(p))) return;
    if (!alive()) throw new Error(`${what} exited before listening on ${ports.join(' ')}${describe()}`);
    if (Date.now() > deadline) {
      throw new Error(`${what} did not listen on ${ports.filter((p) => !open.has(p)).join(' ')} within ${timeoutMs} ms${describe()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

module.exports = { freePorts, listeningPorts, waitListening };
