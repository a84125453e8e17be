'use strict';
/**
 * Fetching a whole directory as one set (issue 16): `fetcher -p P1..P4 -o DIR` with no --file,
 * against 4 segment servers serving a directory, measured in the same rounds as the headline:
 * - the source file (--size, 1 GiB by default) alone in a directory, fetched as a set;
 * - the same bytes cut into 1,000 files and into 30 files (the goal: as fast as the one file;
 *   floor: median wall <= 1.25 x the one-file row);
 * - the same bytes cut into 10,000 files: the fetcher's peak RSS against the one-file row
 *   (memory flat in the number of files; floor: <= 1.5 x).
 * Verification on and --no-fsync, as the headline. The directories are built once per bench run
 * from the source's own bytes (random, or sparse with --sparse), 100 files to a subdirectory
 * beyond 100 files (relative paths kept); each run's output is checked file by file against them
 * and summed up in a sha256sum-style manifest, whose SHA-256 is the case's expected hash.
 */
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const cleanup = require('./cleanup');
const { newCase } = require('./bench-case');
const { measureClient } = require('./measure-client');
const { FETCHER_BIN } = require('./segment-servers');
const { sizeText } = require('./memory-cases');

/** Median wall of a many-file row over the one-file row's, at most. */
const WALL_LIMIT = 1.25;
/** Peak RSS of the 10,000-file row over the one-file row's, at most. */
const RSS_LIMIT = 1.5;
/** Files per subdirectory when a set has more than this many. */
const PER_DIR = 100;
const SERVERS = 4;
const CHUNK = 8 * 1024 * 1024;
/** The rows: file counts, the first the reference. */
const SETS = /** @type {const} */ ([
  { n: 1, id: 'set-1', kind: 'set:one-file' },
  { n: 1000, id: 'set-1000', kind: 'set:1000-files', wallFloor: true },
  { n: 30, id: 'set-30', kind: 'set:30-files', wallFloor: true },
  { n: 10000, id: 'set-10000', kind: 'set:10000-files', rssFloor: true },
]);

/**
 * @typedef {import('./bench-case').BenchCase} BenchCase
 * @typedef {import('./bench-case').RunContext} RunContext
 * @typedef {import('./server-pool').ServerPool} ServerPool
 * @typedef {import('./summary').CaseSummary} CaseSummary
 * @typedef {{file: string, size: number, sha256: string, sparse: boolean}} Source
 * @typedef {{name: string, size: number, sha256: string}} SetFile
 * @typedef {{dir: string, files: SetFile[], manifestSha256: string}} TestSet
 */

/**
 * `total` bytes as `n` file sizes that sum to exactly `total`, none differing by more than 1 byte
 * (the first `total % n` files are the longer ones).
 * @param {number} total @param {number} n @returns {number[]}
 */
function splitSizes(total, n) {
  if (!Number.isSafeInteger(total) || total < 0) throw new RangeError(`total ${total} must be a whole number of bytes >= 0`);
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`file count ${n} must be a whole number >= 1`);
  const base = Math.floor(total / n);
  const longer = total - base * n;
  return Array.from({ length: n }, (_, i) => base + (i < longer ? 1 : 0));
}

/**
 * The relative names of a set of `n` files, in order: `file.bin` alone; `fNN.bin` up to PER_DIR
 * files; beyond, PER_DIR files to a subdirectory (`dNN/fNNNN.bin`). Zero-padded, so that the
 * order of the names is the order of the files.
 * @param {number} n @returns {string[]}
 */
function setNames(n) {
  if (n === 1) return ['file.bin'];
  const width = String(n - 1).length;
  const dirWidth = String(Math.ceil(n / PER_DIR) - 1).length;
  const pad = (/** @type {number} */ i, /** @type {number} */ w) => String(i).padStart(w, '0');
  return Array.from({ length: n }, (_, i) => (n <= PER_DIR ? `f${pad(i, width)}.bin` : `d${pad(Math.floor(i / PER_DIR), dirWidth)}/f${pad(i, width)}.bin`));
}

/**
 * sha256sum's format (`sha256sum -c` checks a kept set with it), sorted by name.
 * @param {SetFile[]} files @returns {string}
 */
