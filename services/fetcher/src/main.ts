/** fetcher entry: config → download → progress → exit code. Thin wiring only. */
import { createLogger, ExitCode, formatBytes, formatRate, Logger, MsdError, resolveToken, VERSION } from '@msd/common';
import { helpText, readConfig, FetcherConfig } from './config';
import { Download, DownloadOptions } from './download';
import { noDownloadEvents } from './download-events';
import { progressLine, TerminalProgress } from './progress-display';
import { resolveServers } from './server-address';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let c: FetcherConfig;
  try {
    const parsed = readConfig(argv, env);
    if (parsed.help) { process.stdout.write(helpText()); return ExitCode.OK; }
    if (parsed.version) { process.stdout.write(`fetcher ${VERSION}\n`); return ExitCode.OK; }
    c = parsed.config;
  } catch (err) {
    return fatal(err);
  }
  const log = createLogger({ name: 'fetcher', format: c.logFormat, level: c.logLevel });
  let opts: DownloadOptions;
  try {
    opts = downloadOptions(c);
  } catch (err) {
    return fatal(err, log);
  }
  const download = new Download(opts, log, noDownloadEvents);
  const stopProgress = startProgress(download, c, log);
  let signalExit: number | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalExit !== undefined) return;
    signalExit = sig === 'SIGINT' ? ExitCode.INTERRUPTED : 143;
    log.warn(`${sig}: saving the resume state and stopping; run the same command again to resume`);
    void download.stop(new MsdError('E_CANCELLED', `interrupted by ${sig}; the partial file and its state are kept`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const r = await download.run();
    stopProgress();
    const rate = (r.size - r.resumedBytes) / Math.max(r.seconds, 1e-6);
    process.stdout.write(`fetched ${r.path}: ${r.size} bytes (${formatBytes(r.size)}) in ${r.seconds.toFixed(2)} s, ${formatRate(rate)}, every piece verified${opts.verify ? '' : ' (verification OFF)'}${r.resumedBytes ? `, ${formatBytes(r.resumedBytes)} resumed` : ''}; content ${r.contentId}\n`);
    log.info('download complete', { path: r.path, size: r.size, seconds: Number(r.seconds.toFixed(3)), bytesReceived: r.bytesReceived, resumedBytes: r.resumedBytes });
    return ExitCode.OK;
  } catch (err) {
    stopProgress();
    if (signalExit !== undefined) return signalExit;
    return fatal(err, log);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function downloadOptions(c: FetcherConfig): DownloadOptions {
  const servers = resolveServers(c.servers, c.serverIpAddress, c.ports);
  const range = (name: string, flag: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new MsdError('E_CONFIG', `invalid configuration: ${name} (${flag}): ${v} is not between ${lo} and ${hi}`);
  };
  range('connectionsPerServer', '--connections-per-server', c.connectionsPerServer, 1, 64);
  range('pipeline', '--pipeline', c.pipeline, 1, 64);
  if (c.stateInterval <= 0) throw new MsdError('E_CONFIG', 'invalid configuration: stateInterval (--state-interval): must be more than 0 seconds');
  return {
    servers,
    file: c.file,
    output: c.output,
    resume: c.resume,
    onBadState: c.onBadState,
    connectionsPerServer: c.connectionsPerServer,
    pipeline: c.pipeline,
    stateIntervalMs: c.stateInterval * 1000,
    stallTimeoutMs: c.stallTimeout * 1000,
    connectTimeoutMs: c.connectTimeout * 1000,
    giveUpAfterMs: c.giveUpAfter * 1000,
    steal: c.steal,
    verify: c.verify,
    token: resolveToken(c.token, c.tokenFile),
  };
}

function startProgress(d: Download, c: FetcherConfig, log: Logger): () => void {
  const tty = process.stderr.isTTY && (c.progress === 'auto' || c.progress === 'tty');
  if (c.progress === 'off' || c.metricInterval <= 0) return () => undefined;
  const term = tty ? new TerminalProgress(process.stderr) : undefined;
  const t = setInterval(() => {
    if (d.state === 'CONNECTING') return;
    const v = d.progress();
    if (term) term.draw(v);
    else log.info(progressLine(v), { bytesDone: v.bytesDone, size: v.size, bytesPerSecond: Math.round(v.bytesPerSecond), etaSeconds: Math.round(v.etaSeconds), state: v.state });
  }, c.metricInterval * 1000);
  t.unref();
  return () => {
    clearInterval(t);
    if (term && d.state !== 'CONNECTING') term.draw(d.progress());
  };
}

function fatal(err: unknown, log?: Logger): number {
  if (err instanceof MsdError) {
    if (log) log.error(err.message, { code: err.code });
    else process.stderr.write(`fetcher: error: ${err.message}\n`);
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  if (log) log.error(`internal error: ${msg}`, { code: 'E_INTERNAL', stack: (err as Error)?.stack });
  else process.stderr.write(`fetcher: internal error: ${msg}\n`);
  return ExitCode.INTERNAL;
}
