'use strict';
/*
 * Fills a server's volume from an HTTP(S) URL (source.type=http), with the node of the
 * segment-server image and nothing but node's own modules (fetch, crypto, fs):
 *
 *   node fill-from-url.js --url=URL --sha256=HEX --out=/data/FILE [--stall-timeout=SECONDS]
 *
 *  - FILE already there with a marker (FILE.sha256, written only after a verified download)
 *    naming the same digest and size: nothing is downloaded (a restarted replica starts at once);
 *  - otherwise the body streams into .FILE.download while SHA-256 is computed on the fly; an
 *    interrupted download is continued with a Range request when the server allows it;
 *  - only bytes whose digest matches are renamed to FILE (then the marker is written): a
 *    mismatch deletes the download and exits 1 naming both digests, so the server container never
 *    starts and the pod stays unready (kubectl describe pod shows this message).
 * Exit 0: the verified file is in place; 1: download or verification failed; 2: bad arguments.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

class Refusal extends Error {}

function parseArgs(argv) {
  const opts = { url: '', sha256: '', out: '', stallTimeout: 60 };
  for (const arg of argv) {
    const m = /^--(url|sha256|out|stall-timeout)=(.*)$/s.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)} (use --url=, --sha256=, --out=, --stall-timeout=)`);
    if (m[1] === 'stall-timeout') {
      opts.stallTimeout = Number(m[2]);
      if (!Number.isInteger(opts.stallTimeout) || opts.stallTimeout < 1) throw new Error(`--stall-timeout must be whole seconds, got ${JSON.stringify(m[2])}`);
    } else opts[m[1]] = m[2];
  }
  if (!/^https?:\/\//.test(opts.url)) throw new Error(`--url must be an http:// or https:// URL (source.http.url), got ${JSON.stringify(opts.url)}`);
  if (!/^[0-9a-f]{64}$/.test(opts.sha256)) throw new Error(`--sha256 must be 64 lower-case hex digits (source.http.sha256), got ${JSON.stringify(opts.sha256)}`);
  if (!opts.out.startsWith('/')) throw new Error('--out=/absolute/path is required');
  return opts;
}

const markerPath = (out) => `${out}.sha256`;
const tempPath = (out) => path.join(path.dirname(out), `.${path.basename(out)}.download`);

/** The marker says which digest and size were verified: "HEX SIZE". */
function alreadyVerified(out, sha256) {
  try {
    const [digest, size] = fs.readFileSync(markerPath(out), 'utf8').trim().split(/\s+/);
    return digest === sha256 && fs.statSync(out).size === Number(size) ? Number(size) : -1;
  } catch {
    return -1;
  }
}

function fsyncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Hashes the bytes already in the partial download, so a Range request can continue it. */
function hashExisting(temp, hash) {
  let size = 0;
  try {
    size = fs.statSync(temp).size;
  } catch {
    return 0;
  }
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(temp, 'r');
  try {
    for (let pos = 0; pos < size; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return size;
}

async function download({ url, sha256, out, stallTimeout }) {
  const temp = tempPath(out);
  let hash = crypto.createHash('sha256');
  let offset = hashExisting(temp, hash);
  const controller = new AbortController();
  let stall;
  const armStall = () => {
    clearTimeout(stall);
    stall = setTimeout(() => controller.abort(new Error(`no byte received for ${stallTimeout} s`)), stallTimeout * 1000);
  };
  armStall();
  try {
    const res = await fetch(url, { signal: controller.signal, headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, redirect: 'follow' });
    if (offset > 0 && res.status === 416) {
      fs.rmSync(temp, { force: true });
      throw new Error('the server refused to continue the partial download (416); it is deleted, the next attempt starts over');
    }
    if (offset > 0 && res.status !== 206) {
      // The server ignored the Range request: start over.
      hash = crypto.createHash('sha256');
      offset = 0;
    }
    if (!res.ok) throw new Refusal(`GET ${url} answered ${res.status} ${res.statusText}: check source.http.url (and credentials or proxy in source.http.extraEnv)`);
    const fd = fs.openSync(temp, offset > 0 ? 'r+' : 'w', 0o644);
    let received = 0;
    try {
      if (offset === 0) fs.ftruncateSync(fd, 0);
      for await (const chunk of res.body) {
        armStall();
        const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        hash.update(bytes);
        fs.writeSync(fd, bytes, 0, bytes.length, offset + received);
        received += bytes.length;
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    const total = offset + received;
    const got = hash.digest('hex');
    if (got !== sha256) {
      fs.rmSync(temp, { force: true });
      throw new Refusal(`the file at ${url} (${total} bytes) has SHA-256 ${got}, but source.http.sha256 is ${sha256}: the replica stays unready; fix source.http.sha256 or source.http.url`);
    }
    fs.renameSync(temp, out);
    const marker = markerPath(out);
    fs.writeFileSync(`${marker}.tmp`, `${sha256} ${total}\n`);
    fs.renameSync(`${marker}.tmp`, marker);
    fsyncDir(path.dirname(out));
    return { total, resumedFrom: offset };
  } catch (err) {
    if (err && err.name === 'AbortError' && controller.signal.reason) throw controller.signal.reason;
    throw err;
  } finally {
    clearTimeout(stall);
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`fill-from-url: ${err.message}`);
    return 2;
  }
  // The server's index cache lives on this volume too (mounted writable there on its own), so a
  // restarted replica neither downloads nor hashes the file again.
  fs.mkdirSync(path.join(path.dirname(opts.out), '.msd-index'), { recursive: true });
  const have = alreadyVerified(opts.out, opts.sha256);
  if (have >= 0) {
    console.log(`fill-from-url: ${opts.out} (${have} bytes) was verified against sha256 ${opts.sha256} before; not downloading it again`);
    return 0;
  }
  // A file from another digest (source.http changed): its marker goes first, so a crash from
  // here on never leaves a marker that vouches for the wrong bytes.
  fs.rmSync(markerPath(opts.out), { force: true });
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const { total, resumedFrom } = await download(opts);
      const resumed = resumedFrom > 0 ? `, continued from byte ${resumedFrom}` : '';
      console.log(`fill-from-url: ${opts.out}: ${total} bytes from ${opts.url}, sha256 verified${resumed}, in ${Date.now() - started} ms`);
      return 0;
    } catch (err) {
      const message = err && err.message ? err.message : String(err);
      if (err instanceof Refusal || attempt >= 3) {
        console.error(`fill-from-url: ${message}`);
        return 1;
      }
      console.error(`fill-from-url: attempt ${attempt} failed (${message}); retrying`);
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

main().then((code) => process.exit(code));
