/**
 * One download: discovery, resume, the receive loop over all servers, verification, state
 * saves, failover, and the final rename. Decisions live in Scheduler (which piece next) and
 * PieceMap (what is known of each piece); this file moves bytes and reacts to events.
 */
import { currentTraceparent, digestAt, endSpan, errorMessage, FileInfo, Logger, MsdError, PieceGrid, SPAN, SPAN_ATTR, startSpan } from '@msd/common';
import { context, type Context, type Span } from '@opentelemetry/api';
import { ConnectionError, ConnectionOptions, GetRequest, RemoteError, ServerConnection } from './connection';
import { discover } from './discovery';
import type { DownloadEvents, RetryReason } from './download-events';
import { PartFile, resolveOutputPath } from './part-file';
import { PieceMap } from './piece-map';
import { planResume, ResumePolicy } from './resume-plan';
import { Scheduler, Reason } from './scheduler';
import type { ServerAddress } from './server-address';
import { StateStore } from './state-store';
import { HashChannel, ringSizeFor, Verifier } from './verifier';

export interface DownloadOptions {
  servers: ServerAddress[];
  file: string;
  output: string;
  resume: boolean;
  onBadState: ResumePolicy;
  connectionsPerServer: number;
  pipeline: number;
  stateIntervalMs: number;
  stallTimeoutMs: number;
  steal: boolean;
  verify: boolean;
  /** fdatasync before state saves and the final rename (power-loss safety). */
  fsync: boolean;
  token?: string;
  tls?: ConnectionOptions['tls'];
  traceparent?: string;
  connectTimeoutMs: number;
  giveUpAfterMs: number;
  readBufferSize?: number;
}

export type DownloadState = 'CONNECTING' | 'DOWNLOADING' | 'PAUSED' | 'STALLED' | 'DONE' | 'FAILED' | 'CANCELLED';

interface Job {
  piece: number;
  gen: number;
  start: number; // piece-relative offset the request starts at
  written: number;
  worker: Worker;
  cancelled: boolean;
  span: Span | undefined;
  req: GetRequest<Job> | undefined;
  /** Hash of this request's bytes as they arrive (on the connection's ring thread), when one runs. */
  hash: { channel: HashChannel; id: number } | undefined;
}

interface Slot {
  index: number;
  addr: ServerAddress;
  serverId: number;
  dropped: boolean;
  bytes: number;
}

interface Worker {
  id: number;
  slot: Slot;
  conn: ServerConnection<Job> | undefined;
  ready: boolean;
  jobs: Set<Job>;
  attempts: number;
  retryTimer: NodeJS.Timeout | undefined;
  windowBytes: number;
  speed: number;
  lastIssueAt: number;
  span: Span | undefined;
  /** The connection is being closed on purpose (only cancelled work left on it): reconnect at once. */
  resetting: boolean;
  /** The current connection's receive ring (hash on arrival), when verification streams. */
  channel: HashChannel | undefined;
}

export interface DownloadResult {
  path: string;
  size: number;
  seconds: number;
  bytesReceived: number;
  resumedBytes: number;
  contentId: string;
}

export interface SegmentView { segment: number; start: number; end: number; bytesDone: number; bytesPerSecond: number; serverId: number; server: string }
export interface ProgressView {
  file: string; output: string; size: number; bytesDone: number; piecesDone: number; pieces: number;
  bytesPerSecond: number; etaSeconds: number; state: DownloadState; segments: SegmentView[];
  servers: Array<{ label: string; serverId: number; bytes: number; bytesPerSecond: number; status: string }>;
}

const MAX_FAILURES_PER_PIECE = 5;
const RESET_AFTER_CANCEL_BYTES = 256 * 1024;

