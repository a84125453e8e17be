/**
 * The connections to the servers: one slot per configured server, `connectionsPerServer` workers
 * per slot (worker ids are server-major, the order the scheduler's runs follow). Connects,
 * reconnects with backoff, checks that a reconnected server still serves the same content, and
 * takes servers out of the run (dropped: other content; banned: too many bad pieces). What work a
 * connection gets is the session's: the pool tells it through `PoolHost`.
 */
import { type ContentKey, endSpan, errorMessage, Logger, MsdError, sameContent, SPAN, SPAN_ATTR, startSpan } from '@msd/common';
import type { Context, Span } from '@opentelemetry/api';
import { Backoff, RECONNECT_BACKOFF } from './backoff';
import { BodySink, ConnectionError, ConnectionOptions, ServerConnection } from './connection';
import type { DownloadEvents } from './download-events';
import { classify, retryReasonOf } from './failure';
import type { Job } from './job-table';
import type { Scheduler } from './scheduler';
import type { ServerAddress } from './server-address';
import type { HashChannel } from './verifier';

export type Standing = 'ok' | 'dropped' | 'banned';

export interface Slot {
  readonly index: number;
  readonly addr: ServerAddress;
  serverId: number;
  standing: Standing;
  /** Content bytes received from this server. */
  bytes: number;
  /** Pieces this server alone sent that failed verification. */
  badPieces: number;
  /** Why it left the run, when a failure made it (a protocol or token refusal after discovery). */
  left?: MsdError;
}

export interface Worker {
  readonly id: number;
  readonly slot: Slot;
  /** The open connection; none while (re)connecting. */
  conn: ServerConnection<Job> | undefined;
  /** Greeted, content checked: may be given work. */
  ready: boolean;
  readonly backoff: Backoff;
  retryTimer: NodeJS.Timeout | undefined;
  lastIssueAt: number;
  span: Span | undefined;
  /** The connection is being closed on purpose (only cancelled work left on it): reconnect at once. */
  resetting: boolean;
  /** The current connection's receive ring (hash on arrival), when verification streams. */
  channel: HashChannel | undefined;
}

/** What the pool needs from the session that owns it. */
export interface PoolHost {
  /** Still handing out work (not committing, stopping or ended). */
  active(): boolean;
  /** A connection is ready for work. */
  ready(w: Worker): void;
  /** Connections were lost or servers left: work must be handed out again. */
  capacityChanged(): void;
  /** No server is left in the run. */
  allGone(err: MsdError): void;
  /** A receive ring for a new connection, when verification streams. */
  newChannel(): HashChannel | undefined;
}

export interface PoolOptions {
  servers: ServerAddress[];
  connectionsPerServer: number;
  /** Servers found not to be segment servers: left out from the start. */
  excluded: ReadonlySet<ServerAddress>;
  /**
   * A reconnected server must still serve this: the file's request name and content (for a set,
   * its first file: a server that changed any other file is caught piece by piece, by the digests).
   */
  file: string;
  info: ContentKey;
  connection: () => ConnectionOptions;
  sink: BodySink<Job>;
  traceContext: Context;
}

export class ServerPool {
  readonly slots: Slot[];
  readonly workers: Worker[];

  constructor(private readonly o: PoolOptions, private readonly sched: Scheduler, private readonly host: PoolHost, private readonly events: DownloadEvents, private readonly log: Logger) {
    this.slots = o.servers.map((addr, index) => ({ index, addr, serverId: index, standing: o.excluded.has(addr) ? 'dropped' : 'ok', bytes: 0, badPieces: 0 }));
    this.workers = [];
    for (const slot of this.slots) {
      for (let c = 0; c < o.connectionsPerServer; c++) {
        this.workers.push({ id: this.workers.length, slot, conn: undefined, ready: false, backoff: new Backoff(RECONNECT_BACKOFF), retryTimer: undefined, lastIssueAt: 0, span: undefined, resetting: false, channel: undefined });
      }
    }
  }

