/** The test process environment without any OTEL_* variable, plus `extra`. */
export function envWithoutOtel(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_')) env[k] = v;
  return { ...env, ...extra };
}

/** Environment that sends traces as OTLP/HTTP JSON to `endpoint`, exporting batches quickly. */
export function otelEnv(endpoint: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return envWithoutOtel({
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    ...extra,
  });
}