export class Download {
  state: DownloadState = 'CONNECTING';
  private info: FileInfo | undefined;
  private grid: PieceGrid | undefined;
  private pm: PieceMap | undefined;
  private sched: Scheduler | undefined;
  private part: PartFile | undefined;
  private store: StateStore | undefined;
  private verifier: Verifier | undefined;
  private readonly slots: Slot[];
  private readonly workers: Worker[] = [];
  private readonly pieceJobs = new Map<number, Set<Job>>();
  private readonly failures = new Map<number, number>();
  /** The job whose bytes went into each piece of the current generation, and pieces two jobs wrote to. */
  private readonly writers = new Map<number, Job>();
  private readonly mixed = new Set<number>();
  private timers: NodeJS.Timeout[] = [];
  private saving: Promise<void> | undefined;
  private settle: { resolve: (r: DownloadResult) => void; reject: (e: Error) => void } | undefined;
  private finished = false;
  private started = performance.now();
  private lastAliveAt = performance.now();
  private bytesReceived = 0;
  private resumedBytes = 0;
  private rate = 0;
  private outPath = '';
  private readonly changeListeners = new Set<() => void>();
  /** Trace context of the download span: connection and request spans are its children. */
  private traceContext: Context = context.active();

  constructor(private readonly opts: DownloadOptions, private readonly log: Logger, private readonly events: DownloadEvents) {
    this.slots = opts.servers.map((addr, index) => ({ index, addr, serverId: index, dropped: false, bytes: 0 }));
  }

  onChange(f: () => void): () => void {
    this.changeListeners.add(f);
    return () => this.changeListeners.delete(f);
  }
  private changed(): void {
    for (const f of this.changeListeners) f();
  }
  private setState(s: DownloadState): void {
    if (this.state !== s) {
      this.state = s;
      this.changed();
    }
  }

  /** Hash on arrival: plain TCP with verification on (TLS sockets cannot read into a ring). */
  private get streamHash(): boolean {
    return this.opts.verify && !this.opts.tls;
  }

  private connOptions(): ConnectionOptions {
    return { token: this.opts.token, tls: this.opts.tls, traceparent: this.opts.traceparent ?? currentTraceparentOf(this.traceContext), connectTimeoutMs: this.opts.connectTimeoutMs, readBufferSize: this.opts.readBufferSize ?? 1 << 20 };
  }

  async run(): Promise<DownloadResult> {
    this.traceContext = context.active();
    const sink = { onBody: this.onBody, onDone: this.onDone, onFailed: this.onFailed };
    const found = await discover<Job>(this.opts.servers, this.opts.file, sink, this.connOptions(), this.log, this.opts.giveUpAfterMs);
    const info = (this.info = found.info);
    const grid = (this.grid = new PieceGrid(info.size, info.pieceSize));
    this.outPath = resolveOutputPath(this.opts.output, info.name);
    for (const p of found.probes) if (p.info) this.slots[this.opts.servers.indexOf(p.addr)].serverId = p.info.serverId;
    this.log.info('source', { file: info.name, size: info.size, pieces: grid.count, pieceSize: info.pieceSize, contentId: info.contentId.toString('hex'), servers: found.probes.filter((p) => p.info).length, output: this.outPath });

    // resume
    const verifyOnly = (part: PartFile): Verifier => (this.verifier ??= new Verifier(part.path));
    const plan = await planResume({ outPath: this.outPath, info, grid, resume: this.opts.resume, policy: this.opts.onBadState, log: this.log, verifierFor: verifyOnly });
    this.part = plan.part;
    this.store = plan.store;
    this.pm = new PieceMap(grid, plan.done, plan.partial);
    this.resumedBytes = this.pm.doneBytes;
    if (this.resumedBytes > 0) this.events.resumed(this.resumedBytes);
    if (this.pm.complete) return this.complete();
    // persist the plan at once: a kill before the first periodic save must not leave a part file
    // without state (which costs a full re-verification) nor lose a re-verification's result
    await this.saveState();
    if (this.opts.verify) this.verifier ??= new Verifier(this.part.path);

    // workers, in run order: server i's connections get the i-th run
    const ids: number[] = [];
    for (const slot of this.slots) {
      for (let c = 0; c < this.opts.connectionsPerServer; c++) {
        const w: Worker = { id: this.workers.length, slot, conn: undefined, ready: false, jobs: new Set(), attempts: 0, retryTimer: undefined, windowBytes: 0, speed: 0, lastIssueAt: 0, span: undefined, resetting: false, channel: undefined };
        this.workers.push(w);
        ids.push(w.id);
      }
    }
    const pm = this.pm;
    this.sched = new Scheduler(grid.count, ids, (p) => !pm.isDone(p), { steal: this.opts.steal });
    this.setState('DOWNLOADING');
    const done = new Promise<DownloadResult>((resolve, reject) => { this.settle = { resolve, reject }; });
    if (this.pendingError) {
      await this.closing;
      throw this.pendingError;
    }
    for (const w of this.workers) {
      const probe = found.probes.find((p) => p.addr === w.slot.addr);
      if (!this.streamHash && probe?.conn && probe.info && !probe.conn.closed && w.id % this.opts.connectionsPerServer === 0) {
        this.adopt(w, probe.conn);
        probe.conn = undefined;
      } else {
        void this.connect(w);
      }
    }
    for (const p of found.probes) p.conn?.destroy();
    this.timers.push(setInterval(() => this.tick(), 250));
    this.timers.push(setInterval(() => void this.saveState().catch((e: Error) => this.fail(e)), this.opts.stateIntervalMs));
    this.fillAll();
    return done;
  }