function manifestText(files) {
  return [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.name}\n`)
    .join('');
}

/** @param {string} text */
const sha256Text = (text) => crypto.createHash('sha256').update(text).digest('hex');

/**
 * The source's bytes cut into `n` files below `dir` (one file: a hard link to the source). Sparse
 * sources give sparse files; each file's SHA-256 is taken from the bytes as they are copied.
 * @param {Source} source @param {string} dir @param {number} n @returns {TestSet}
 */
function buildSet(source, dir, n) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const names = setNames(n);
  if (n === 1) {
    const file = path.join(dir, names[0]);
    try {
      fs.linkSync(source.file, file);
    } catch {
      fs.copyFileSync(source.file, file);
    }
    const files = [{ name: names[0], size: source.size, sha256: source.sha256 }];
    return { dir, files, manifestSha256: sha256Text(manifestText(files)) };
  }
  const buf = Buffer.allocUnsafe(CHUNK);
  const src = fs.openSync(source.file, 'r');
  /** @type {SetFile[]} */
  const files = [];
  try {
    let pos = 0;
    splitSizes(source.size, n).forEach((size, i) => {
      const file = path.join(dir, names[i]);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
      const hash = crypto.createHash('sha256');
      const fd = fs.openSync(file, 'w', 0o644);
      try {
        if (source.sparse) fs.ftruncateSync(fd, size);
        for (let done = 0; done < size; ) {
          const got = fs.readSync(src, buf, 0, Math.min(CHUNK, size - done), pos + done);
          if (got <= 0) throw new Error(`${source.file} ended at ${pos + done} bytes, expected ${source.size}`);
          hash.update(buf.subarray(0, got));
          if (!source.sparse) fs.writeSync(fd, buf, 0, got, done);
          done += got;
        }
      } finally {
        fs.closeSync(fd);
      }
      pos += size;
      files.push({ name: names[i], size, sha256: hash.digest('hex') });
    });
  } finally {
    fs.closeSync(src);
  }
  return { dir, files, manifestSha256: sha256Text(manifestText(files)) };
}

/** @param {string} file @param {Buffer} buf @returns {string} hex SHA-256, read synchronously */
function sha256FileSync(file, buf) {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    for (let got; (got = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, got));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** @param {string} root @param {string} [dir] @returns {string[]} every file below root, relative, '/'-separated */
function filesBelow(root, dir = root) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesBelow(root, full) : [path.relative(root, full).split(path.sep).join('/')];
  });
}

/**
 * Checks a fetched set against its source, file by file, and writes the output's manifest to
 * `manifestFile` (its SHA-256 is the set's manifestSha256 when every file matches).
 * @param {string} outDir @param {TestSet} set @param {string} manifestFile
 * @returns {string | null} what is wrong (the first bad file, missing or unexpected files), or null
 */
function checkSetOutput(outDir, set, manifestFile) {
  const buf = Buffer.allocUnsafe(CHUNK);
  const expected = new Set(set.files.map((f) => f.name));
  const extra = filesBelow(outDir).filter((name) => !expected.has(name));
  /** @type {SetFile[]} */
  const got = [];
  for (const f of set.files) {
    const file = path.join(outDir, f.name);
    if (!fs.existsSync(file)) return `${f.name} missing from the output (${set.files.filter((g) => !fs.existsSync(path.join(outDir, g.name))).length} of ${set.files.length} files missing)`;
    const sha256 = sha256FileSync(file, buf);
    if (sha256 !== f.sha256) return `SHA-256 mismatch: ${f.name} is ${sha256.slice(0, 16)}..., source is ${f.sha256.slice(0, 16)}...`;
    got.push({ name: f.name, size: f.size, sha256 });
  }
  fs.writeFileSync(manifestFile, manifestText(got));
  if (extra.length) return `${extra.length} unexpected file(s) left in the output directory, e.g. ${extra.slice(0, 3).join(', ')}`;
  return null;
}

/** @param {number} n */
const countText = (n) => n.toLocaleString('en-US');

/**
 * @param {Source} source
 * @param {ServerPool} pool
 * @param {{workDir: string, timeoutFor: (bytes: number) => number, serverMode: 'single' | 'per-server', keep?: boolean}} o
 *   keep: leave the directories in place (--keep)
 * @returns {{cases: BenchCase[], stop: () => void}}
 */
function setCases(source, pool, o) {
  const root = path.join(o.workDir, 'sets');
  /** @type {Map<number, TestSet>} */
  const built = new Map();
  /** @type {Map<number, import('./segment-servers').ServerSet>} */
  const servers = new Map();
  const cases = SETS.map(({ n, id, kind }) => {
    const sizes = splitSizes(source.size, n);
    const each = n === 1 ? '' : ` x ${sizes[0] === sizes[n - 1] ? '' : '~'}${sizeText(sizes[0])}`;
    const c = newCase({
      id,
      kind,
      label: n === 1 ? `set: 1 file of ${sizeText(source.size)} (a directory, no --file)` : `set: ${countText(n)} files${each}${n === 10000 ? ' (memory)' : ''}`,
      group: 'set',
      bytes: source.size,
      expectedSha256: null,
      prepare: async () => {
        if (!built.has(n)) {
          cleanup.trackPath(root);
          built.set(n, buildSet(source, path.join(root, `files-${n}`), n));
          spawnSync('sync'); // the copies written back before any timed run
        }
        const set = /** @type {TestSet} */ (built.get(n));
        c.expectedSha256 = set.manifestSha256;
        // --no-index-cache: indexing is index-cases.js's subject; a cache here is 10,000 fsynced files (~75 s)
        const spec = { file: set.dir, count: SERVERS, mode: o.serverMode, logDir: path.join(o.workDir, 'logs', `servers-set-${n}`), extraArgs: ['--no-index-cache'] };
        servers.set(n, await pool.get(`set-${n}`, spec));
      },
      run: async (ctx) => {
        const set = /** @type {TestSet} */ (built.get(n));
        const srv = /** @type {import('./segment-servers').ServerSet} */ (servers.get(n));
        const out = path.join(ctx.outDir, 'set');
        fs.mkdirSync(out, { recursive: true });
        const r = await measureClient({
          cmd: process.execPath,
          args: [FETCHER_BIN, '-p', ...srv.ports.map(String), '-o', out, '--no-resume', '--no-fsync'],
          logFile: path.join(ctx.logDir, `run${ctx.round}.log`),
          timeoutMs: o.timeoutFor(source.size),
          serverPids: srv.pids,
          output: null,
        });
        if (r.error) return r;
        const manifest = path.join(ctx.outDir, 'manifest.sha256');
        const error = checkSetOutput(out, set, manifest);
        return { ...r, outputs: error ? [] : [manifest], error };
      },
    });
    return c;
  });
  /** Removes the directories (call once their servers are stopped); the temp dir's removal covers Ctrl-C. */
  const stop = () => {
    built.clear();
    if (!o.keep) fs.rmSync(root, { recursive: true, force: true });
  };
  return { cases, stop };
}

/**
 * The floors of the set rows (issue 16): the many-file rows' median wall against the one-file
 * row's, and the 10,000-file row's peak RSS against the one-file row's.
 * @param {CaseSummary[]} rows
 * @returns {{floor: string, value: string, pass: boolean}[]}
 */
function setFloors(rows) {
  const get = (/** @type {string} */ id) => rows.find((r) => r.id === id && r.status === 'ok');
  const one = get(SETS[0].id);
  if (!one) return [];
  /** @type {{floor: string, value: string, pass: boolean}[]} */
  const out = [];
  for (const s of SETS.slice(1)) {
    const row = get(s.id);
    if (!row) continue;
    if ('wallFloor' in s) {
      const ratio = row.wallS.median / one.wallS.median;
      out.push({ floor: `set: ${countText(s.n)} files wall <= ${WALL_LIMIT} x 1 file`, value: `${ratio.toFixed(2)} x (${row.wallS.median.toFixed(3)} s vs ${one.wallS.median.toFixed(3)} s)`, pass: ratio <= WALL_LIMIT });
    }
    if ('rssFloor' in s && row.clientRssMiB !== null && one.clientRssMiB !== null) {
      const ratio = row.clientRssMiB / one.clientRssMiB;
      out.push({ floor: `set: ${countText(s.n)} files peak RSS <= ${RSS_LIMIT} x 1 file`, value: `${ratio.toFixed(2)} x (${row.clientRssMiB.toFixed(1)} MiB vs ${one.clientRssMiB.toFixed(1)} MiB)`, pass: ratio <= RSS_LIMIT });
    }
  }
  return out;
}

module.exports = { setCases, setFloors, splitSizes, setNames, manifestText, buildSet, checkSetOutput, WALL_LIMIT, RSS_LIMIT };
