/**
 * One download, in two steps. First what must be known before a byte is fetched: what the servers
 * serve (discovery), the output's lock, what is already there (a complete output finishes here),
 * and what an earlier attempt left (the resume plan). Then a DownloadSession, built whole from
 * those, does the download. The lifecycle spans both steps.
 */
import * as fs from 'node:fs';
import { currentTraceparent, FileInfo, Logger, MsdError, PieceGrid } from '@msd/common';
import { context } from '@opentelemetry/api';
import { discover } from './discovery';
import type { DownloadEvents } from './download-events';
import type { DownloadOptions } from './download-options';
import { DownloadSession } from './download-session';
import { inspectOutput } from './existing-output';
import { Lifecycle } from './lifecycle';
import type { DownloadResult, DownloadState, ProgressView } from './model';
import { OutputLock } from './output-lock';
import { checkOutputLocation, resolveOutputPath } from './part-file';
import { planResume } from './resume-plan';

export type { DownloadOptions } from './download-options';

export class Download {
  private readonly life = new Lifecycle();
  private readonly abort = new AbortController();
  private readonly startedAt = performance.now();
  /** Exists once discovery and the resume plan are done. */
  private session: DownloadSession | undefined;
  private source: { info: FileInfo; outPath: string } | undefined;
  private running: Promise<DownloadResult> | undefined;

  constructor(private readonly opts: DownloadOptions, private readonly log: Logger, private readonly events: DownloadEvents) {}

  get state(): DownloadState {
    return this.life.state;
  }

  onChange(f: () => void): () => void {
    return this.life.onChange(f);
  }

  run(): Promise<DownloadResult> {
    this.running ??= this.start();
    return this.running;
  }

  private async start(): Promise<DownloadResult> {
    let lock: OutputLock | undefined;
    try {
      const traceContext = context.active();
      const traceparent = this.opts.traceparent ?? context.with(traceContext, () => currentTraceparent());
      const connection = { token: this.opts.token, tls: this.opts.tls, traceparent, connectTimeoutMs: this.opts.connectTimeoutMs, readBufferSize: 64 << 10 };
      // a file output is known before any server is asked: a second fetcher stops at once
      const early = checkOutputLocation(this.opts.output) ? undefined : resolveOutputPath(this.opts.output, '');
      if (early) lock = OutputLock.acquire(early);
      const found = await discover(this.opts.servers, this.opts.file, connection, this.log, this.opts.giveUpAfterMs, this.abort.signal);
      const info = found.info;
      const grid = new PieceGrid(info.size, info.pieceSize);
      const outPath = early ?? resolveOutputPath(this.opts.output, info.name);
      this.source = { info, outPath };
      this.log.info('source', { file: info.name, size: info.size, pieces: grid.count, pieceSize: info.pieceSize, contentId: info.contentId.toString('hex'), servers: found.answered, output: outPath });
      lock ??= OutputLock.acquire(outPath);

      if (!this.opts.force) {
        const existing = await inspectOutput(outPath, info, grid, this.abort.signal);
        if (existing.kind === 'complete') {
          if (fs.existsSync(`${outPath}.part`)) this.log.warn(`an earlier partial download ${outPath}.part is left as it was; the complete file makes it useless: delete it (and its .state) to free the space`, { part: `${outPath}.part` });
          this.log.info(`${outPath} is already complete: all ${grid.count} pieces match the servers' content ${info.contentId.toString('hex').slice(0, 16)}; nothing to download`, { path: outPath, bytesReceived: 0 });
          lock.release();
          this.life.to('COMMITTING');
          this.life.to('DONE');
          return { path: outPath, size: info.size, seconds: (performance.now() - this.startedAt) / 1000, bytesReceived: 0, resumedBytes: info.size, contentId: info.contentId.toString('hex'), outcome: 'already-complete' };
        }
        if (existing.kind === 'differs') this.log.warn(`${outPath} exists but ${existing.why}; it stays in place until a new, verified download replaces it`, { path: outPath });
      } else if (fs.existsSync(outPath)) {
        this.log.info(`--force: downloading again; ${outPath} stays in place until the new download is verified`, { path: outPath });
      }
      if (this.abort.signal.aborted) throw this.abort.signal.reason as Error;

      const plan = await planResume({ outPath, info, grid, resume: this.opts.resume, policy: this.opts.onBadState, log: this.log, signal: this.abort.signal });
      if (this.abort.signal.aborted) {
        plan.part.close();
        throw this.abort.signal.reason as Error;
      }
      this.session = new DownloadSession({ opts: this.opts, info, grid, outPath, plan, excluded: found.excluded, lock, lifecycle: this.life, traceContext, startedAt: this.startedAt }, this.log, this.events);
      lock = undefined; // the session owns it now
      return await this.session.run();
    } catch (err) {
      lock?.release();
      if (this.life.active) {
        this.life.to('STOPPING');
        this.life.to(err instanceof MsdError && err.code === 'E_CANCELLED' ? 'CANCELLED' : 'FAILED');
      }
      throw err;
    }
  }

  progress(): ProgressView {
    if (this.session) return this.session.progress();
    const info = this.source?.info;
    return {
      file: info?.name ?? this.opts.file, output: this.source?.outPath ?? '', size: info?.size ?? 0, bytesDone: 0, piecesDone: 0,
      pieces: info?.pieceCount ?? 0, bytesPerSecond: 0, etaSeconds: -1, state: this.life.state, segments: [], servers: [],
    };
  }

  pause(): void {
    this.session?.pause();
  }

  resume(): void {
    this.session?.resume();
  }

  /** Stops, saves the state, and makes run() reject with `err` (E_CANCELLED by default). */
  async stop(err: MsdError = new MsdError('E_CANCELLED', 'download cancelled; the partial file and its state are kept: run the same command again to resume')): Promise<void> {
    if (this.session) {
      await this.session.stop(err);
      return;
    }
    this.abort.abort(err);
    await this.running?.catch(() => undefined);
  }

  get outputPath(): string {
    return this.source?.outPath ?? '';
  }
}
