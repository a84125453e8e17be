/** Small in-memory control targets: they implement the interfaces the programs implement. */
import {
  ControlError,
  FINAL_FETCHER_STATES,
  type FetcherControlTarget,
  type FetcherProgress,
  type FetcherState,
  type SegmentServerControlTarget,
  type ServedFile,
  type SetProgress,
  type ServerStatus,
  type TransferStatus,
} from '@msd/common';

export class FakeSegmentServer implements SegmentServerControlTarget {
  indexed = false;
  draining = false;
  exitWhenIdle = false;
  readonly rateLimits = new Map<number, number>([
    [0, 0],
    [1, 0],
  ]);
  transfers: TransferStatus[] = [{ client: '127.0.0.1:50000', file: 'data.bin', offset: 0, length: 4096, sent: 1024 }];

  status(): ServerStatus {
    return {
      file: 'data.bin',
      size: 5 * 2 ** 32 + 7, // above 2^32: uint64 fields must survive the wire
      pieceSize: 1 << 20,
      pieces: 20481,
      contentId: 'c0ffee',
      numServers: 2,
      indexed: this.indexed,
      draining: this.draining,
      listeners: [...this.rateLimits].map(([serverId, rateLimit]) => ({
        serverId,
        port: 4450 + serverId,
        connections: serverId === 0 ? 1 : 0,
        bytesSent: serverId === 0 ? 123456789 : 0,
        requests: serverId === 0 ? 3 : 0,
        rateLimit,
        draining: this.draining,
        transfers: serverId === 0 ? this.transfers : [],
      })),
    };
  }

  drain(exitWhenIdle: boolean): void {
    this.draining = true;
    this.exitWhenIdle = exitWhenIdle;
  }

  setRateLimit(serverId: number | undefined, bytesPerSecond: number): void {
    for (const id of this.rateLimits.keys()) if (serverId === undefined || id === serverId) this.rateLimits.set(id, bytesPerSecond);
  }

  listFiles(): ServedFile[] {
    return [
      { name: 'data.bin', size: 5 * 2 ** 32 + 7, contentId: 'c0ffee' },
      { name: 'sub/b.bin', size: 10, contentId: 'beef' },
    ];
  }
}

export class FakeFetcher implements FetcherControlTarget {
  state: FetcherState = 'CONNECTING';
  bytesDone = 0;
  readonly size = 8 << 20;
  cancelCalls = 0;
  /** When set, the fake downloads a directory: progress() names no file and carries this set. */
  setProgress: SetProgress | undefined;
  private readonly listeners = new Set<() => void>();

  listenerCount(): number {
    return this.listeners.size;
  }

  set(state: FetcherState, bytesDone = this.bytesDone): void {
    this.state = state;
    this.bytesDone = bytesDone;
    this.emit();
  }

  emit(): void {
    for (const listener of [...this.listeners]) listener();
  }

  progress(): FetcherProgress {
    const half = this.size / 2;
    const set = this.setProgress;
    return {
      file: set ? '' : 'data.bin',
      output: set ? '/tmp/out/tree' : '/tmp/out/data.bin',
      size: this.size,
      bytesDone: this.bytesDone,
      piecesDone: Math.floor(this.bytesDone / (1 << 20)),
      pieces: 8,
      bytesPerSecond: 1.5e6,
      etaSeconds: this.state === 'DONE' ? 0 : -1,
      state: this.state,
      segments: [0, 1].map((segment) => ({
        segment,
        start: segment * half,
        end: (segment + 1) * half,
        bytesDone: Math.min(half, Math.max(0, this.bytesDone - segment * half)),
        bytesPerSecond: 750000,
        serverId: segment,
        server: `127.0.0.1:${4450 + segment}`,
      })),
      ...(set && { set }),
    };
  }

  pause(): void {
    this.requireRunning('pause');
    this.set('PAUSED');
  }

  resume(): void {
    this.requireRunning('resume');
    this.set('DOWNLOADING');
  }

  async cancel(): Promise<void> {
    this.requireRunning('cancel');
    this.cancelCalls++;
    await new Promise((resolve) => setTimeout(resolve, 20)); // "saving the resume state"
    this.set('CANCELLED');
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private requireRunning(action: string): void {
    if (FINAL_FETCHER_STATES.includes(this.state)) {
      throw new ControlError('FAILED_PRECONDITION', `cannot ${action}: the download is ${this.state}`);
    }
  }
}