  /** Worker ids in run order (server-major): the scheduler's i-th run goes to the i-th. */
  static workerIds(servers: number, connectionsPerServer: number): number[] {
    return Array.from({ length: servers * connectionsPerServer }, (_, i) => i);
  }

  start(): void {
    for (const w of this.workers) {
      if (w.slot.standing === 'ok') void this.connect(w);
      else this.sched.down(w.id);
    }
  }

  private async connect(w: Worker): Promise<void> {
    if (!this.host.active() || w.slot.standing !== 'ok') return;
    const channel = this.host.newChannel();
    const conn = new ServerConnection<Job>(w.slot.addr, this.o.sink, { ...this.o.connection(), ring: channel });
    w.channel?.close();
    w.channel = channel;
    w.conn = conn;
    w.ready = false;
    try {
      const hello = await conn.connect();
      const info = await conn.info(this.o.file, 0, 0);
      if (!sameContent(info, this.o.info)) {
        conn.destroy();
        const want = this.o.info;
        this.leave(w.slot, 'dropped', `now serves different content${this.o.file ? ` for ${this.o.file}` : ''} (${info.size} bytes, content ${info.contentId.toString('hex').slice(0, 16)}; expected ${want.size} bytes, content ${want.contentId.toString('hex').slice(0, 16)})`);
        return;
      }
      if (!this.host.active() || w.slot.standing !== 'ok') { conn.destroy(); return; }
      w.slot.serverId = hello.serverId;
      this.adopt(w, conn);
      this.log.info('connected', { server: w.slot.addr.label, serverId: hello.serverId, worker: w.id });
      this.host.ready(w);
    } catch (err) {
      conn.destroy();
      if (w.conn === conn) w.conn = undefined;
      const e = classify(err, w.slot.addr.label);
      if (!e.retryable) {
        // it answered, and the answer will not change by itself (another protocol, a token refused)
        this.leave(w.slot, 'dropped', `can no longer be used: ${e.message}`, e);
        return;
      }
      if (this.sched.isAlive(w.id)) {
        this.sched.down(w.id); // a reconnect after a deliberate reset failed: its work moves now
        this.host.capacityChanged();
      }
      this.events.retry(w.slot.serverId, retryReasonOf(err));
      this.scheduleReconnect(w, errorMessage(err));
    }
  }

  private adopt(w: Worker, conn: ServerConnection<Job>): void {
    w.conn = conn;
    w.ready = true;
    w.backoff.reset();
    w.lastIssueAt = performance.now();
    this.sched.up(w.id);
    this.events.connections(w.slot.serverId, 1);
    w.span = startSpan(SPAN.segment, { [SPAN_ATTR.server]: w.slot.addr.label, [SPAN_ATTR.serverId]: w.slot.serverId, [SPAN_ATTR.segment]: w.slot.index }, this.o.traceContext);
    conn.onClose((err) => this.onClosed(w, conn, err));
  }

  private scheduleReconnect(w: Worker, why: string): void {
    if (!this.host.active() || w.slot.standing !== 'ok' || w.retryTimer) return;
    const delay = w.backoff.next();
    const attempt = w.backoff.attempts;
    if (attempt === 1 || attempt % 5 === 0) this.log.warn('server connection failed; retrying', { server: w.slot.addr.label, worker: w.id, attempt, inMs: delay, error: why });
    w.retryTimer = setTimeout(() => { w.retryTimer = undefined; void this.connect(w); }, delay);
  }

