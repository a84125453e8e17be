/** fetcher entry: config → download → progress → exit code. Thin wiring only. */
import * as os from 'node:os';
import {
  ControlError, createMetricsRegistry, ExitCode, FetcherControlTarget, FetcherProgress, formatBytes, formatRate, Logger,
  MetricsPusher, MetricsServer, MsdError, reportFatal, resolveToken, runProgram, shutdownTracing, SPAN, SPAN_ATTR, startMetricsServer, VERSION,
  withSpan,
} from '@msd/common';
import { FetcherControl, startFetcherControl } from './control-service';
import { FetcherMetrics } from './metrics';
import { helpText, readConfig, readTls, FetcherConfig } from './config';
import { Download, DownloadOptions } from './download';
import { isFinal, type DownloadResult } from './model';
import { checkOutputLocation } from './part-file';
import { progressLine, TerminalProgress } from './progress-display';
import { resolveServers } from './server-address';

const PROGRAM = 'fetcher';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runProgram({ name: PROGRAM, readConfig, helpText, run: (c, log) => fetchFile(c, log, env) }, argv, env);
}

async function fetchFile(c: FetcherConfig, log: Logger, env: NodeJS.ProcessEnv): Promise<number> {
  let opts: DownloadOptions;
  try {
    opts = downloadOptions(c);
  } catch (err) {
    return fatal(err, log);
  }
  const registry = createMetricsRegistry();
  const metrics = new FetcherMetrics(registry, { version: VERSION });
  opts.servers.forEach((_s, i) => metrics.registerServer(i, i));
  const download = new Download(opts, log, metrics);
  let metricsServer: MetricsServer | undefined;
  let control: FetcherControl | undefined;
  const pusher = c.pushgatewayUrl
    ? new MetricsPusher({ url: c.pushgatewayUrl, registry, job: 'msd-fetcher', instance: env.HOSTNAME || os.hostname(), namePrefix: 'msd_fetcher_', warn: (m) => log.warn(m) })
    : undefined;
  try {
    if (c.metricsPort !== null) {
      metricsServer = await startMetricsServer(registry, { bind: c.metricsBind, port: c.metricsPort });
      log.info('metrics listening', { port: metricsServer.port, bind: c.metricsBind, path: '/metrics' });
    }
    if (c.grpcPort !== null) {
      control = await startFetcherControl({ bind: c.metricsBind, port: c.grpcPort, token: opts.token, target: controlTarget(download) });
      log.info('grpc listening', { port: control.port, bind: c.metricsBind });
    }
  } catch (err) {
    await metricsServer?.close().catch(() => undefined);
    return fatal(err, log);
  }
  const publish = (): void => {
    const v = download.progress();
    metrics.setProgress(v.bytesDone, v.size, v.etaSeconds > 0 ? v.etaSeconds : 0);
    metrics.setFiles(v.set?.files ?? 1, v.set?.filesComplete ?? (v.state === 'DONE' ? 1 : 0));
    metrics.setState(v.state.toLowerCase());
  };
  const metricsTimer = setInterval(publish, 1000);
  metricsTimer.unref();
  pusher?.start();
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
  const finishObservability = async (succeeded: boolean): Promise<void> => {
    clearInterval(metricsTimer);
    publish();
    await pusher?.finish(succeeded);
    await control?.close(500).catch(() => undefined);
    await metricsServer?.close().catch(() => undefined);
    await shutdownTracing().catch(() => undefined);
  };
  try {
    const r = await withSpan(SPAN.download, { [SPAN_ATTR.file]: opts.file || '(single)' }, async (span) => {
      const result = await download.run();
      span.setAttribute(SPAN_ATTR.fileSize, result.size);
      return result;
    });
    metrics.success();
    stopProgress();
    await finishObservability(true);
    process.stdout.write(`${resultLine(r, opts.verify)}\n`);
    log.info(r.outcome === 'already-complete' ? 'already complete' : 'download complete', { path: r.path, ...(r.set ? { files: r.files } : {}), size: r.size, seconds: Number(r.seconds.toFixed(3)), bytesReceived: r.bytesReceived, resumedBytes: r.resumedBytes, outcome: r.outcome });
    return ExitCode.OK;
  } catch (err) {
    stopProgress();
    await finishObservability(false);
    if (signalExit !== undefined) return signalExit;
    return fatal(err, log);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function downloadOptions(c: FetcherConfig): DownloadOptions {
  const servers = resolveServers(c.servers, c.serverIpAddress, c.ports);
  checkOutputLocation(c.output); // before any server is contacted
  return {
    servers,
    file: c.file,
    include: c.include,
    exclude: c.exclude,
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
    fsync: c.fsync,
    force: c.force,
    verifyOutput: c.verifyOutput,
    token: resolveToken(c.token, c.tokenFile),
    tls: readTls(c),
  };
}

/** The gRPC control service's view of a download. */
function controlTarget(d: Download): FetcherControlTarget {
  return {
    progress: (): FetcherProgress => d.progress(),
    pause: () => { refuseWhenFinal(d); d.pause(); },
    resume: () => { refuseWhenFinal(d); d.resume(); },
    cancel: () => { refuseWhenFinal(d); return d.stop(); },
    onChange: (f) => d.onChange(f),
  };
}

/** The one line on stdout that says how the run ended. */
export function resultLine(r: DownloadResult, verify: boolean): string {
  const files = r.set ? `${r.files} files, ` : '';
  if (r.outcome === 'already-complete') return `${r.path} is already complete: ${files}${r.size} bytes (${formatBytes(r.size)}), every piece checked against the servers' digests, nothing downloaded; content ${r.contentId}`;
  const rate = (r.size - r.resumedBytes) / Math.max(r.seconds, 1e-6);
  return `fetched ${r.path}: ${files}${r.size} bytes (${formatBytes(r.size)}) in ${r.seconds.toFixed(2)} s, ${formatRate(rate)}, every piece verified${verify ? '' : ' (verification OFF)'}${r.resumedBytes ? `, ${formatBytes(r.resumedBytes)} resumed and checked again` : ''}; content ${r.contentId}`;
}

function refuseWhenFinal(d: Download): void {
  if (isFinal(d.state)) {
    throw new ControlError('FAILED_PRECONDITION', `the download is already ${d.state.toLowerCase()}`);
  }
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
  return reportFatal(PROGRAM, err, log);
}
