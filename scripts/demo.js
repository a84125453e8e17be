#!/usr/bin/env node
'use strict';
// `make demo`: makes a test file, serves it from 4 segment servers on loopback (free ports, one
// process, the original -n/-f/-p form), runs the fetcher, checks the SHA-256 of the result
// against the source, prints the throughput, and stops everything.
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const size = Number(process.env.DEMO_SIZE || 256 * 1024 * 1024);
const servers = Number(process.env.DEMO_SERVERS || 4);

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}
function sha256(file) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest('hex');
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msd-demo-'));
  const src = path.join(dir, 'demo.bin');
  const out = path.join(dir, 'downloaded.bin');
  process.stdout.write(`demo: writing ${size} random bytes to ${src}\n`);
  const fd = fs.openSync(src, 'w');
  for (let at = 0; at < size; at += 8 << 20) { const n = Math.min(8 << 20, size - at); fs.writeSync(fd, crypto.randomBytes(n), 0, n, at); }
  fs.closeSync(fd);
  const ports = [];
  for (let i = 0; i < servers; i++) ports.push(await freePort());
  const serverArgs = ['-n', String(servers), '-f', src, '-p', ...ports.map(String), '-i', '5', '--log-format', 'text'];
  process.stdout.write(`demo: segment-server ${serverArgs.join(' ')}\n`);
  const server = spawn(process.execPath, [path.join(root, 'services/segment-server/bin/segment-server.js'), ...serverArgs], { stdio: ['ignore', 'inherit', 'pipe'] });
  let listening = 0;
  let serverLog = '';
  const cleanup = () => { try { server.kill('SIGTERM'); } catch {} fs.rmSync(dir, { recursive: true, force: true }); };
  process.on('SIGINT', () => { cleanup(); process.exit(130); });
  await new Promise((resolve, reject) => {
    server.stderr.on('data', (d) => {
      const s = d.toString();
      serverLog += s;
      process.stderr.write(s);
      listening += (s.match(/ listening /g) || []).length;
      if (listening >= servers) resolve();
    });
    server.on('exit', (code) => reject(new Error(`segment-server exited (${code}):\n${serverLog}`)));
  });
  const fetchArgs = ['-a', '127.0.0.1', '-p', ...ports.map(String), '-o', out, '-i', '1', '-r'];
  process.stdout.write(`demo: fetcher ${fetchArgs.join(' ')}\n`);
  const t0 = process.hrtime.bigint();
  const code = await new Promise((resolve) => {
    spawn(process.execPath, [path.join(root, 'services/fetcher/bin/fetcher.js'), ...fetchArgs], { stdio: 'inherit' }).on('exit', resolve);
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let ok = false;
  if (code === 0) {
    const a = sha256(src);
    const b = sha256(out);
    ok = a === b;
    process.stdout.write(`demo: source   sha256 ${a}\ndemo: download sha256 ${b}\n`);
    process.stdout.write(`demo: ${ok ? 'VERIFIED' : 'MISMATCH'}: ${(size / 1e6).toFixed(0)} MB in ${seconds.toFixed(2)} s = ${(size / 1e6 / seconds).toFixed(0)} MB/s over ${servers} servers (wall time of the fetcher process)\n`);
  } else {
    process.stdout.write(`demo: fetcher failed with exit code ${code}\n`);
  }
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(ok ? 0 : 1);
}
main().catch((e) => { console.error(`demo: ${e.message}`); process.exit(1); });
