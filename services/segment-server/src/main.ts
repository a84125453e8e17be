/** segment-server entry: config → metrics, control, app → signals. Thin wiring only. */
import {
  createMetricsRegistry, ExitCode, Logger, MetricsServer, MsdError, reportFatal, resolveToken, runProgram, shutdownTracing,
  startMetricsServer, VERSION,
} from '@msd/common';
import { helpText, indexSettings, planListeners, readConfig, readTls, ServerConfig } from './config';
import { startSegmentServerControl, SegmentServerControl } from './control-service';
import { indexCommand } from './index-command';
import { ServerMetrics } from './metrics';
import { SegmentServerApp } from './server-app';

const PROGRAM = 'segment-server';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv[0] === 'index') return indexCommand(argv.slice(1), env).catch((err: unknown) => reportFatal(PROGRAM, err));
  return runProgram({ name: PROGRAM, readConfig, helpText, run: serve }, argv, env);
}

async function serve(c: ServerConfig, log: Logger): Promise<number> {
  let app: SegmentServerApp;
  let metricsServer: MetricsServer | undefined;
  let control: SegmentServerControl | undefined;
  const closeAll = async (): Promise<void> => {
    await control?.close(1000).catch(() => undefined);
    await metricsServer?.close().catch(() => undefined);
    await shutdownTracing().catch(() => undefined);
  };
  try {
    const plan = planListeners(c);
    const token = resolveToken(c.token, c.tokenFile);
    const tls = readTls(c);
    if (c.grpcTls && !tls) throw new MsdError('E_CONFIG', 'grpc-tls (--grpc-tls, MSD_GRPC_TLS) needs --tls-cert and --tls-key');
    const registry = createMetricsRegistry();
    const metrics = new ServerMetrics(registry, { version: VERSION });
    for (const l of plan.listeners) metrics.registerServer(l.serverId);
    app = new SegmentServerApp({
      file: c.file, pieceSize: c.pieceSize, indexing: indexSettings(c), listeners: plan.listeners, bind: c.bind, numServers: plan.numServers,
      token, rateLimit: c.rateLimit, handshakeTimeoutMs: c.handshakeTimeout * 1000, idleTimeoutMs: c.idleTimeout * 1000,
      maxConnections: c.maxConnections, maxConnectionsPerClient: c.maxConnectionsPerClient, maxInflight: c.maxInflight,
      tls,
    }, log, metrics);
    const sideBind = c.metricsBind || c.bind;
    if (c.metricsPort !== null) {
      metricsServer = await startMetricsServer(registry, { bind: sideBind, port: c.metricsPort });
      log.info('metrics listening', { port: metricsServer.port, bind: sideBind, path: '/metrics' });
    }
    if (c.grpcPort !== null) {
      // up before indexing, so probes see NOT_SERVING (not a refused port) while the file is hashed
      const firstId = plan.listeners[0].serverId;
      control = await startSegmentServerControl({ bind: sideBind, port: c.grpcPort, token, tls: c.grpcTls ? tls : undefined, target: app, onAuthFailure: () => metrics.authFailure(firstId, 'grpc') });
      log.info('grpc listening', { port: control.port, bind: sideBind });
      app.onReadyChange(() => control?.refreshHealth());
    }
    for (const l of plan.listeners) metrics.setIndexed(l.serverId, false);
    await app.start();
    const single = app.catalog?.single() ?? app.catalog?.list()[0];
    for (const l of plan.listeners) {
      metrics.setIndexed(l.serverId, true);
      if (single) metrics.setFile(l.serverId, single.index.size, single.index.grid.count);
    }
  } catch (err) {
    await closeAll();
    return reportFatal(PROGRAM, err, log);
  }
  app.startStatusLines(c.statusInterval);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string): void => {
      if (stopping) { log.warn('second signal: exiting now', { signal: why }); resolve(ExitCode.INTERRUPTED); return; }
      stopping = true;
      log.info('shutting down: draining running transfers', { reason: why, graceSeconds: c.shutdownTimeout });
      control?.refreshHealth();
      void app.stop(c.shutdownTimeout * 1000).then(closeAll).then(() => resolve(ExitCode.OK));
    };
    app.onIdleExit = () => stop('drained (exit when idle)');
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