  private onClosed(w: Worker, conn: ServerConnection<Job>, err: Error): void {
    if (w.conn !== conn) return;
    w.conn = undefined;
    w.ready = false;
    const onPurpose = w.resetting;
    w.resetting = false;
    const quiet = !this.host.active() || onPurpose;
    if (w.span) endSpan(w.span, quiet ? 'ok' : 'error', quiet ? undefined : err);
    w.span = undefined;
    this.events.connections(w.slot.serverId, -1);
    if (onPurpose && this.host.active()) {
      // the worker stays alive for the scheduler (its queue stays its own) while it reconnects
      void this.connect(w);
      return;
    }
    this.sched.down(w.id);
    if (!this.host.active()) return;
    const reason = retryReasonOf(err);
    this.events.retry(w.slot.serverId, reason);
    this.events.reassignment(reason === 'timeout' ? 'timeout' : 'error');
    this.scheduleReconnect(w, err.message);
    this.host.capacityChanged();
  }

  /** Closes a connection whose only work left is cancelled duplicates (cheaper than draining it). */
  reset(w: Worker, why: string): void {
    if (!w.conn || w.conn.closed || w.resetting) return;
    w.resetting = true;
    w.conn.destroy(new ConnectionError(`${w.slot.addr.label}: ${why}`, 'closed'));
  }

  /** Closes a connection that stopped delivering; its work moves and it reconnects with backoff. */
  abandon(w: Worker, err: ConnectionError): void {
    w.conn?.destroy(err);
  }

  /** Server `slot` sent another piece that failed verification; after BAN_AFTER it leaves the run. */
  blame(slot: Slot): void {
    slot.badPieces++;
    if (slot.badPieces >= BAN_AFTER && slot.standing === 'ok') {
      this.events.serverBanned(slot.serverId);
      this.leave(slot, 'banned', `sent ${slot.badPieces} pieces that failed verification`);
    }
  }

  /** Takes a server out of the run; `cause` is the failure that made it leave, when one did. */
  private leave(slot: Slot, standing: Exclude<Standing, 'ok'>, why: string, cause?: MsdError): void {
    if (slot.standing !== 'ok') return;
    slot.standing = standing;
    slot.left = cause;
    this.log.error(`server ${slot.addr.label} ${why}; it gets no more work in this run, continuing with the others`, { server: slot.addr.label, serverId: slot.serverId, code: cause?.code ?? (standing === 'banned' ? 'E_VERIFY' : 'E_CONTENT_MISMATCH'), standing });
    for (const w of this.workers) {
      if (w.slot !== slot) continue;
      if (w.retryTimer) clearTimeout(w.retryTimer);
      w.retryTimer = undefined;
      w.conn?.destroy();
      this.sched.down(w.id);
    }
    if (this.slots.every((s) => s.standing !== 'ok')) {
      const anyBanned = this.slots.some((s) => s.standing === 'banned');
      const cause = this.slots.find((s) => s.left)?.left;
      this.host.allGone(anyBanned
        ? new MsdError('E_VERIFY', 'every server left the run after sending pieces that failed verification (or serving other content); the served file may be changing or damaged. The partial file and its state are kept')
        : cause
          ? new MsdError(cause.code, `no server is left in the run; the last one to leave: ${cause.message}. The partial file and its state are kept`, { cause })
          : new MsdError('E_CONTENT_MISMATCH', 'every server now serves different content from the download in progress; the partial file and its state are kept'));
      return;
    }
    this.host.capacityChanged();
  }

  /** Stops every connection and timer. */
  close(): void {
    for (const w of this.workers) {
      if (w.retryTimer) clearTimeout(w.retryTimer);
      w.retryTimer = undefined;
      w.conn?.destroy();
      w.channel?.close();
    }
  }

  workersOf(slot: Slot): Worker[] {
    return this.workers.filter((w) => w.slot === slot);
  }
}

/**
 * Pieces a server alone sent that failed verification before it is banned. A healthy server over
 * TCP sends none (a flipped bit would need to pass TCP's checksum too), so each one is a real
 * fault; one or two are tolerated because the cause may be passing (the file rewritten once under
 * the server, a disk read error). Past that its remaining share costs more than it brings.
 */
export const BAN_AFTER = 3;