  // ---------- connections ----------
  private adopt(w: Worker, conn: ServerConnection<Job>): void {
    w.conn = conn;
    w.ready = true;
    w.attempts = 0;
    w.lastIssueAt = performance.now();
    this.sched!.up(w.id);
    this.events.connections(w.slot.serverId, 1);
    w.span = startSpan(SPAN.segment, { [SPAN_ATTR.server]: w.slot.addr.label, [SPAN_ATTR.serverId]: w.slot.serverId, [SPAN_ATTR.segment]: w.slot.index }, this.traceContext);
    conn.onClose((err) => this.onConnClosed(w, conn, err));
  }

  private async connect(w: Worker): Promise<void> {
    if (this.finished || w.slot.dropped) return;
    const channel = this.streamHash ? this.verifier!.channel(ringSizeFor(this.workers.length)) : undefined;
    const conn = new ServerConnection<Job>(w.slot.addr, { onBody: this.onBody, onDone: this.onDone, onFailed: this.onFailed }, { ...this.connOptions(), ring: channel });
    w.channel?.close();
    w.channel = channel;
    w.conn = conn;
    w.ready = false;
    try {
      const hello = await conn.connect();
      const info = await conn.info(this.opts.file, 0, 0);
      const want = this.info!;
      if (!info.contentId.equals(want.contentId) || info.size !== want.size || info.pieceSize !== want.pieceSize) {
        conn.destroy();
        this.drop(w.slot, `now serves different content (${info.size} bytes, content ${info.contentId.toString('hex').slice(0, 16)}; expected ${want.size} bytes, content ${want.contentId.toString('hex').slice(0, 16)})`);
        return;
      }
      if (this.finished) { conn.destroy(); return; }
      w.slot.serverId = hello.serverId;
      this.adopt(w, conn);
      this.log.info('connected', { server: w.slot.addr.label, serverId: hello.serverId, worker: w.id });
      this.fill(w);
    } catch (err) {
      conn.destroy();
      if (w.conn === conn) w.conn = undefined;
      if (this.sched!.isAlive(w.id)) {
        this.sched!.down(w.id); // a reconnect after a deliberate reset failed: its work moves now
        this.fillAll();
      }
      this.events.retry(w.slot.serverId, retryReasonOf(err));
      this.scheduleReconnect(w, errorMessage(err));
    }
  }

  private scheduleReconnect(w: Worker, why: string): void {
    if (this.finished || w.slot.dropped || w.retryTimer) return;
    w.attempts++;
    const base = Math.min(10_000, 250 * 2 ** Math.min(w.attempts - 1, 6));
    const delay = Math.round(base * (0.5 + Math.random()));
    if (w.attempts === 1 || w.attempts % 5 === 0) this.log.warn('server connection failed; retrying', { server: w.slot.addr.label, worker: w.id, attempt: w.attempts, inMs: delay, error: why });
    w.retryTimer = setTimeout(() => { w.retryTimer = undefined; void this.connect(w); }, delay);
  }

