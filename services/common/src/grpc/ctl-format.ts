/** Human-readable numbers and tables for the ctl CLIs. */

import { formatRate } from '../units';

/** 0 = unlimited */
export function formatRateLimit(bytesPerSecond: number): string {
  return bytesPerSecond === 0 ? 'unlimited' : formatRate(bytesPerSecond);
}

export function formatPercent(done: number, total: number): string {
  return total > 0 ? `${((100 * done) / total).toFixed(1)}%` : '-';
}

/** Left-aligned columns, two spaces apart; the first row is the header. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}
