/**
 * Progress for people: on a terminal, a live block with one line per segment (bytes, rate, ETA,
 * server), redrawn in place; otherwise one plain line every interval.
 */
import { formatBytes, formatDuration, formatRate } from '@msd/common';
import type { ProgressView } from './model';

export function progressLine(v: ProgressView): string {
  const pct = v.size > 0 ? ((100 * v.bytesDone) / v.size).toFixed(1) : '100.0';
  const live = v.servers.filter((s) => s.status === 'ok').length;
  // a set names its directory and how many of its files are in place
  const what = v.set ? `${v.output} (files ${v.set.filesComplete}/${v.set.files})` : v.file;
  return `${what}: ${pct}% ${formatBytes(v.bytesDone)}/${formatBytes(v.size)} ${formatRate(v.bytesPerSecond)} ETA ${formatDuration(v.etaSeconds)} pieces ${v.piecesDone}/${v.pieces} servers ${live}/${v.servers.length} ${v.state.toLowerCase()}`;
}

export function progressBlock(v: ProgressView, width = 24): string[] {
  const lines = [progressLine(v)];
  for (const s of v.segments) {
    const len = Math.max(1, s.end - s.start);
    const frac = Math.min(1, s.bytesDone / len);
    const filled = Math.round(frac * width);
    const server = v.servers[s.segment];
    const eta = s.bytesPerSecond > 0 ? (len - s.bytesDone) / s.bytesPerSecond : -1;
    lines.push(`  seg ${String(s.segment).padStart(2)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(s.bytesDone).padStart(10)} ${formatRate(s.bytesPerSecond).padStart(11)} ETA ${formatDuration(eta)} server ${s.serverId} ${s.server} ${server?.status ?? ''}`);
  }
  return lines;
}

export class TerminalProgress {
  private drawn = 0;
  constructor(private readonly out: NodeJS.WriteStream) {}
  draw(v: ProgressView): void {
    const lines = progressBlock(v, Math.max(10, Math.min(40, (this.out.columns ?? 100) - 90)));
    let s = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    for (const l of lines) s += `\x1b[2K${l}\n`;
    this.out.write(s);
    this.drawn = lines.length;
  }
}