  private onConnClosed(w: Worker, conn: ServerConnection<Job>, err: Error): void {
    if (w.conn !== conn) return;
    w.conn = undefined;
    w.ready = false;
    const onPurpose = w.resetting;
    w.resetting = false;
    if (w.span) endSpan(w.span, this.finished || onPurpose ? 'ok' : 'error', this.finished || onPurpose ? undefined : err);
    w.span = undefined;
    this.events.connections(w.slot.serverId, -1);
    if (onPurpose && !this.finished) {
      // the worker stays alive for the scheduler (its queue stays its own) while it reconnects
      void this.connect(w);
      return;
    }
    this.sched!.down(w.id);
    if (this.finished) return;
    const reason = retryReasonOf(err);
    this.events.retry(w.slot.serverId, reason);
    this.events.reassignment(reason === 'timeout' ? 'timeout' : 'error');
    this.scheduleReconnect(w, err.message);
    this.fillAll();
  }

  private drop(slot: Slot, why: string): void {
    if (slot.dropped) return;
    slot.dropped = true;
    this.log.error(`server ${slot.addr.label} ${why}; dropping it and continuing with the others`, { server: slot.addr.label, code: 'E_CONTENT_MISMATCH' });
    for (const w of this.workers) {
      if (w.slot !== slot) continue;
      if (w.retryTimer) clearTimeout(w.retryTimer);
      w.retryTimer = undefined;
      w.conn?.destroy();
      this.sched!.down(w.id);
    }
    if (this.slots.every((s) => s.dropped)) {
      this.fail(new MsdError('E_CONTENT_MISMATCH', 'every server now serves different content from the download in progress; the partial file and its state are kept'));
    }
    this.fillAll();
  }

  // ---------- scheduling ----------
  private depthFor(w: Worker): number {
    const median = this.sched!.medianSpeed();
    if (w.speed > 0 && median > 0 && w.speed < 0.25 * median) return 1; // a slow server holds little
    return this.opts.pipeline;
  }

  private fillAll(): void {
    for (const w of this.workers) this.fill(w);
  }

  private fill(w: Worker): void {
    if (this.finished || this.state === 'PAUSED' || !w.ready || !w.conn || w.conn.closed) return;
    const grid = this.grid!;
    const pm = this.pm!;
    while (w.jobs.size < this.depthFor(w)) {
      const a = this.sched!.next(w.id);
      if (!a) break;
      const p = a.piece;
      if (a.reason === 'steal' || a.reason === 'hedge') this.events.reassignment(a.reason);
      const start = pm.haveBytes(p);
      const len = grid.length(p);
      if (start >= len) { // whole on disk already (resumed): only its check is missing
        this.verifyPiece(p, w);
        continue;
      }
      const job: Job = { piece: p, gen: pm.generation(p), start, written: 0, worker: w, cancelled: false, span: undefined, req: undefined, hash: undefined };
      if (w.channel) job.hash = { channel: w.channel, id: w.channel.begin(grid.start(p), start) };
      if (w.span) job.span = startSpan(SPAN.request, { [SPAN_ATTR.server]: w.slot.addr.label, [SPAN_ATTR.serverId]: w.slot.serverId, [SPAN_ATTR.rangeStart]: grid.start(p) + start, [SPAN_ATTR.rangeLength]: len - start, [SPAN_ATTR.kind]: a.reason }, w.span);
      w.jobs.add(job);
      let set = this.pieceJobs.get(p);
      if (!set) this.pieceJobs.set(p, (set = new Set()));
      set.add(job);
      w.lastIssueAt = performance.now();
      job.req = w.conn.get(this.opts.file, grid.start(p) + start, len - start, job);
      void (a.reason satisfies Reason);
    }
  }

  private forget(job: Job): void {
    job.worker.jobs.delete(job);
    const set = this.pieceJobs.get(job.piece);
    if (set) {
      set.delete(job);
      if (set.size === 0) this.pieceJobs.delete(job.piece);
    }
  }

