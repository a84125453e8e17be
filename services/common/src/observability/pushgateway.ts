/**
 * Pushing the fetcher's final outcome (and optional progress) to a Pushgateway, the Prometheus
 * advice for batch jobs. The HTTP side is prom-client's `Pushgateway`; this file adds what the
 * fetcher needs around it: a name filter, slash-safe grouping, one warning, no throwing.
 */
import { Pushgateway, Registry, type Metric } from 'prom-client';

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

/**
 * One grouping label as the Pushgateway reads it from the URL: `name/value`, or, for a value with
 * a `/` (or an empty one), its base64url form `name@base64/value`. prom-client percent-encodes
 * each part and the gateway decodes them before routing, so a plain `/` would split the path.
 */
function groupingPart(name: string, value: string): [string, string] {
  if (value === '' || value.includes('/')) {
    const encoded = Buffer.from(value, 'utf8').toString('base64url');
    return [`${name}@base64`, encoded === '' ? '=' : encoded];
  }
  return [name, value];
}

/** URL of the group `job`/`instance` under a Pushgateway base URL (what prom-client pushes to). */
export function pushgatewayGroupUrl(baseUrl: string, job: string, instance: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}/metrics/${[groupingPart('job', job), groupingPart('instance', instance)].map(([k, v]) => `${k}/${encodeURIComponent(v)}`).join('/')}`;
}

/** A registry holding only the metrics of `registry` whose name starts with `prefix` (the same metric objects). */
function onlyPrefixed(registry: Registry, prefix: string | undefined): Registry {
  if (prefix === undefined) return registry;
  const subset = new Registry();
  for (const metric of registry.getMetricsAsArray()) if (metric.name.startsWith(prefix)) subset.registerMetric(metric as unknown as Metric); // typed as its JSON form, but the metric itself
  return subset;
}

/**
 * Pushes the registry to a Pushgateway once, with prom-client's `Pushgateway`. Resolves to
 * `undefined` on success, or to a message saying what went wrong; it never throws or rejects.
 */
export async function pushToGateway(url: string, registry: Registry, options: PushOptions): Promise<string | undefined> {
  const target = pushgatewayGroupUrl(url, options.job, options.instance);
  if (options.job.includes('/')) return `Pushgateway ${target}: a job name with "/" cannot be pushed; name the job without one`;
  try {
    const gateway = new Pushgateway(url.replace(/\/+$/, ''), {
      timeout: options.timeoutMs ?? 5000,
      headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
    }, onlyPrefixed(registry, options.namePrefix));
    const [key, value] = groupingPart('instance', options.instance);
    const params = { jobName: options.job, groupings: { [key]: value } };
    await ((options.method ?? 'PUT') === 'PUT' ? gateway.push(params) : gateway.pushAdd(params));
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // prom-client's words for an answer: "push failed with status 400, <body>"
    const refused = /^push failed with status (\d+), ([\s\S]*)$/.exec(message);
    if (refused) return `Pushgateway ${target} answered ${refused[1]}: ${refused[2].trim().slice(0, 300)}`;
    return `Pushgateway ${target} unreachable: ${message}`;
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
