import type { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * OpenTelemetry tracing for one process, configured only by the standard `OTEL_*` variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
 * Off unless `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_TRACES_EXPORTER` (other than `none`) is set; when off the SDK is not even loaded and
 * the span helpers cost one boolean test. Only traces are set up: metrics go through
 * Prometheus, logs to stdout.
 */

let sdk: NodeSDK | undefined;
let shutdownPromise: Promise<void> | undefined;

/** Whether the environment asks for traces. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (exporters.length > 0) return !exporters.every((e) => e === 'none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/** True once `initTracing` started the SDK (and until `shutdownTracing`). */
export function tracingEnabled(): boolean {
  return sdk !== undefined && shutdownPromise === undefined;
}

function serviceNameFromEnv(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SERVICE_NAME?.trim()) return true;
  return /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
}

/**
 * Starts the SDK when the environment asks for it. Call first thing in the program (before the
 * data path is loaded). `serviceName` applies unless `OTEL_SERVICE_NAME` or
 * `OTEL_RESOURCE_ATTRIBUTES` name the service. Returns whether tracing is on.
 * Flushes on a natural exit and on SIGTERM; a program that calls `process.exit` must
 * `await shutdownTracing()` first.
 */
export function initTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (sdk !== undefined) return tracingEnabled();
  if (!tracingRequested(env)) return false;
  // Loaded only here: the SDK and its exporters cost tens of milliseconds to require.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { NodeSDK: Sdk } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  sdk = new Sdk({
    ...(serviceNameFromEnv(env) ? {} : { serviceName }),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  process.once('beforeExit', () => void shutdownTracing());
  process.once('SIGTERM', onSigterm);
  return true;
}

/**
 * Flushes and stops the SDK (at most `timeoutMs`, default 5 s, so a dead collector cannot hold up
 * an exit). Idempotent; resolves at once when tracing is off. Never rejects.
 */
export function shutdownTracing(timeoutMs = 5000): Promise<void> {
  if (sdk === undefined) return Promise.resolve();
  if (shutdownPromise === undefined) {
    const running = sdk;
    shutdownPromise = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      running.shutdown().then(
        () => { clearTimeout(timer); resolve(); },
        () => { clearTimeout(timer); resolve(); },
      );
    });
  }
  return shutdownPromise;
}

/**
 * SIGTERM: flush, then, if the program installed no SIGTERM handler of its own, end the way
 * Node ends on an unhandled SIGTERM (re-raise it with the default disposition). A program with
 * its own handler ends itself and should await `shutdownTracing()` before it exits.
 */
function onSigterm(): void {
  void shutdownTracing().then(() => {
    if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
  });
}
