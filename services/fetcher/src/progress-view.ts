/**
 * The progress the display, the control API and the metrics show, computed from plain inputs:
 * per-segment bytes done (the i-th starting run), per-server speed and status. Pure.
 */
import type { PieceLayout, SetProgress } from '@msd/common';
import { isFinal, type DownloadState, type ProgressView, type SegmentView, type ServerStatusWord } from './model';
import type { Standing } from './server-pool';
import { looksStalled, type Activity } from './stall-watchdog';

export interface ServerInput {
  label: string;
  serverId: number;
  bytes: number;
  bytesPerSecond: number;
  standing: Standing;
  /** The server's connections that are up (greeted, content checked). */
  connections: readonly Activity[];
}

export interface ProgressInput {
  file: string;
  output: string;
  grid: PieceLayout;
  /** A directory download's files (absent for one file). */
  set?: SetProgress;
  isDone: (p: number) => boolean;
  doneBytes: number;
  piecesDone: number;
  bytesPerSecond: number;
  state: DownloadState;
  servers: ServerInput[];
  now: number;
  stallTimeoutMs: number;
}

export function progressView(i: ProgressInput): ProgressView {
  const { grid } = i;
  const n = i.servers.length;
  const segments: SegmentView[] = i.servers.map((s, k) => {
    const run = grid.run(k, n);
    let done = 0;
    let bytes = 0;
    for (let p = run.first; p < run.end; p++) {
      const len = grid.length(p);
      bytes += len;
      if (i.isDone(p)) done += len;
    }
    // end - start is the run's bytes (for a set, positions between files skip the short pieces' rest)
    const start = run.first < grid.count ? grid.start(run.first) : grid.size;
    return { segment: k, start, end: run.end > run.first ? start + bytes : start, bytesDone: done, bytesPerSecond: s.bytesPerSecond, serverId: s.serverId, server: s.label };
  });
  return {
    file: i.file,
    output: i.output,
    size: grid.size,
    bytesDone: i.doneBytes,
    piecesDone: i.piecesDone,
    pieces: grid.count,
    bytesPerSecond: i.bytesPerSecond,
    etaSeconds: i.bytesPerSecond > 0 ? (grid.size - i.doneBytes) / i.bytesPerSecond : -1,
    state: i.state,
    segments,
    ...(i.set ? { set: i.set } : {}),
    servers: i.servers.map((s) => ({ label: s.label, serverId: s.serverId, bytes: s.bytes, bytesPerSecond: s.bytesPerSecond, status: serverStatus(s, i.state, i.now, i.stallTimeoutMs) })),
  };
}

/** A server out of the run says why; after the end, the end; else ok, stalled (all its connections quiet with work) or retrying (none up). */
export function serverStatus(s: Pick<ServerInput, 'standing' | 'connections'>, state: DownloadState, now: number, stallTimeoutMs: number): ServerStatusWord {
  if (s.standing !== 'ok') return s.standing;
  if (isFinal(state)) return state === 'DONE' ? 'done' : state === 'FAILED' ? 'failed' : 'cancelled';
  if (s.connections.length === 0) return 'retrying';
  return s.connections.every((c) => looksStalled(now, c, stallTimeoutMs)) ? 'stalled' : 'ok';
}
