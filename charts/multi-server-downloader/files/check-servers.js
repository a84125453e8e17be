'use strict';
/*
 * Checks a set of segment servers from inside the cluster, with the node and the packages of
 * the fetcher image (run with NODE_PATH=/app/node_modules):
 *
 *   node check-servers.js --grpc=h0:9090,h1:9090 [--timeout=SECONDS]
 *       waits until every server answers SERVING on grpc.health.v1 (service "");
 *   ... --data=h0:4450,h1:4450 --bytes=N [--file=NAME] [--token-file=PATH]
 *       then also reads the first N bytes of the file from each server over the data protocol,
 *       checks that server i reports server ID i, and that every server reports the same
 *       content identity (a replica serving other bytes would make every fetch fail).
 *
 * Used by the fetcher Job's wait-for-servers init container and by the `helm test` pod.
 * Exit 0: all good; 1: a check failed or timed out (the reason is printed); 2: bad arguments.
 */
const fs = require('node:fs');
const net = require('node:net');

function parseArgs(argv) {
  const opts = { grpc: [], data: [], timeout: 120, bytes: 65536, file: '', tokenFile: '' };
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)} (use --name=value)`);
    const [, key, value] = m;
    if (key === 'grpc' || key === 'data') opts[key] = value.split(',').filter(Boolean).map(parseAddress);
    else if (key === 'timeout' || key === 'bytes') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--${key} must be a whole number, got ${JSON.stringify(value)}`);
      opts[key] = n;
    } else if (key === 'file') opts.file = value;
    else if (key === 'token-file') opts.tokenFile = value;
    else throw new Error(`unknown option --${key}`);
  }
  if (opts.grpc.length === 0) throw new Error('--grpc=host:port,... is required');
  if (opts.data.length > 0 && opts.data.length !== opts.grpc.length) {
    throw new Error(`--data lists ${opts.data.length} servers but --grpc lists ${opts.grpc.length}`);
  }
  return opts;
}

function parseAddress(text) {
  const at = text.lastIndexOf(':');
  const port = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad address ${JSON.stringify(text)} (want host:port)`);
  return { host: text.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port, text };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One grpc.health.v1 Check; resolves to the status name or rejects with the transport error. */
function healthCheck(client, deadlineMs) {
  return new Promise((resolve, reject) => {
    client.check({ service: '' }, { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => {
      if (err) reject(err);
      else resolve(res.status);
    });
  });
}

async function waitServing(addresses, deadline) {
  const grpc = require('@grpc/grpc-js');
  const { service: healthService } = require('grpc-health-check');
  const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
  await Promise.all(
    addresses.map(async (addr) => {
      const client = new Client(addr.text, grpc.credentials.createInsecure());
      let last = 'no answer yet';
      try {
        for (;;) {
          try {
            const status = await healthCheck(client, 2000);
            if (status === 'SERVING' || status === 1) {
              console.log(`${addr.text}: SERVING`);
              return;
            }
            last = `status ${status}`;
          } catch (err) {
            last = err.details || err.message;
          }
          if (Date.now() > deadline) throw new Error(`${addr.text}: not SERVING before the timeout (last: ${last})`);
          await sleep(1000);
        }
      } finally {
        client.close();
      }
    }),
  );
}

/** Reads exactly n bytes from a socket, failing on close or after the deadline. */
function reader(socket, deadline) {
  let buffered = Buffer.alloc(0);
  let waiting = null;
  let failure = null;
  const wake = () => { if (waiting) { const w = waiting; waiting = null; w(); } };
  socket.on('data', (chunk) => { buffered = Buffer.concat([buffered, chunk]); wake(); });
  socket.on('error', (err) => { failure = err; wake(); });
  socket.on('close', () => { failure = failure || new Error('connection closed by the server'); wake(); });
  return async function read(n) {
    while (buffered.length < n) {
      if (failure) throw failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for the server');
      let timer;
      await new Promise((resolve) => {
        waiting = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };
}

async function readSome(addr, ordinal, opts, token, deadline) {
  const p = require('@msd/common');
  const socket = net.connect({ host: addr.host, port: addr.port });
  try {
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    const read = reader(socket, deadline);
    const hello = p.decodeServerHello(await read(p.SERVER_HELLO_SIZE));
    if (hello.serverId !== ordinal) throw new Error(`expected server ID ${ordinal}, the server says ${hello.serverId}`);
    const auth = token ? p.authMac(token, hello.nonce) : Buffer.alloc(0);
    socket.write(p.encodeClientHello({ version: p.PROTOCOL_VERSION, flags: 0, auth, traceparent: '' }));
    const request = async (type, id, a, b) => {
      socket.write(p.encodeRequest({ type, id, a, b, name: opts.file }));
      const header = p.decodeResponseHeader(await read(p.RESPONSE_HEADER_SIZE));
      const body = await read(header.length);
      if (header.status !== p.Status.OK) throw new Error(`${p.Status[header.status]}: ${body.toString('utf8')}`);
      return body;
    };
    const info = p.decodeInfoBody(await request(p.RequestType.INFO, 1, 0, 0));
    const want = Math.min(opts.bytes, info.size);
    const body = await request(p.RequestType.GET, 2, 0, want);
    if (body.length !== want) throw new Error(`asked for ${want} bytes, got ${body.length}`);
    const contentId = info.contentId.toString('hex');
    console.log(`${addr.text}: server ${hello.serverId} of ${hello.numServers}, file of ${info.size} bytes, content ${contentId.slice(0, 16)}, read ${want} bytes`);
    return contentId;
  } finally {
    socket.destroy();
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`check-servers: ${err.message}`);
    return 2;
  }
  const deadline = Date.now() + opts.timeout * 1000;
  try {
    await waitServing(opts.grpc, deadline);
    if (opts.data.length > 0) {
      const token = opts.tokenFile ? fs.readFileSync(opts.tokenFile, 'utf8').trim() : '';
      const identities = new Map(); // content identity -> server IDs
      for (const [ordinal, addr] of opts.data.entries()) {
        const id = await readSome(addr, ordinal, opts, token, Math.max(deadline, Date.now() + 10000)).catch((err) => {
          throw new Error(`${addr.text}: ${err.message}`);
        });
        identities.set(id, [...(identities.get(id) || []), ordinal]);
      }
      if (identities.size > 1) {
        const groups = [...identities].map(([id, servers]) => `server(s) ${servers.join(', ')}: ${id.slice(0, 16)}`).join('; ');
        throw new Error(`servers disagree about the content (${groups}): every replica must serve the same file; check the source of the replicas that differ`);
      }
    }
    console.log(`check-servers: all ${opts.grpc.length} servers OK`);
    return 0;
  } catch (err) {
    console.error(`check-servers: ${err.message}`);
    return 1;
  }
}

// Exit explicitly: a gRPC channel or socket still closing must not keep the check alive.
main().then((code) => process.exit(code));
