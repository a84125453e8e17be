'use strict';
/**
 * The one free-port helper of test/ and the bench: loopback ports the kernel picked for port 0 a
 * moment ago. All of a request are held open together while the kernel picks them, so none is
 * handed out twice. Plain JavaScript so that the bench (run by node, not ts-jest) uses it too;
 * free-ports.d.ts gives the TypeScript tests its types.
 */
const net = require('node:net');

/** @param {number} count @param {ReadonlySet<number>} [avoid] ports already taken @returns {Promise<number[]>} */
async function freePorts(count, avoid = new Set()) {
  /** @type {net.Server[]} */
  const servers = [];
  /** @type {number[]} */
  const ports = [];
  try {
    while (ports.length < count) {
      const server = net.createServer();
      servers.push(server);
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(undefined));
      });
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      if (!avoid.has(port)) ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve(undefined)))));
  }
}

/** @returns {Promise<number>} one free port (for programs that cannot report port 0 back) */
async function freePort() {
  return (await freePorts(1))[0];
}

/** @param {number} port @returns {Promise<boolean>} */
function isFree(port) {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A random base B such that B .. B+count-1 are all free on 127.0.0.1 (for port-base settings). @param {number} count */
async function freePortRange(count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (60000 - 20000 - count));
    const checks = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found on 127.0.0.1`);
}

module.exports = { freePort, freePorts, freePortRange };
