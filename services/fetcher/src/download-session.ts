/**
 * The download proper, once discovery and the resume plan are done: every dependency exists from
 * the constructor on. It moves bytes (the receive path), hands out work (Scheduler), verifies
 * pieces, saves the state, puts each file into place as it completes (PieceStore), and ends when
 * every file is in place, or by saving the state for a resume. One file or a whole directory is
 * the same download: the files lie end to end in one SetLayout. Connections are ServerPool's, requests JobTable's, the lifecycle
 * Lifecycle's; this file is the glue between them.
 *
 * (Over 300 lines: the receive path, the verification outcome and the end of a run all act on the
 * same piece state, scheduler and lifecycle, in one flow; split further, each part would need the
 * others' internals. The pure parts are units of their own, listed above.)
 */
import { Bitfield, checkPieces, currentTraceparent, digestAt, endSpan, Logger, MsdError, PieceGrid, SPAN, SPAN_ATTR, startSpan } from '@msd/common';
import { context, type Context } from '@opentelemetry/api';
import type { ConnectionOptions, GetRequest } from './connection';
import { classify, ConnectionError, RemoteError } from './failure';
import type { DownloadEvents } from './download-events';
import type { DownloadOptions } from './download-options';
import { Job, JobTable } from './job-table';
import type { Lifecycle } from './lifecycle';
import type { DownloadResult, ProgressView } from './model';
import type { OutputLock } from './output-lock';
import { blameable, checkMethod } from './piece-check';
import { PieceMap } from './piece-map';
import type { PieceStore } from './piece-store';
import { RateMeter } from './rate-meter';
import { ResumedCheck } from './resumed-check';
import { Scheduler } from './scheduler';
import { SetFiles } from './set-files';
import type { SetLayout } from './set-layout';
import { progressView } from './progress-view';
import { ServerPool, Worker } from './server-pool';
import { stalled } from './stall-watchdog';
import { ringSizeFor, Verifier } from './verifier';

/** A piece that fails this often (from any servers) ends the run: the served file is changing or damaged. */
const MAX_FAILURES_PER_PIECE = 5;
/** Cancelled duplicate bytes left on a connection worth closing it for (rather than draining them). */
const RESET_AFTER_CANCEL_BYTES = 256 * 1024;
/** Rounds of --verify-output that may find bad pieces in one file before the run gives up. */
const MAX_OUTPUT_CHECKS = 3;

export interface SessionInputs {
  opts: DownloadOptions;
  layout: SetLayout;
  /** What progress calls the download: the served file's name; '' for a set. */
  label: string;
  /** A directory download (progress shows the set), even of one file. */
  isSet: boolean;
  /** The request name of each file of the layout (one file: --file, maybe ''). */
  requestNames: readonly string[];
  /** The identity the result reports (one file: its content id; a set: the listing's). */
  contentId: Buffer;
  store: PieceStore;
  /** Pieces verified already (with their bytes on disk), bytes of pieces begun, and which done ones to check again. */
  done: Bitfield;
  partial: ReadonlyMap<number, number>;
  unchecked: readonly number[];
  excluded: ReadonlySet<DownloadOptions['servers'][number]>;
  lock: OutputLock;
  lifecycle: Lifecycle;
  traceContext: Context;
  startedAt: number;
}

export class DownloadSession {
  private readonly opts: DownloadOptions;
  private readonly grid: SetLayout;
  private readonly store: PieceStore;
  private readonly files: SetFiles;
  private readonly pm: PieceMap;
  private readonly sched: Scheduler;
  private readonly jobs: JobTable;
  private readonly pool: ServerPool;
  private readonly rates: RateMeter;
  private readonly verifier: Verifier;
  private readonly resumedCheck: ResumedCheck;
  private readonly life: Lifecycle;
  private readonly failures = new Map<number, number>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly result = deferred<DownloadResult>();
  private saving: Promise<void> | undefined;
  /** The way out once taken (commit, or stop and save): what stop() waits for. */
  private ending: Promise<void> | undefined;
  /** --verify-output: files being read back now, and the rounds that found bad pieces, per file. */
  private readonly outputChecks = new Set<number>();
  private readonly outputRounds = new Map<number, number>();
  /** Renames into place under way (a set renames each file as it completes). */
  private placing = 0;
  private lastAliveAt = performance.now();
  private lastTick = performance.now();
  private bytesReceived = 0;
  private readonly resumedBytes: number;
  /** Hash on arrival: plain TCP with verification on (TLS sockets cannot read into a ring). */
  private readonly streamHash: boolean;