  // ---------- receive path (hot) ----------
  private readonly onBody = (req: GetRequest<Job>, buf: Buffer, start: number, end: number, pos: number): void => {
    const job = req.ctx;
    const n = end - start;
    const w = job.worker;
    w.windowBytes += n;
    w.slot.bytes += n;
    this.bytesReceived += n;
    this.events.bytesReceived(w.slot.serverId, this.grid!.segmentOf(job.piece, this.slots.length), n);
    const pm = this.pm!;
    // a piece under verification (or done, or reset) takes no more bytes: a hedged duplicate still
    // streaming must not change what the verifier reads or what was verified
    if (job.cancelled || this.finished || job.gen !== pm.generation(job.piece) || pm.isDone(job.piece) || pm.isVerifying(job.piece)) return;
    try {
      this.part!.write(buf, start, end, pos);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    job.hash?.channel.data(job.hash.id, buf, start, end);
    const owner = this.writers.get(job.piece);
    if (owner === undefined) this.writers.set(job.piece, job);
    else if (owner !== job) this.mixed.add(job.piece);
    const from = job.start + job.written;
    job.written += n;
    pm.advance(job.piece, job.gen, from, from + n);
  };

  private readonly onDone = (req: GetRequest<Job>): void => {
    const job = req.ctx;
    if (job.span) endSpan(job.span, job.cancelled ? 'cancelled' : 'ok', undefined, { [SPAN_ATTR.bytes]: req.received });
    const w = job.worker;
    this.forget(job);
    const pm = this.pm!;
    if (job.cancelled || pm.isDone(job.piece)) {
      this.dropHash(job);
      this.sched!.finished(job.piece, w.id);
    } else if (pm.isWhole(job.piece)) {
      this.verifyPiece(job.piece, w, job);
    } else {
      this.dropHash(job);
      this.sched!.release(job.piece, w.id); // bytes went stale (an attempt was reset meanwhile)
    }
    this.fill(w);
  };

  private readonly onFailed = (req: GetRequest<Job>, err: Error): void => {
    const job = req.ctx;
    this.dropHash(job);
    if (job.span) endSpan(job.span, job.cancelled ? 'cancelled' : 'error', job.cancelled ? undefined : err, { [SPAN_ATTR.bytes]: req.received });
    const w = job.worker;
    this.forget(job);
    if (job.cancelled || this.pm!.isDone(job.piece)) {
      this.sched!.finished(job.piece, w.id);
      return;
    }
    this.sched!.release(job.piece, w.id);
    if (err instanceof RemoteError && w.conn && !w.conn.closed) {
      // a request-level refusal (draining, out of range): stop using this connection for now
      this.log.warn('server refused a request; moving its work elsewhere', { server: w.slot.addr.label, error: err.message });
      w.conn.destroy(new ConnectionError(err.message, 'error'));
    }
  };

  // ---------- verification ----------
  private dropHash(job: Job): void {
    if (job.hash) job.hash.channel.abort(job.hash.id);
    job.hash = undefined;
  }

  /**
   * Checks a whole piece: from the bytes `job` streamed (hashed on arrival) when that job alone wrote
   * this generation of the piece, else by reading the piece back from the part file.
   */
  private verifyPiece(p: number, w: Worker, job?: Job): void {
    const pm = this.pm!;
    if (!pm.beginVerify(p)) {
      if (job) this.dropHash(job);
      return;
    }
    const grid = this.grid!;
    const digest = digestAt(this.info!.digests, p);
    let check: Promise<boolean>;
    if (!this.opts.verify) {
      check = Promise.resolve(true);
    } else if (job?.hash && !this.mixed.has(p) && job.gen === pm.generation(p) && job.written === grid.length(p) - job.start) {
      check = job.hash.channel.end(job.hash.id, digest);
      job.hash = undefined;
    } else {
      if (job) this.dropHash(job);
      check = this.verifier!.verify(grid.start(p), grid.length(p), digest);
    }
    check.then((ok) => this.verified(p, w, ok), (err: Error) => this.fail(new MsdError('E_INTERNAL', `verification failed to run: ${err.message}`)));
  }

  private verified(p: number, w: Worker, ok: boolean): void {
    if (this.finished) return;
    const pm = this.pm!;
    const sched = this.sched!;
    const others = [...(this.pieceJobs.get(p) ?? [])];
    for (const j of others) { j.cancelled = true; sched.finished(p, j.worker.id); }
    for (const j of others) this.resetIfOnlyCancelled(j.worker);
    this.writers.delete(p);
    this.mixed.delete(p);
    if (ok) {
      pm.markDone(p);
      sched.completed(p);
      this.events.pieceVerified(w.slot.serverId);
      if (pm.complete) { void this.completeAndSettle(); return; }
    } else {
      pm.reset(p);
      const n = (this.failures.get(p) ?? 0) + 1;
      this.failures.set(p, n);
      this.events.pieceFailed(w.slot.serverId, 'digest');
      this.log.warn('piece failed verification; fetching it again from another server', { piece: p, server: w.slot.addr.label, failures: n });
      sched.release(p, w.id, true);
      if (n >= MAX_FAILURES_PER_PIECE) {
        this.fail(new MsdError('E_VERIFY', `piece ${p} failed verification ${n} times (last from ${w.slot.addr.label}); the servers' file may be changing or damaged`));
        return;
      }
    }
    this.fillAll();
  }

  /**
   * The protocol has no cancel: a cancelled request's bytes still arrive and hold the connection's
   * slots. When only cancelled work is left on a connection and much of it, closing and reopening the
   * connection is cheaper than draining it.
   */
  private resetIfOnlyCancelled(w: Worker): void {
    if (!w.conn || w.conn.closed || w.jobs.size === 0 || w.resetting) return;
    let left = 0;
    for (const j of w.jobs) {
      if (!j.cancelled) return;
      left += j.req ? j.req.length - j.req.received : 0;
    }
    if (left < RESET_AFTER_CANCEL_BYTES) return;
    w.resetting = true;
    w.conn.destroy(new ConnectionError(`${w.slot.addr.label}: closed to drop ${left} bytes of cancelled duplicate work`, 'closed'));
  }

  // ---------- periodic ----------
  private lastTick = performance.now();
  private tick(): void {
    const now = performance.now();
    const dt = (now - this.lastTick) / 1000;
    this.lastTick = now;
    let total = 0;
    let alive = false;
    for (const w of this.workers) {
      const inst = w.windowBytes / dt;
      w.windowBytes = 0;
      w.speed = w.speed === 0 ? inst : 0.6 * w.speed + 0.4 * inst;
      total += inst;
      if (w.ready) {
        alive = true;
        this.sched!.setSpeed(w.id, Math.max(w.speed, 1));
        const conn = w.conn!;
        const quietSince = Math.max(conn.lastByteAt, w.lastIssueAt);
        if (w.jobs.size > 0 && now - quietSince > this.opts.stallTimeoutMs) {
          this.log.warn('server stalled; moving its work to the others', { server: w.slot.addr.label, worker: w.id, quietSeconds: Math.round((now - quietSince) / 1000) });
          this.events.retry(w.slot.serverId, 'stall');
          conn.destroy(new ConnectionError(`${w.slot.addr.label}: no data for ${Math.round((now - quietSince) / 1000)} s`, 'timeout'));
        }
      }
    }
    this.rate = this.rate === 0 ? total : 0.7 * this.rate + 0.3 * total;
    if (alive) this.lastAliveAt = now;
    if (this.state === 'DOWNLOADING' || this.state === 'STALLED') this.setState(alive ? 'DOWNLOADING' : 'STALLED');
    if (!alive && now - this.lastAliveAt > this.opts.giveUpAfterMs) {
      this.fail(new MsdError('E_UNREACHABLE', `no server reachable for ${Math.round(this.opts.giveUpAfterMs / 1000)} s; the partial file and its state are kept: run the same command again to resume`));
    }
    this.fillAll();
    this.changed();
  }

  private saveState(): Promise<void> {
    if (this.saving || !this.store || !this.pm || !this.part) return this.saving ?? Promise.resolve();
    const pm = this.pm;
    const info = this.info!;
    const snapshot = { size: info.size, pieceSize: info.pieceSize, pieceCount: this.grid!.count, contentId: info.contentId, done: pm.done.clone(), partial: pm.partials() };
    const part = this.part;
    this.saving = this.store.save(snapshot, () => (this.opts.fsync ? part.sync() : Promise.resolve()), this.opts.fsync).finally(() => { this.saving = undefined; });
    return this.saving;
  }

  // ---------- control ----------
  pause(): void {
    if (this.state === 'DOWNLOADING' || this.state === 'STALLED') this.setState('PAUSED');
  }
  resume(): void {
    if (this.state === 'PAUSED') {
      this.setState('DOWNLOADING');
      this.fillAll();
    }
  }
  /** Stops, saves the state, and rejects run() with E_CANCELLED (or the given error). */
  async stop(err: MsdError = new MsdError('E_CANCELLED', 'download cancelled; the partial file and its state are kept: run the same command again to resume')): Promise<void> {
    this.fail(err);
    await this.closing;
  }

  private closing: Promise<void> | undefined;
  private fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.setState(err instanceof MsdError && err.code === 'E_CANCELLED' ? 'CANCELLED' : 'FAILED');
    this.closing = this.shutdown(true).then(() => this.settle?.reject(err), () => this.settle?.reject(err));
    if (!this.settle) this.pendingError = err;
  }
  private pendingError: Error | undefined;

