'use strict';
/** The printed report: one fixed-width table of every case, then the floors of issue 4. */

const COLUMNS = [
  ['case', 'l'],
  ['runs', 'r'],
  ['wall s', 'r'],
  ['min-max s', 'r'],
  ['MB/s', 'r'],
  ['RSS cli MiB', 'r'],
  ['RSS srv MiB', 'r'],
  ['CPU cli s', 'r'],
  ['CPU srv s', 'r'],
  ['x aria2c-x4', 'r'],
  ['x curl', 'r'],
  ['status', 'l'],
];

const GROUP_TITLES = /** @type {Record<string, string>} */ ({
  ceiling: 'ceiling (loopback, disk)',
  peers: 'peers (nginx, sendfile, to disk)',
  ours: 'ours (segment servers, to disk)',
  sweep: 'sweep (servers x connections per server, verify on)',
  unequal: 'unequal servers (one at a quarter rate)',
  memory: 'memory (RSS cli: largest fetcher; CPU cli: all fetchers)',
  index: 'index (page cache; MB/s = bytes hashed, or served from the cache, per second)',
  set: 'set (a whole directory from 4 servers, no --file; verify on, --no-fsync)',
});

/** @param {number | null} x @param {number} digits */
const num = (x, digits) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(digits));

/** @param {import('./summary').CaseSummary} r @returns {string[]} */
function cells(r) {
  const spread = r.computed || r.wallS.n < 2 ? '' : `${num(r.wallS.min, 3)}-${num(r.wallS.max, 3)}`;
  const wall = `${r.implied ? '~' : ''}${num(r.wallS.median, 3)}`;
  const status = r.status === 'ok' ? (r.computed ? 'computed' : 'ok') : `${r.status}${r.error ? `: ${r.error.split('\n')[0].slice(0, 90)}` : ''}`;
  return [r.label, r.computed ? '-' : String(r.runs), wall, spread, num(r.mbPerS, 0), num(r.clientRssMiB, 1), num(r.serverRssMiB, 1), num(r.clientCpuS, 2), num(r.serverCpuS, 2), r.vsAria2 === null ? '-' : `${r.vsAria2.toFixed(2)}x`, r.vsCurl === null ? '-' : `${r.vsCurl.toFixed(2)}x`, status];
}

/**
 * @param {import('./summary').CaseSummary[]} rows
 * @param {{floor: string, value: string, pass: boolean}[]} floors
 * @param {string} heading
 * @returns {string}
 */
function renderReport(rows, floors, heading) {
  const body = rows.map(cells);
  const widths = COLUMNS.map(([title], i) => Math.max(title.length, ...body.map((c) => (i === COLUMNS.length - 1 ? 0 : c[i].length))));
  const line = (/** @type {string[]} */ c) =>
    c
      .map((v, i) => (i === COLUMNS.length - 1 ? v : COLUMNS[i][1] === 'l' ? v.padEnd(widths[i]) : v.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  const header = line(COLUMNS.map(([t]) => t));
  const out = [heading, '', header];
  let group = '';
  rows.forEach((r, i) => {
    if (r.group !== group) {
      group = r.group;
      const title = GROUP_TITLES[group] || group;
      out.push(`-- ${title} ${'-'.repeat(Math.max(2, header.length - title.length - 4))}`);
    }
    out.push(line(body[i]));
  });
  out.push(
    '',
    'wall: median of the measured runs, min-max their spread (~ = implied by the measured rate); MB/s = 10^6 bytes / median wall.',
    'RSS: largest peak over the runs (client: GNU time maxrss or VmHWM; servers: peak of the summed RSS of all server processes,',
    '  memory rows: VmHWM of the one fresh server). CPU: user + system seconds, median. x peer: median wall / peer median wall, this run.',
  );
  if (floors.length) {
    out.push('', 'floors (issues 3, 4 and 16):');
    for (const f of floors) out.push(`  ${f.pass ? 'PASS' : 'MISS'}  ${f.floor.padEnd(52)} ${f.value}`);
  }
  return out.join('\n');
}

module.exports = { renderReport };