  constructor(private readonly s: SessionInputs, private readonly log: Logger, private readonly events: DownloadEvents) {
    this.opts = s.opts;
    this.life = s.lifecycle;
    this.grid = s.layout;
    this.store = s.store;
    this.pm = new PieceMap(this.grid, s.done, s.partial);
    this.files = new SetFiles(this.grid, (p) => this.pm.isDone(p));
    this.resumedBytes = this.pm.doneBytes;
    this.streamHash = this.opts.verify && !this.opts.tls;
    const ids = ServerPool.workerIds(this.opts.servers.length, this.opts.connectionsPerServer);
    const pm = this.pm;
    this.sched = new Scheduler(this.grid, ids, (p) => !pm.isDone(p), { steal: this.opts.steal });
    this.jobs = new JobTable((p) => this.sched.holders(p));
    this.rates = new RateMeter(ids.length);
    this.verifier = new Verifier();
    this.pool = new ServerPool({
      servers: this.opts.servers, connectionsPerServer: this.opts.connectionsPerServer, excluded: s.excluded,
      file: s.requestNames[0], info: { ...s.layout.files[0], pieceSize: s.layout.pieceSize }, connection: () => this.connOptions(), traceContext: s.traceContext,
      sink: { onBody: this.onBody, onDone: this.onDone, onFailed: this.onFailed },
    }, this.sched, {
      active: () => this.life.active,
      ready: (w) => this.fill(w),
      capacityChanged: () => this.fillAll(),
      allGone: (err) => this.fail(err),
      newChannel: () => (this.streamHash ? this.verifier.channel(ringSizeFor(ids.length)) : undefined),
    }, events, log);
    // pieces an earlier run verified are hashed again before the rename (not with --no-verify)
    this.resumedCheck = new ResumedCheck(this.opts.verify ? s.unchecked : [], {
      check: (p) => this.readBack(p),
      bad: (p) => this.resumedPieceBad(p),
      finished: () => {
        if (this.resumedCheck.total > 0) this.log.info(`re-checked the ${this.resumedCheck.total} pieces kept from the earlier run: ${this.resumedCheck.badPieces} no longer matched and were fetched again`, { kept: this.resumedCheck.total, refetched: this.resumedCheck.badPieces });
        this.placeReadyFiles();
      },
      failed: (err) => this.fail(err),
    });
  }

  private connOptions(): ConnectionOptions {
    return { token: this.opts.token, tls: this.opts.tls, traceparent: this.opts.traceparent ?? context.with(this.s.traceContext, () => currentTraceparent()), connectTimeoutMs: this.opts.connectTimeoutMs, readBufferSize: this.opts.readBufferSize ?? 1 << 20 };
  }

  /** Starts the download; resolves when the verified file is in place, rejects when the run ends otherwise. */
  run(): Promise<DownloadResult> {
    if (this.resumedBytes > 0) this.events.resumed(this.resumedBytes);
    this.life.to('DOWNLOADING');
    // persist the plan at once: a kill before the first periodic save must not leave a part file
    // without state (which costs a full re-verification) nor lose a re-verification's result
    this.saveState().then(() => {
      if (!this.life.active) return;
      this.pool.start();
      this.timers.push(setInterval(() => this.tick(), 250));
      this.timers.push(setInterval(() => void this.saveState().catch((e: Error) => this.fail(e)), this.opts.stateIntervalMs));
      if (this.resumedCheck.total > 0) this.log.info(`re-checking ${this.resumedCheck.total} pieces kept from the earlier run before they are shipped`);
      // last: with nothing left to fetch, the check's end commits at once (and stops the timers above)
      this.resumedCheck.start();
      this.placeReadyFiles();
    }, (err: Error) => this.fail(err));
    return this.result.promise;
  }

  // ---------- handing out work ----------
  private depthFor(w: Worker): number {
    const median = this.sched.medianSpeed();
    const speed = this.rates.speed(w.id);
    if (speed > 0 && median > 0 && speed < 0.25 * median) return 1; // a slow server holds little
    return this.opts.pipeline;
  }

  private fillAll(): void {
    for (const w of this.pool.workers) this.fill(w);
  }