  private async shutdown(saveState: boolean): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const w of this.workers) {
      if (w.retryTimer) clearTimeout(w.retryTimer);
      w.conn?.destroy();
      w.channel?.close();
    }
    if (this.saving) await this.saving.catch(() => undefined);
    if (saveState && this.pm && !this.pm.complete) {
      await this.saveState().catch((e: Error) => this.log.error('could not save the resume state', { error: e.message }));
    }
    await this.verifier?.close();
    this.verifier = undefined;
  }

  private async completeAndSettle(): Promise<void> {
    try {
      const r = await this.complete();
      this.settle?.resolve(r);
    } catch (err) {
      this.settle?.reject(err as Error);
    }
  }

  private async complete(): Promise<DownloadResult> {
    this.finished = true;
    await this.shutdown(false);
    const part = this.part!;
    await part.commit(this.opts.fsync, () => this.store!.remove());
    this.setState('DONE');
    return {
      path: this.outPath,
      size: this.info!.size,
      seconds: (performance.now() - this.started) / 1000,
      bytesReceived: this.bytesReceived,
      resumedBytes: this.resumedBytes,
      contentId: this.info!.contentId.toString('hex'),
    };
  }

  // ---------- views ----------
  progress(): ProgressView {
    const grid = this.grid;
    const pm = this.pm;
    const size = this.info?.size ?? 0;
    const doneBytes = pm ? pm.doneBytes : 0;
    const n = this.slots.length;
    const segments: SegmentView[] = [];
    if (grid && pm) {
      for (let i = 0; i < n; i++) {
        const run = grid.run(i, n);
        let d = 0;
        for (let p = run.first; p < run.end; p++) if (pm.isDone(p)) d += grid.length(p);
        const slot = this.slots[i];
        const speed = this.workers.filter((w) => w.slot === slot).reduce((s, w) => s + w.speed, 0);
        segments.push({ segment: i, start: run.first < grid.count ? grid.start(run.first) : size, end: run.end > 0 ? grid.end(run.end - 1) : 0, bytesDone: d, bytesPerSecond: speed, serverId: slot.serverId, server: slot.addr.label });
      }
    }
    const left = size - doneBytes;
    return {
      file: this.info?.name ?? this.opts.file,
      output: this.outPath,
      size,
      bytesDone: doneBytes,
      piecesDone: pm?.done.count ?? 0,
      pieces: grid?.count ?? 0,
      bytesPerSecond: this.rate,
      etaSeconds: this.rate > 0 ? left / this.rate : -1,
      state: this.state,
      segments,
      servers: this.slots.map((s) => {
        const ws = this.workers.filter((w) => w.slot === s);
        return {
          label: s.addr.label, serverId: s.serverId, bytes: s.bytes,
          bytesPerSecond: ws.reduce((a, w) => a + w.speed, 0),
          status: s.dropped ? 'dropped' : this.finished ? this.state.toLowerCase() : ws.some((w) => w.ready) ? 'ok' : 'retrying',
        };
      }),
    };
  }

  get outputPath(): string {
    return this.outPath;
  }
}

function currentTraceparentOf(ctx: Context): string | undefined {
  return context.with(ctx, () => currentTraceparent());
}

function retryReasonOf(err: unknown): RetryReason {
  if (!(err instanceof ConnectionError)) return 'error';
  if (err.reason === 'closed') return 'error';
  if (err.reason === 'tls') return 'auth';
  return err.reason;
}
