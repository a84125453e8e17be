'use strict';
/**
 * A horizontal bar chart of the median wall time of every row (whiskers: min to max),
 * coloured by section, written as plain SVG.
 */

const COLORS = /** @type {Record<string, string>} */ ({
  ceiling: '#9e9e9e',
  peers: '#e4862d',
  ours: '#2f7ed8',
  sweep: '#7fb3e6',
  unequal: '#6a51a3',
  memory: '#41ab5d',
});

/** @param {string} s */
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * @param {import('./summary').CaseSummary[]} rows
 * @param {string} title
 * @returns {string} SVG document
 */
function renderChart(rows, title) {
  const shown = rows.filter((r) => Number.isFinite(r.wallS.median));
  const labelW = 330;
  const plotW = 560;
  const rowH = 22;
  const top = 48;
  const height = top + shown.length * rowH + 40;
  const maxS = Math.max(0.001, ...shown.map((r) => (Number.isFinite(r.wallS.max) ? r.wallS.max : r.wallS.median)));
  const x = (/** @type {number} */ s) => labelW + (s / maxS) * plotW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 110}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">median wall time, seconds (lower is better); whiskers: min to max; ~ = implied by rate</text>`,
  ];
  shown.forEach((r, i) => {
    const y = top + i * rowH;
    const color = r.status === 'ok' ? COLORS[r.group] || '#888' : '#d62728';
    parts.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y + 4}" width="${(x(r.wallS.median) - labelW).toFixed(1)}" height="${rowH - 8}" fill="${color}"${r.computed ? ' fill-opacity="0.4"' : ''}/>`);
    if (r.wallS.n > 1) {
      const yMid = y + rowH / 2;
      parts.push(`<line x1="${x(r.wallS.min).toFixed(1)}" x2="${x(r.wallS.max).toFixed(1)}" y1="${yMid}" y2="${yMid}" stroke="black"/>`);
      for (const s of [r.wallS.min, r.wallS.max]) parts.push(`<line x1="${x(s).toFixed(1)}" x2="${x(s).toFixed(1)}" y1="${yMid - 4}" y2="${yMid + 4}" stroke="black"/>`);
    }
    const tag = `${r.implied ? '~' : ''}${r.wallS.median.toFixed(3)} s${r.status === 'ok' ? '' : ` ${r.status}`}`;
    parts.push(`<text x="${(x(Number.isFinite(r.wallS.max) ? r.wallS.max : r.wallS.median) + 6).toFixed(1)}" y="${y + 15}">${esc(tag)}</text>`);
  });
  const axisY = top + shown.length * rowH + 6;
  parts.push(`<line x1="${labelW}" x2="${labelW + plotW}" y1="${axisY}" y2="${axisY}" stroke="#333"/>`);
  for (let k = 0; k <= 4; k++) {
    const s = (maxS * k) / 4;
    parts.push(`<text x="${x(s).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" fill="#333">${s.toFixed(2)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

module.exports = { renderChart };