  private fill(w: Worker): void {
    if (this.life.phase !== 'DOWNLOADING' && this.life.phase !== 'STALLED') return;
    const conn = w.conn;
    if (!w.ready || !conn || conn.closed) return;
    const grid = this.grid;
    while (this.jobs.count(w.id) < this.depthFor(w)) {
      const a = this.sched.next(w.id);
      if (!a) break;
      const p = a.piece;
      if (a.reason === 'steal' || a.reason === 'hedge') this.events.reassignment(a.reason);
      const start = this.pm.haveBytes(p);
      const len = grid.length(p);
      if (start >= len) {
        // whole on disk already: a hedge of a piece being checked (or checked) has nothing to fetch.
        // Let go of it and stop here: asking again would hand out the same piece, for ever
        if (this.pm.isVerifying(p) || this.pm.isDone(p)) {
          this.sched.finished(p, w.id);
          break;
        }
        this.verifyPiece(p, w); // resumed whole: only its check is missing
        continue;
      }
      const file = grid.fileOf(p);
      const at = grid.offsetInFile(p, file);
      const job: Job = { piece: p, file, gen: this.pm.generation(p), start, written: 0, worker: w.id, cancelled: false, span: undefined, req: undefined, hash: undefined };
      if (w.channel) job.hash = { channel: w.channel, id: w.channel.begin(this.store.readPath(file), at, start) };
      if (w.span) job.span = startSpan(SPAN.request, { [SPAN_ATTR.server]: w.slot.addr.label, [SPAN_ATTR.serverId]: w.slot.serverId, [SPAN_ATTR.rangeStart]: at + start, [SPAN_ATTR.rangeLength]: len - start, [SPAN_ATTR.kind]: a.reason }, w.span);
      this.jobs.add(job);
      w.lastIssueAt = performance.now();
      job.req = conn.get(this.s.requestNames[file], at + start, len - start, job);
    }
  }

  private workerOf(job: Job): Worker {
    return this.pool.workers[job.worker];
  }

