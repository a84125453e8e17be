/** The progress view: segments from the starting runs, ETA, and each server's status word. */
import { DIGEST_SIZE, PieceGrid } from '@msd/common';
import { SetLayout } from './set-layout';
import { progressView, serverStatus } from './progress-view';

const server = (over: Partial<Parameters<typeof progressView>[0]['servers'][number]> = {}) => ({
  label: 'h:1', serverId: 0, bytes: 0, bytesPerSecond: 0, standing: 'ok' as const, connections: [{ id: 0, busy: true, lastActivityAt: 9_900 }], ...over,
});

describe('progressView', () => {
  it('counts done bytes per starting run (short last piece included) and the ETA from the rate', () => {
    const grid = new PieceGrid(10 * 100 + 50, 100); // 11 pieces, the last of 50 bytes
    const done = new Set([0, 1, 10]);
    const v = progressView({
      file: 'f', output: '/o', grid, isDone: (p) => done.has(p), doneBytes: 250, piecesDone: 3, bytesPerSecond: 100, state: 'DOWNLOADING',
      servers: [server({ label: 'a:1', bytesPerSecond: 60 }), server({ label: 'b:1', serverId: 1, bytesPerSecond: 40 })], now: 10_000, stallTimeoutMs: 10_000,
    });
    expect(v.segments.map((s) => [s.start, s.end, s.bytesDone, s.server, s.bytesPerSecond])).toEqual([[0, 500, 200, 'a:1', 60], [500, 1050, 50, 'b:1', 40]]);
    expect(v.etaSeconds).toBe(8);
    expect(v.servers.map((s) => s.status)).toEqual(['ok', 'ok']);
  });

  it('a set: each segment spans its run\'s bytes (not the positions between files), and the set rides along', () => {
    const files = [150, 30, 0, 220].map((size, i) => ({ name: `f${i}`, size, contentId: Buffer.alloc(32), digests: Buffer.alloc(Math.ceil(size / 100) * DIGEST_SIZE) }));
    const grid = new SetLayout(files, 100); // pieces: 100 50 | 30 | 100 100 20
    const set = { files: 4, filesComplete: 1, inFlight: [] };
    const v = progressView({
      file: '', output: '/dir', grid, set, isDone: (p) => p < 2, doneBytes: 150, piecesDone: 2, bytesPerSecond: 0, state: 'DOWNLOADING',
      servers: [server(), server({ serverId: 1 })], now: 10_000, stallTimeoutMs: 10_000,
    });
    expect(v.size).toBe(400);
    expect(v.segments.map((s) => [s.start, s.end - s.start, s.bytesDone])).toEqual([[0, 180, 150], [300, 220, 0]]);
    expect(v.set).toBe(set);
  });

  it('has no ETA before any rate is measured', () => {
    const v = progressView({ file: 'f', output: '/o', grid: new PieceGrid(10, 10), isDone: () => false, doneBytes: 0, piecesDone: 0, bytesPerSecond: 0, state: 'DOWNLOADING', servers: [], now: 0, stallTimeoutMs: 1 });
    expect(v.etaSeconds).toBe(-1);
  });
});

describe('serverStatus', () => {
  const up = (busy: boolean, at: number) => ({ id: 0, busy, lastActivityAt: at });
  it.each([
    ['a banned server', { standing: 'banned' as const, connections: [] }, 'DOWNLOADING', 'banned'],
    ['a dropped server', { standing: 'dropped' as const, connections: [] }, 'DONE', 'dropped'],
    ['after the end', { standing: 'ok' as const, connections: [up(true, 0)] }, 'CANCELLED', 'cancelled'],
    ['no connection up', { standing: 'ok' as const, connections: [] }, 'DOWNLOADING', 'retrying'],
    ['every connection quiet with work', { standing: 'ok' as const, connections: [up(true, 0), up(true, 500)] }, 'DOWNLOADING', 'stalled'],
    ['one connection still delivering', { standing: 'ok' as const, connections: [up(true, 0), up(true, 9_500)] }, 'DOWNLOADING', 'ok'],
    ['idle (nothing asked of it)', { standing: 'ok' as const, connections: [up(false, 0)] }, 'DOWNLOADING', 'ok'],
  ] as const)('%s: %s', (_what, s, state, want) => {
    expect(serverStatus(s, state, 10_000, 10_000)).toBe(want);
  });
});
