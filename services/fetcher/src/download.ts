/**
 * One download, in two steps. First what must be known before a byte is fetched: what the servers
 * serve (discovery: one file, or the files of a directory), the output's lock, what is already
 * there (a complete output finishes here), and what an earlier attempt left (the resume plan).
 * Then a DownloadSession, built whole from those, does the download. The lifecycle spans both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { currentTraceparent, FileInfo, Logger, MsdError } from '@msd/common';
import { context } from '@opentelemetry/api';
import { discover, type Discovered } from './discovery';
import type { DownloadEvents } from './download-events';
import type { DownloadOptions } from './download-options';
import { DownloadSession, type SessionInputs } from './download-session';
import { inspectOutput } from './existing-output';
import { Lifecycle } from './lifecycle';
import type { DownloadResult, DownloadState, ProgressView } from './model';
import { OutputLock } from './output-lock';
import { checkOutputLocation, resolveOutputPath } from './part-file';
import { planResume } from './resume-plan';
import { SetLayout } from './set-layout';
import { SET_FILE_BASE } from './set-names';
import type { DiscoveredSet } from './set-discovery';
import { planSet } from './set-plan';
import { SingleFileStore } from './single-file-store';

export type { DownloadOptions } from './download-options';

/** What is known of the source once discovery is done, for progress before the session exists. */
interface SourceView { name: string; size: number; pieces: number; outPath: string }

/** The session's inputs that every kind of download has the same. */
type CommonInputs = Pick<SessionInputs, 'opts' | 'excluded' | 'lifecycle' | 'traceContext' | 'startedAt'>;

