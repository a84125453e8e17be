/**
 * The segment-server process: indexes its file(s), then runs one listener per server ID.
 * Readiness (for health) is `indexed && !draining`.
 */
import { formatBytes, formatRate, Logger, SegmentServerControlTarget, ServerStatus } from '@msd/common';
import { Catalog, IndexSettings } from './catalog';
import { Listener, ListenerOptions } from './listener';
import type { ListenerPlan } from './config';
import { noEvents, ServerEvents } from './server-events';

export interface AppOptions extends ListenerOptions {
  file: string;
  pieceSize: number;
  indexing: IndexSettings;
  listeners: ListenerPlan[];
}

export class SegmentServerApp implements SegmentServerControlTarget {
  catalog: Catalog | undefined;
  readonly listeners: Listener[] = [];
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly readyListeners = new Set<(ready: boolean) => void>();

  constructor(readonly options: AppOptions, readonly log: Logger, readonly events: ServerEvents = noEvents) {}

  get indexed(): boolean {
    return this.catalog !== undefined;
  }
  get draining(): boolean {
    return this.listeners.some((l) => l.draining);
  }
  get ready(): boolean {
    return this.indexed && !this.draining;
  }
  onReadyChange(f: (ready: boolean) => void): void {
    this.readyListeners.add(f);
  }
  private emitReady(): void {
    for (const f of this.readyListeners) f(this.ready);
  }

  /**
   * Binds every port first (a port in use fails at once, not after hashing a large file), refusing
   * connections until the catalog is indexed, then starts serving and logs 'listening'.
   */
  async start(): Promise<void> {
    for (const plan of this.options.listeners) {
      const l = new Listener(plan.serverId, this.options, this.events, this.log.child({ serverId: plan.serverId }));
      this.listeners.push(l);
      try {
        await l.listen(plan.port);
      } catch (err) {
        await this.stop(0);
        throw err;
      }
    }
    try {
      this.catalog = await Catalog.open(this.options.file, this.options.pieceSize, this.log, this.options.indexing);
    } catch (err) {
      await this.stop(0);
      throw err;
    }
    for (const l of this.listeners) {
      l.serve(this.catalog);
      this.log.info('listening', { serverId: l.serverId, port: l.port, bind: this.options.bind, numServers: this.options.numServers });
    }
    this.emitReady();
  }

  startStatusLines(seconds: number): void {
    if (seconds <= 0) return;
    const last = new Map<Listener, number>();
    this.statusTimer = setInterval(() => {
      for (const l of this.listeners) {
        const prev = last.get(l) ?? 0;
        last.set(l, l.bytesSent);
        const rate = (l.bytesSent - prev) / seconds;
        this.log.info(`server ${l.serverId} port ${l.port}: ${l.sessions.size} connections, ${formatBytes(l.bytesSent)} sent, ${formatRate(rate)}`, {
          serverId: l.serverId, connections: l.sessions.size, bytesSent: l.bytesSent, bytesPerSecond: Math.round(rate),
        });
      }
    }, seconds * 1000);
    this.statusTimer.unref();
  }

  /** Stops taking transfers; with exitWhenIdle, calls onIdleExit once the running ones finish. */
  drain(exitWhenIdle = false): void {
    for (const l of this.listeners) l.drain();
    this.emitReady();
    if (exitWhenIdle) {
      void Promise.all(this.listeners.map((l) => l.idle(24 * 3600 * 1000))).then(() => this.onIdleExit?.());
    }
  }
  onIdleExit: (() => void) | undefined;

  status(): ServerStatus {
    const single = this.catalog?.single() ?? this.catalog?.list()[0];
    return {
      file: this.catalog?.directoryMode ? this.catalog.root : (single?.name ?? this.options.file),
      size: single?.index.size ?? 0,
      pieceSize: this.options.pieceSize,
      pieces: single?.index.grid.count ?? 0,
      contentId: single?.index.contentId.toString('hex') ?? '',
      numServers: this.options.numServers,
      indexed: this.indexed,
      draining: this.draining,
      listeners: this.listeners.map((l) => ({
        serverId: l.serverId,
        port: l.port,
        connections: l.sessions.size,
        bytesSent: l.bytesSent,
        requests: l.requests,
        rateLimit: l.bucket.bytesPerSecond,
        draining: l.draining,
        transfers: [...l.sessions].filter((s) => s.current).map((s) => ({ client: s.client, file: s.current!.file, offset: s.current!.offset, length: s.current!.length, sent: s.current!.sent })),
      })),
    };
  }

  listFiles(): { name: string; size: number; contentId: string }[] {
    return (this.catalog?.list() ?? []).map((e) => ({ name: e.name, size: e.index.size, contentId: e.index.contentId.toString('hex') }));
  }

  setRateLimit(serverId: number | undefined, bytesPerSecond: number): void {
    for (const l of this.listeners) if (serverId === undefined || l.serverId === serverId) l.setRateLimit(bytesPerSecond);
  }

  /** Drains, lets running transfers finish for up to graceMs, then closes everything. */
  async stop(graceMs: number): Promise<void> {
    this.drain();
    await Promise.all(this.listeners.map((l) => l.idle(graceMs)));
    if (this.statusTimer) clearInterval(this.statusTimer);
    for (const l of this.listeners) {
      this.log.info('server stopped', { serverId: l.serverId, port: l.port, bytesSent: l.bytesSent });
    }
    this.catalog?.close();
  }
}
