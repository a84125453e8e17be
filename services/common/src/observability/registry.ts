import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A fresh registry for one process with the default process and Node.js metrics on it
 * (`process_*`, `nodejs_*`). Never the prom-client global registry.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
