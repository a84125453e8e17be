import type { Registry } from 'prom-client';

export interface PushOptions {
  /** Grouping key: job name (e.g. `msd-fetcher`). */
  job: string;
  /** Grouping key: instance (e.g. the pod or host name). */
  instance: string;
  /**
   * `PUT` (default) replaces the whole group with this registry's metrics, so a final outcome
   * never sits beside stale series; `POST` replaces only the metric names pushed. Nothing is ever
   * DELETEd: the group stays for dashboards after the job ends.
   */
  method?: 'PUT' | 'POST';
  /** Push only metrics whose name starts with this (e.g. `msd_fetcher_`); default all. */
  namePrefix?: string;
  /** Give up after this many milliseconds (default 5000). */
  timeoutMs?: number;
}

/** URL of the group `job`/`instance` under a Pushgateway base URL. */
export function pushgatewayGroupUrl(baseUrl: string, job: string, instance: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}/metrics/${groupingPart('job', job)}/${groupingPart('instance', instance)}`;
}

/** Label values with `/` (or empty) use the Pushgateway's base64url form `name@base64/value`. */
function groupingPart(name: string, value: string): string {
  if (value === '' || value.includes('/')) {
    const encoded = Buffer.from(value, 'utf8').toString('base64url');
    return `${name}@base64/${encoded === '' ? '=' : encoded}`;
  }
  return `${name}/${encodeURIComponent(value)}`;
}

/** The exposition text of the registry, restricted to names with `prefix` when given. */
async function exposition(registry: Registry, prefix: string | undefined): Promise<string> {
  if (prefix === undefined) return registry.metrics();
  const parts: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    if (metric.name.startsWith(prefix)) parts.push(await registry.getSingleMetricAsString(metric.name));
  }
  return `${parts.join('\n\n')}\n`;
}

/**
 * Pushes the registry to a Pushgateway once. Resolves to `undefined` on success, or to a message
 * saying what went wrong; it never throws or rejects.
 */
export async function pushToGateway(url: string, registry: Registry, options: PushOptions): Promise<string | undefined> {
  const target = pushgatewayGroupUrl(url, options.job, options.instance);
  try {
    const body = await exposition(registry, options.namePrefix);
    const res = await fetch(target, {
      method: options.method ?? 'PUT',
      headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    if (res.ok) {
      await res.arrayBuffer();
      return undefined;
    }
    const text = (await res.text()).trim().slice(0, 300);
    return `Pushgateway ${target} answered ${res.status}: ${text}`;
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `Pushgateway ${target} unreachable: ${err instanceof Error ? err.message : String(err)}${cause}`;
  }
}

export interface MetricsPusherOptions extends PushOptions {
  url: string;
  registry: Registry;
  /** Called with the first failure only (a down Pushgateway must not flood the log). */
  warn: (message: string) => void;
  /** Seconds between periodic pushes by `start()` (default 0: only `finish()` pushes). */
  intervalSeconds?: number;
}

/**
 * The fetcher's pushes: optional periodic progress, and the final outcome. Failures are warned
 * about once and never fail the download.
 */
export class MetricsPusher {
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly options: MetricsPusherOptions) {}

  /** Starts periodic progress pushes when `intervalSeconds` > 0 (the timer never keeps the process alive). */
  start(): void {
    const seconds = this.options.intervalSeconds ?? 0;
    if (seconds <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.push('POST'), seconds * 1000);
    this.timer.unref();
  }

  /**
   * One push now; resolves when done (never rejects). Pushes never overlap. `POST` (default)
   * replaces the pushed metric names only, `PUT` the whole group.
   */
  push(method: 'PUT' | 'POST' = 'POST'): Promise<void> {
    this.inFlight = this.inFlight.then(async () => {
      const problem = await pushToGateway(this.options.url, this.options.registry, { ...this.options, method });
      if (problem !== undefined && !this.warned) {
        this.warned = true;
        this.options.warn(`${problem} (metrics not pushed; the download is not affected; further failures are not logged)`);
      }
    });
    return this.inFlight;
  }

  /**
   * Stops periodic pushes and pushes the final outcome. After a success the group is replaced
   * (`PUT`): everything in it is this run's. After a failure only the pushed names are replaced
   * (`POST`), so the previous run's `last_success_timestamp_seconds` (absent from a failed run's
   * registry) stays for dashboards and alerts.
   */
  finish(succeeded: boolean): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    return this.push(succeeded ? 'PUT' : 'POST');
  }
}