  // ---------- receive path (hot) ----------
  private readonly onBody = (req: GetRequest<Job>, buf: Buffer, start: number, end: number, pos: number): void => {
    const job = req.ctx;
    const n = end - start;
    const w = this.workerOf(job);
    this.rates.add(w.id, n);
    w.slot.bytes += n;
    this.bytesReceived += n;
    this.events.bytesReceived(w.slot.serverId, this.grid.segmentOf(job.piece, this.pool.slots.length), n);
    const pm = this.pm;
    // a piece under verification (or done, or reset) takes no more bytes: a hedged duplicate still
    // streaming must not change what the verifier reads or what was verified
    if (job.cancelled || !this.life.active || job.gen !== pm.generation(job.piece) || pm.isDone(job.piece) || pm.isVerifying(job.piece)) return;
    try {
      this.store.write(job.file, buf, start, end, pos);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    job.hash?.channel.data(job.hash.id, buf, start, end);
    this.jobs.wrote(job);
    const from = job.start + job.written;
    job.written += n;
    pm.advance(job.piece, job.gen, from, from + n);
  };

  private readonly onDone = (req: GetRequest<Job>): void => {
    const job = req.ctx;
    if (job.span) endSpan(job.span, job.cancelled ? 'cancelled' : 'ok', undefined, { [SPAN_ATTR.bytes]: req.received });
    const w = this.workerOf(job);
    this.jobs.remove(job);
    if (job.cancelled || this.pm.isDone(job.piece)) {
      this.dropHash(job);
      this.sched.finished(job.piece, w.id);
    } else if (this.pm.isWhole(job.piece)) {
      this.verifyPiece(job.piece, w, job);
    } else {
      this.dropHash(job);
      this.sched.release(job.piece, w.id); // bytes went stale (an attempt was reset meanwhile)
    }
    this.fill(w);
  };

  private readonly onFailed = (req: GetRequest<Job>, err: Error): void => {
    const job = req.ctx;
    this.dropHash(job);
    if (job.span) endSpan(job.span, job.cancelled ? 'cancelled' : 'error', job.cancelled ? undefined : err, { [SPAN_ATTR.bytes]: req.received });
    const w = this.workerOf(job);
    this.jobs.remove(job);
    if (job.cancelled || this.pm.isDone(job.piece)) {
      this.sched.finished(job.piece, w.id);
      return;
    }
    this.sched.release(job.piece, w.id);
    if (err instanceof RemoteError && w.conn && !w.conn.closed) {
      // a request-level refusal (draining, out of range): stop using this connection for now
      this.log.warn('server refused a request; moving its work elsewhere', { server: w.slot.addr.label, error: err.message });
      this.pool.abandon(w, new ConnectionError(err.message, 'error'));
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
    const pm = this.pm;
    if (!pm.beginVerify(p)) {
      // another copy is being checked (or passed): this worker holds the piece no more, so that a
      // failed check can hand it out again
      if (job) this.dropHash(job);
      this.sched.finished(p, w.id);
      return;
    }
    const digest = digestAt(this.grid.digests, p);
    const input = { verify: this.opts.verify, soleWriter: job !== undefined && this.jobs.soleWriter(p, job), generation: pm.generation(p), length: this.grid.length(p), job: job && { streaming: job.hash !== undefined, gen: job.gen, start: job.start, written: job.written } };
    const method = checkMethod(input);
    const sole = blameable(input);
    let check: Promise<boolean>;
    if (method === 'stream' && job?.hash) {
      check = job.hash.channel.end(job.hash.id, digest);
      job.hash = undefined;
    } else {
      if (job) this.dropHash(job);
      check = method === 'none' ? Promise.resolve(true) : this.readBack(p);
    }
    check.then((ok) => this.verified(p, w, ok, sole), (err: Error) => this.fail(err));
  }

  private verified(p: number, w: Worker, ok: boolean, blameable: boolean): void {
    if (!this.life.active) return;
    const others = this.jobs.ofPiece(p);
    for (const j of others) { j.cancelled = true; this.sched.finished(p, j.worker); }
    for (const j of others) this.resetIfOnlyCancelled(this.workerOf(j));
    this.jobs.clearPiece(p);
    if (ok) {
      this.pm.markDone(p);
      this.sched.completed(p);
      this.events.pieceVerified(w.slot.serverId);
      this.pieceDone(p);
    } else {
      this.pm.reset(p);
      const n = (this.failures.get(p) ?? 0) + 1;
      this.failures.set(p, n);
      this.events.pieceFailed(w.slot.serverId, 'digest');
      this.log.warn('piece failed verification; fetching it again from another server', { piece: p, server: w.slot.addr.label, failures: n });
      this.sched.release(p, w.id, true);
      if (n >= MAX_FAILURES_PER_PIECE) {
        this.fail(new MsdError('E_VERIFY', `piece ${p} failed verification ${n} times (last from ${w.slot.addr.label}); the servers' file may be changing or damaged`));
        return;
      }
      if (blameable) this.pool.blame(w.slot);
    }
    this.fillAll();
  }

  private resumedPieceBad(p: number): void {
    this.refetch(p);
    this.events.resumedPieceFailed();
    this.log.warn('a piece kept from the earlier run no longer matches its digest on disk; fetching it again', { piece: p });
    this.fillAll();
  }

  /** A piece counted as done does not match on disk: it goes back to be fetched. */
  private refetch(p: number): void {
    if (this.pm.isDone(p)) this.files.undone(p);
    this.pm.unmark(p);
    this.sched.requeue(p);
  }

  /** Piece p read back from its part file and checked against its digest. */
  private readBack(p: number): Promise<boolean> {
    const file = this.grid.fileOf(p);
    return this.verifier.verify(this.store.readPath(file), this.grid.offsetInFile(p, file), this.grid.length(p), digestAt(this.grid.digests, p));
  }

  /**
   * The protocol has no cancel: a cancelled request's bytes still arrive and hold the connection's
   * slots. When only cancelled work is left on a connection and much of it, closing and reopening the
   * connection is cheaper than draining it.
   */
  private resetIfOnlyCancelled(w: Worker): void {
    const mine = this.jobs.ofWorker(w.id);
    if (mine.size === 0) return;
    let left = 0;
    for (const j of mine) {
      if (!j.cancelled) return;
      left += j.req ? j.req.length - j.req.received : 0;
    }
    if (left >= RESET_AFTER_CANCEL_BYTES) this.pool.reset(w, `closed to drop ${left} bytes of cancelled duplicate work`);
  }

  // ---------- periodic ----------
  private tick(): void {
    const now = performance.now();
    this.rates.tick((now - this.lastTick) / 1000);
    this.lastTick = now;
    let alive = false;
    for (const w of this.pool.workers) {
      if (!w.ready) continue;
      alive = true;
      this.sched.setSpeed(w.id, Math.max(this.rates.speed(w.id), 1));
    }
    for (const { id, quietMs } of stalled(now, this.activity(), this.opts.stallTimeoutMs)) {
      const w = this.pool.workers[id];
      this.log.warn('server stalled; moving its work to the others', { server: w.slot.addr.label, worker: w.id, quietSeconds: Math.round(quietMs / 1000) });
      this.events.retry(w.slot.serverId, 'stall');
      this.pool.abandon(w, new ConnectionError(`${w.slot.addr.label}: no data for ${Math.round(quietMs / 1000)} s`, 'timeout'));
    }
    if (alive) this.lastAliveAt = now;
    const phase = this.life.phase;
    if (phase === 'DOWNLOADING' || phase === 'STALLED') this.life.to(alive ? 'DOWNLOADING' : 'STALLED');
    if (!alive && now - this.lastAliveAt > this.opts.giveUpAfterMs) {
      this.fail(new MsdError('E_UNREACHABLE', `no server reachable for ${Math.round(this.opts.giveUpAfterMs / 1000)} s; the partial file and its state are kept: run the same command again to resume`));
      return;
    }
    this.fillAll();
    this.life.changed();
  }

  private *activity(): Iterable<{ id: number; busy: boolean; lastActivityAt: number }> {
    for (const w of this.pool.workers) {
      if (w.ready && w.conn) yield { id: w.id, busy: this.jobs.count(w.id) > 0, lastActivityAt: Math.max(w.conn.lastByteAt, w.lastIssueAt) };
    }
  }

  private saveState(): Promise<void> {
    if (this.saving) return this.saving;
    this.saving = this.store.save(this.pm).finally(() => { this.saving = undefined; });
    return this.saving;
  }

  // ---------- control ----------
  pause(): void {
    if (this.life.phase === 'DOWNLOADING' || this.life.phase === 'STALLED') this.life.to('PAUSED');
  }

  resume(): void {
    if (this.life.phase === 'PAUSED') {
      this.life.to('DOWNLOADING');
      this.fillAll();
    }
  }

  /** Stops, saves the state, and rejects run() with `err`; resolves once the run has ended (a commit under way finishes). */
  async stop(err: MsdError): Promise<void> {
    this.fail(err);
    await this.ending;
  }

  // ---------- the end of a run ----------
  /** Ends the run without the file: stop everything, save the state, reject run(). Only while work is handed out. */
  private fail(err: Error): void {
    if (!this.life.active) return;
    this.life.to('STOPPING');
    const cancelled = err instanceof MsdError && err.code === 'E_CANCELLED';
    this.ending = this.shutdown().then(() => {
      this.life.to(cancelled ? 'CANCELLED' : 'FAILED');
      this.result.reject(err);
    });
  }

  /** Stops connections, timers and threads, saves the state, lets go of the lock. */
  private async shutdown(): Promise<void> {
    this.stopWork();
    if (this.saving) await this.saving.catch(() => undefined);
    // also when every piece is done (a stop during --verify-output, a failed rename): a rerun then
    // re-checks them instead of fetching them again
    await this.saveState().catch((e: Error) => this.log.error('could not save the resume state', { error: e.message }));
    await this.verifier.close();
    this.store.close();
    this.s.lock.release();
  }

  private stopWork(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.resumedCheck.stop();
    this.pool.close();
  }

  // ---------- files into place ----------
  private pieceDone(p: number): void {
    const file = this.files.done(p);
    if (file !== undefined) this.fileReady(file);
  }

  /** Files whose pieces are all verified, once the resumed pieces are checked (at the start, and when that check ends). */
  private placeReadyFiles(): void {
    for (const f of this.files.ready()) this.fileReady(f);
    this.maybeComplete();
  }

  /**
   * Every piece of file f is verified: read it back first with --verify-output, then put it into
   * place. Pieces kept from the earlier run are checked (ResumedCheck) before any file goes.
   */
  private fileReady(f: number): void {
    if (!this.resumedCheck.done || !this.files.isReady(f) || this.outputChecks.has(f) || !this.life.active) return;
    if (this.opts.verifyOutput && !this.files.readBack(f)) {
      this.outputChecks.add(f);
      void this.checkOutput(f).finally(() => {
        this.outputChecks.delete(f);
        this.fileReady(f);
      });
      return;
    }
    this.files.placing(f);
    this.placing++;
    this.store.fileComplete(f).then(() => {
      this.placing--;
      this.files.placed(f);
      this.maybeComplete();
    }, (err: Error) => { this.placing--; this.fail(err); });
  }

  /** Every file in place (or, for one file, ready for its rename): the end of the run. */
  private maybeComplete(): void {
    if (!this.pm.complete || !this.resumedCheck.done || !this.files.allPlaced || this.placing > 0) return;
    const phase = this.life.phase;
    if (phase !== 'DOWNLOADING' && phase !== 'STALLED' && phase !== 'PAUSED') return;
    this.life.to('COMMITTING');
    this.ending = this.commit().then((r) => {
      this.life.to('DONE');
      this.result.resolve(r);
    }, (err: Error) => {
      // the rename failed: the part file and its state stay for a rerun
      this.life.to('STOPPING');
      return this.shutdown().then(() => {
        this.life.to('FAILED');
        this.result.reject(err);
      });
    });
  }

  private async commit(): Promise<DownloadResult> {
    this.stopWork();
    if (this.saving) await this.saving.catch(() => undefined);
    await this.verifier.close();
    await this.store.finish();
    this.s.lock.release();
    return {
      path: this.store.outPath,
      size: this.grid.size,
      set: this.s.isSet,
      files: this.grid.files.length,
      seconds: (performance.now() - this.s.startedAt) / 1000,
      bytesReceived: this.bytesReceived,
      resumedBytes: this.resumedBytes,
      contentId: this.s.contentId.toString('hex'),
      outcome: 'downloaded',
    };
  }

  /** --verify-output: every piece of file f read back from its part file and checked; bad ones are fetched again. */
  private async checkOutput(f: number): Promise<void> {
    const file = this.grid.files[f];
    const { first } = this.grid.piecesOf(f);
    const grid = new PieceGrid(file.size, this.grid.pieceSize);
    let bad: number[];
    try {
      ({ bad } = await checkPieces(this.store.readPath(f), grid, file.digests));
    } catch (err) {
      this.fail(classify(err));
      return;
    }
    const where = this.grid.files.length > 1 ? ` of ${file.name}` : '';
    this.log.info(`--verify-output: read the part file${where} back, ${grid.count - bad.length} of ${grid.count} pieces match`, { bad: bad.length });
    if (bad.length === 0) {
      this.files.readBackDone(f);
      return;
    }
    const rounds = (this.outputRounds.get(f) ?? 0) + 1;
    this.outputRounds.set(f, rounds);
    if (rounds >= MAX_OUTPUT_CHECKS) {
      this.fail(new MsdError('E_VERIFY', `--verify-output found pieces that no longer match in the part file${where} ${MAX_OUTPUT_CHECKS} times (${bad.length} the last time); the disk may be damaging data`));
      return;
    }
    for (const k of bad) this.refetch(first + k);
    this.fillAll();
  }

  // ---------- views ----------
  /** Files with requests out now. */
  private inFlightFiles(): Set<number> {
    const files = new Set<number>();
    for (const w of this.pool.workers) for (const j of this.jobs.ofWorker(w.id)) if (!j.cancelled) files.add(j.file);
    return files;
  }

  progress(): ProgressView {
    const now = performance.now();
    return progressView({
      file: this.s.label, output: this.store.outPath, grid: this.grid, set: this.s.isSet ? this.files.progress(this.inFlightFiles(), (p) => (this.pm.isDone(p) ? this.grid.length(p) : this.pm.haveBytes(p))) : undefined, isDone: (p) => this.pm.isDone(p), doneBytes: this.pm.doneBytes,
      piecesDone: this.pm.done.count, bytesPerSecond: this.rates.rate, state: this.life.state, now, stallTimeoutMs: this.opts.stallTimeoutMs,
      servers: this.pool.slots.map((slot) => {
        const workers = this.pool.workersOf(slot);
        return {
          label: slot.addr.label, serverId: slot.serverId, bytes: slot.bytes, standing: slot.standing,
          bytesPerSecond: workers.reduce((a, w) => a + this.rates.speed(w.id), 0),
          connections: [...this.activity()].filter((c) => this.pool.workers[c.id].slot === slot),
        };
      }),
    });
  }
}

interface Deferred<T> { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void }

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}
