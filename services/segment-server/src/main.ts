/** segment-server entry: config → app → signals. Thin wiring only. */
import { createLogger, ExitCode, MsdError, resolveToken, VERSION } from '@msd/common';
import { helpText, planListeners, readConfig } from './config';
import { SegmentServerApp } from './server-app';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = readConfig(argv, env);
  } catch (err) {
    return reportFatal(err);
  }
  if (parsed.help) { process.stdout.write(helpText()); return ExitCode.OK; }
  if (parsed.version) { process.stdout.write(`segment-server ${VERSION}\n`); return ExitCode.OK; }
  const c = parsed.config;
  const log = createLogger({ name: 'segment-server', format: c.logFormat, level: c.logLevel });
  let app: SegmentServerApp;
  try {
    const plan = planListeners(c);
    const token = resolveToken(c.token, c.tokenFile);
    app = new SegmentServerApp({
      file: c.file, pieceSize: c.pieceSize, listeners: plan.listeners, bind: c.bind, numServers: plan.numServers,
      token, rateLimit: c.rateLimit, handshakeTimeoutMs: c.handshakeTimeout * 1000,
    }, log);
    await app.start();
  } catch (err) {
    return reportFatal(err, log);
  }
  app.startStatusLines(c.statusInterval);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) { log.warn('second signal: exiting now', { signal }); resolve(ExitCode.INTERRUPTED); return; }
      stopping = true;
      log.info('shutting down: draining running transfers', { signal, graceSeconds: c.shutdownTimeout });
      void app.stop(c.shutdownTimeout * 1000).then(() => resolve(ExitCode.OK));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

function reportFatal(err: unknown, log?: { error(m: string, f?: Record<string, unknown>): void }): number {
  if (err instanceof MsdError) {
    if (log) log.error(err.message, { code: err.code });
    else process.stderr.write(`segment-server: error: ${err.message}\n`);
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES' || e?.code === 'EADDRNOTAVAIL') {
    const text = `cannot listen: ${msg}; choose another port (-p/--port) or address (--bind)`;
    if (log) log.error(text, { code: 'E_CONFIG' }); else process.stderr.write(`segment-server: error: ${text}\n`);
    return ExitCode.USAGE;
  }
  if (log) log.error(`internal error: ${msg}`, { code: 'E_INTERNAL', stack: (err as Error)?.stack });
  else process.stderr.write(`segment-server: internal error: ${msg}\n`);
  return ExitCode.INTERNAL;
}
