'use strict';
/**
 * nginx serving the test file on a random loopback port: a scratch config in the temp dir
 * (sendfile on, Range requests are built in, access log off), its pid file and temp paths
 * there too, run in the foreground as a tracked process and stopped by PID afterwards.
 */
const fs = require('node:fs');
const path = require('node:path');
const { BackgroundProcess } = require('./background-process');
const { freePorts, waitListening } = require('./ports');

/**
 * @param {{workDir: string, rootDir: string, workers: string}} o rootDir is served as /
 * @returns {Promise<{port: number, url: (name: string) => string, server: BackgroundProcess, stop: () => Promise<void>}>}
 */
async function startNginx(o) {
  const dir = path.join(o.workDir, 'nginx');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const [port] = await freePorts(1);
  const conf = path.join(dir, 'nginx.conf');
  const temp = (name) => path.join(dir, name);
  fs.writeFileSync(
    conf,
    `# scratch config written by test/bench/nginx-server.js
daemon off;
worker_processes ${o.workers};
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 30s;
  default_type application/octet-stream;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  server {
    listen 127.0.0.1:${port};
    root ${o.rootDir};
    location / { }
  }
}
`,
  );
  const server = new BackgroundProcess({ cmd: 'nginx', args: ['-p', dir, '-e', temp('error.log'), '-c', conf], logFile: temp('stdout.log'), label: 'nginx' });
  await waitListening([port], { alive: () => server.alive(), describe: () => server.describe(), what: 'nginx' });
  return { port, url: (name) => `http://127.0.0.1:${port}/${name}`, server, stop: () => server.stop() };
}

module.exports = { startNginx };
