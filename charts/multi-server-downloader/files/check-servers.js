'use strict';
/*
 * Checks a set of segment servers from inside the cluster, with the node and the packages of
 * the fetcher image (run with NODE_PATH=/app/node_modules):
 *
 *   node check-servers.js --grpc=h0:9090,h1:9090 [--timeout=SECONDS]
 *       waits until every server answers SERVING on grpc.health.v1 (service "");
 *   ... --data=h0:4450,h1:4450 --bytes=N [--file=NAME | --all-files=true] [--token-file=PATH]
 *       then also reads the first N bytes of the file from each server over the data protocol,
 *       checks that server i reports server ID i, and that every server reports the same
 *       content identity (a replica serving other bytes would make every fetch fail).
 *       --all-files=true (servers serving a directory that is fetched whole): pages through each
 *       server's listing, asks for the content identity of every listed file, and requires the
 *       same names, sizes and identities on every server (the differing files are named).
 *
 * Used by the fetcher Job's wait-for-servers init container and by the `helm test` pod.
 * Exit 0: all good; 1: a check failed or timed out (the reason is printed); 2: bad arguments.
 */
const fs = require('node:fs');
const net = require('node:net');

function parseArgs(argv) {
  const opts = { grpc: [], data: [], timeout: 120, bytes: 65536, file: '', allFiles: false, tokenFile: '' };
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
    else if (key === 'all-files') {
      if (value !== 'true' && value !== 'false') throw new Error(`--all-files must be true or false, got ${JSON.stringify(value)}`);
      opts.allFiles = value === 'true';
    }
    else if (key === 'token-file') opts.tokenFile = value;
    else throw new Error(`unknown option --${key}`);
  }
  if (opts.grpc.length === 0) throw new Error('--grpc=host:port,... is required');
  if (opts.allFiles && opts.file) throw new Error('--file names one file, --all-files=true checks every listed file: give one of them');
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

/**
 * One server over the data protocol: checks its server ID, then (one file) reads the first bytes
 * and returns the content identity, or (--all-files) returns every listed file as name -> "size
 * identity" after reading the first bytes of the first non-empty one.
 */
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
    let nextId = 1;
    const request = async (type, name, a, b) => {
      socket.write(p.encodeRequest({ type, id: nextId++, a, b, name }));
      const header = p.decodeResponseHeader(await read(p.RESPONSE_HEADER_SIZE));
      const body = await read(header.length);
      if (header.status !== p.Status.OK) throw new Error(`${p.Status[header.status]}${name ? ` (${name})` : ''}: ${body.toString('utf8')}`);
      return { header, body };
    };
    const readStart = async (name, size) => {
      const want = Math.min(opts.bytes, size);
      const { body } = await request(p.RequestType.GET, name, 0, want);
      if (body.length !== want) throw new Error(`asked for ${want} bytes of ${name || 'the file'}, got ${body.length}`);
      return want;
    };
    const who = `server ${hello.serverId} of ${hello.numServers}`;
    if (!opts.allFiles) {
      const info = p.decodeInfoBody((await request(p.RequestType.INFO, opts.file, 0, 0)).body);
      const want = await readStart(opts.file, info.size);
      const contentId = info.contentId.toString('hex');
      console.log(`${addr.text}: ${who}, file of ${info.size} bytes, content ${contentId.slice(0, 16)}, read ${want} bytes`);
      return new Map([['', contentId]]);
    }
    const files = new Map(); // name -> "size identity"
    let bytes = 0;
    let sample = '';
    let sampleSize = 0;
    for (let first = 0; ;) {
      const { header, body } = await request(p.RequestType.LIST, '', first, 0);
      const entries = p.decodeListBody(body);
      // The header's offset is the total entry count (0 from a server that does not page).
      const total = header.offset || entries.length;
      for (const e of entries) {
        const info = p.decodeInfoBody((await request(p.RequestType.INFO, e.name, 0, 0)).body);
        if (info.size !== e.size) throw new Error(`${e.name} is listed with ${e.size} bytes but INFO says ${info.size}: the file changed while being checked`);
        files.set(e.name, `${e.size} bytes, content ${info.contentId.toString('hex').slice(0, 16)}`);
        bytes += e.size;
        if (sample === '' && e.size > 0) { sample = e.name; sampleSize = e.size; }
      }
      first += entries.length;
      if (first >= total) break;
      if (entries.length === 0) throw new Error(`the listing stopped at entry ${first} of ${total}`);
    }
    if (files.size === 0) throw new Error('the server lists no files: the directory it serves is empty');
    const want = sample ? await readStart(sample, sampleSize) : 0;
    console.log(`${addr.text}: ${who}, ${files.size} files, ${bytes} bytes, read ${want} bytes of ${sample || '(all files are empty)'}`);
    return files;
  } finally {
    socket.destroy();
  }
}

/** Names of the files on which two listings (name -> "size identity") disagree, at most `most`. */
function differences(a, b, most) {
  const out = [];
  for (const [name, v] of a) {
    if (out.length >= most) return out;
    if (!b.has(name)) out.push(`${name} (missing)`);
    else if (b.get(name) !== v) out.push(`${name} (${b.get(name)} instead of ${v})`);
  }
  for (const name of b.keys()) {
    if (out.length >= most) return out;
    if (!a.has(name)) out.push(`${name} (extra)`);
  }
  return out;
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
      const identities = new Map(); // one file: content identity -> server IDs
      let reference; // --all-files: server 0's files, name -> "size identity"
      const disagree = [];
      for (const [ordinal, addr] of opts.data.entries()) {
        const files = await readSome(addr, ordinal, opts, token, Math.max(deadline, Date.now() + 10000)).catch((err) => {
          throw new Error(`${addr.text}: ${err.message}`);
        });
        if (!opts.allFiles) {
          const id = files.get('');
          identities.set(id, [...(identities.get(id) || []), ordinal]);
          continue;
        }
        reference = reference || files;
        const diff = differences(reference, files, 5);
        if (diff.length > 0) disagree.push(`server ${ordinal} differs from server 0 in ${diff.join(', ')}`);
      }
      if (identities.size > 1) {
        const groups = [...identities].map(([id, servers]) => `server(s) ${servers.join(', ')}: ${id.slice(0, 16)}`).join('; ');
        throw new Error(`servers disagree about the content (${groups}): every replica must serve the same file; check the source of the replicas that differ`);
      }
      if (disagree.length > 0) {
        throw new Error(`servers disagree about the listing (${disagree.join('; ')}): every replica must serve the same files; check the source of the replicas that differ`);
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