export class Download {
  private readonly life = new Lifecycle();
  private readonly abort = new AbortController();
  private readonly startedAt = performance.now();
  /** Exists once discovery and the resume plan are done. */
  private session: DownloadSession | undefined;
  private source: SourceView | undefined;
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
      // an output known to be one file before any server is asked (--file given, or -o names an
      // existing file) is locked first: a second fetcher stops at once
      const outIsDir = checkOutputLocation(this.opts.output);
      const early = !outIsDir && (this.opts.file !== '' || fs.existsSync(this.opts.output)) ? resolveOutputPath(this.opts.output, '') : undefined;
      if (early) lock = OutputLock.acquire(early);
      const found = await discover(this.opts.servers, this.opts.file, { include: this.opts.include, exclude: this.opts.exclude }, connection, this.log, this.opts.giveUpAfterMs, this.abort.signal);
      const common: CommonInputs = { opts: this.opts, excluded: found.excluded, lifecycle: this.life, traceContext, startedAt: this.startedAt };
      if (found.source.kind === 'set') {
        if (lock) throw new MsdError('E_USAGE', `the servers serve a directory, and output_location (-o, MSD_OUTPUT) ${this.opts.output} is a file; give a directory to fetch the set into, or choose one file with --file`);
        return await this.startSet(found.source, found, common);
      }
      const info = found.source.info;
      const outPath = early ?? resolveOutputPath(this.opts.output, info.name);
      const owned = lock ?? OutputLock.acquire(outPath);
      lock = undefined; // startFile owns it now
      return await this.startFile(info, outPath, found, common, owned);
    } catch (err) {
      lock?.release();
      if (this.life.active) {
        this.life.to('STOPPING');
        this.life.to(err instanceof MsdError && err.code === 'E_CANCELLED' ? 'CANCELLED' : 'FAILED');
      }
      throw err;
    }
  }

  /** One file: what is under its name, the resume plan beside it, then the session. Owns `lock` from here. */
  private async startFile(info: FileInfo, outPath: string, found: Discovered, common: CommonInputs, lock: OutputLock): Promise<DownloadResult> {
    const layout = new SetLayout([{ name: info.name, size: info.size, contentId: info.contentId, digests: info.digests }], info.pieceSize);
    this.source = { name: info.name, size: info.size, pieces: layout.count, outPath };
    this.log.info('source', { file: info.name, size: info.size, pieces: layout.count, pieceSize: info.pieceSize, contentId: info.contentId.toString('hex'), servers: found.answered, output: outPath });
    try {
      if (!this.opts.force) {
        const existing = await inspectOutput(outPath, info, layout, this.abort.signal);
        if (existing.kind === 'complete') {
          if (fs.existsSync(`${outPath}.part`)) this.log.warn(`an earlier partial download ${outPath}.part is left as it was; the complete file makes it useless: delete it (and its .state) to free the space`, { part: `${outPath}.part` });
          this.log.info(`${outPath} is already complete: all ${layout.count} pieces match the servers' content ${info.contentId.toString('hex').slice(0, 16)}; nothing to download`, { path: outPath, bytesReceived: 0 });
          lock.release();
          return this.alreadyComplete(outPath, layout, info.contentId, false);
        }
        if (existing.kind === 'differs') this.log.warn(`${outPath} exists but ${existing.why}; it stays in place until a new, verified download replaces it`, { path: outPath });
      } else if (fs.existsSync(outPath)) {
        this.log.info(`--force: downloading again; ${outPath} stays in place until the new download is verified`, { path: outPath });
      }
      this.throwIfAborted();
      const plan = await planResume({ outPath, info, grid: layout, resume: this.opts.resume, policy: this.opts.onBadState, log: this.log, signal: this.abort.signal });
      if (this.abort.signal.aborted) {
        plan.part.close();
        this.throwIfAborted();
      }
      const unchecked: number[] = [];
      if (!plan.checked) for (let p = 0; p < layout.count; p++) if (plan.done.has(p)) unchecked.push(p);
      return await this.runSession({
        ...common, layout, label: info.name, isSet: false, requestNames: [this.opts.file], contentId: info.contentId,
        store: new SingleFileStore(plan.part, plan.store, info, this.opts.fsync), done: plan.done, partial: plan.partial, unchecked, lock,
      });
    } catch (err) {
      if (!this.session) lock.release();
      throw err;
    }
  }

  /** A directory: its files below the output directory, one lock and one state for the set. */
  private async startSet(set: DiscoveredSet, found: Discovered, common: CommonInputs): Promise<DownloadResult> {
    const dir = setDirectory(this.opts.output);
    const layout = new SetLayout(set.files, set.pieceSize);
    this.source = { name: '', size: layout.size, pieces: layout.count, outPath: dir };
    this.log.info('source', { files: layout.files.length, listed: set.listed, size: layout.size, pieces: layout.count, pieceSize: set.pieceSize, contentId: layout.identity().toString('hex'), servers: found.answered, output: dir });
    const lock = OutputLock.acquire(path.join(dir, SET_FILE_BASE));
    try {
      const plan = await planSet({ dir, layout, resume: this.opts.resume, policy: this.opts.onBadState, force: this.opts.force, fsync: this.opts.fsync, log: this.log, signal: this.abort.signal });
      this.throwIfAborted();
      if (plan.placed.every(Boolean)) {
        await plan.store.finish(); // a state left by a run killed after its last rename goes too
        this.log.info(`${dir} is already complete: all ${layout.files.length} files match what the servers serve; nothing to download`, { path: dir, files: layout.files.length, bytesReceived: 0 });
        lock.release();
        return this.alreadyComplete(dir, layout, layout.identity(), true);
      }
      return await this.runSession({
        ...common, layout, label: '', isSet: true, requestNames: layout.files.map((f) => f.name), contentId: layout.identity(),
        store: plan.store, done: plan.done, partial: plan.partial, unchecked: plan.unchecked, lock,
      });
    } catch (err) {
      if (!this.session) lock.release();
      throw err;
    }
  }

  private runSession(inputs: SessionInputs): Promise<DownloadResult> {
    this.session = new DownloadSession(inputs, this.log, this.events);
    return this.session.run();
  }

  private alreadyComplete(outPath: string, layout: SetLayout, contentId: Buffer, set: boolean): DownloadResult {
    this.life.to('COMMITTING');
    this.life.to('DONE');
    return { path: outPath, size: layout.size, set, files: layout.files.length, seconds: (performance.now() - this.startedAt) / 1000, bytesReceived: 0, resumedBytes: layout.size, contentId: contentId.toString('hex'), outcome: 'already-complete' };
  }

  private throwIfAborted(): void {
    if (this.abort.signal.aborted) throw this.abort.signal.reason as Error;
  }

  progress(): ProgressView {
    if (this.session) return this.session.progress();
    const src = this.source;
    return {
      file: src?.name ?? this.opts.file, output: src?.outPath ?? '', size: src?.size ?? 0, bytesDone: 0, piecesDone: 0,
      pieces: src?.pieces ?? 0, bytesPerSecond: 0, etaSeconds: -1, state: this.life.state, segments: [], servers: [],
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

/**
 * The directory a set goes into: -o as given, created when its parent exists (checked before any
 * server was asked). A regular file there is a mistake, never overwritten.
 */
function setDirectory(output: string): string {
  const dir = path.resolve(output);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new MsdError('E_IO', `cannot create the output directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  if (!fs.statSync(dir).isDirectory()) throw new MsdError('E_USAGE', `output_location (-o, MSD_OUTPUT): ${dir} is a file, but the servers serve a directory; give a directory to fetch the set into, or choose one file with --file`);
  return dir;
}
