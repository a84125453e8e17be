import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnProcess, type Proc } from '../../helpers/processes';

export interface ScrapeJob {
  job: string;
  targets: string[];
  /** Keep the job/instance labels of scraped series (for the Pushgateway). */
  honorLabels?: boolean;
  /** Target labels added to every series (e.g. a namespace, as Kubernetes discovery would). */
  labels?: Record<string, string>;
}

export interface PromSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}

export interface Prometheus {
  readonly url: string;
  query(expr: string): Promise<PromSeries[]>;
  queryRange(expr: string, startSec: number, endSec: number, stepSec: number): Promise<PromSeries[]>;
  labelValues(label: string, match: string): Promise<string[]>;
  /** Polls `expr` until it returns at least one series with a value accepted by `accept`. */
  waitFor(expr: string, accept?: (value: number) => boolean, timeoutMs?: number): Promise<PromSeries[]>;
  stop(): Promise<void>;
}

/** Real Prometheus (Debian package) on 127.0.0.1, scratch config and data dir, 1 s scrapes. */
export async function startPrometheus(jobs: ScrapeJob[]): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'msd-prom-'));
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 900ms',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    ...jobs.flatMap((j) => [
      `  - job_name: ${JSON.stringify(j.job)}`,
      `    honor_labels: ${j.honorLabels === true}`,
      '    static_configs:',
      `      - targets: ${JSON.stringify(j.targets)}`,
      ...(j.labels === undefined ? [] : [`        labels: ${JSON.stringify(j.labels)}`]),
    ]),
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), `${config}\n`);
  let child: Proc | undefined;
  let url = '';
  for (let attempt = 0; attempt < 3 && child === undefined; attempt++) {
    const port = await freePort();
    const c = spawnProcess('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ]);
    url = `http://127.0.0.1:${port}`;
    if (await ready(`${url}/-/ready`, c)) child = c;
    else await c.stop('SIGKILL');
  }
  if (child === undefined) throw new Error('prometheus did not start');
  const running = child;

  async function api<T>(path: string, params: Record<string, string>): Promise<T> {
    const res = await fetch(`${url}${path}`, { method: 'POST', body: new URLSearchParams(params) });
    const body = (await res.json()) as PromResponse<T>;
    if (body.status !== 'success') throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  const prom: Prometheus = {
    url,
    async query(expr) {
      const data = await api<{ resultType: string; result: PromSeries[] }>('/api/v1/query', { query: expr });
      return data.resultType === 'vector' || data.resultType === 'matrix' ? data.result : [];
    },
    async queryRange(expr, startSec, endSec, stepSec) {
      const data = await api<{ result: PromSeries[] }>('/api/v1/query_range', {
        query: expr, start: String(startSec), end: String(endSec), step: String(stepSec),
      });
      return data.result;
    },
    async labelValues(label, match) {
      const res = await fetch(`${url}/api/v1/label/${encodeURIComponent(label)}/values?${new URLSearchParams({ 'match[]': match })}`);
      const body = (await res.json()) as PromResponse<string[]>;
      if (body.status !== 'success') throw new Error(`prometheus label values ${label} ${match}: ${body.error}`);
      return body.data;
    },
    async waitFor(expr, accept = () => true, timeoutMs = 20000) {
      const deadline = Date.now() + timeoutMs;
      let last: PromSeries[] = [];
      while (Date.now() < deadline) {
        last = await prom.query(expr);
        if (last.some((s) => s.value !== undefined && accept(Number(s.value[1])))) return last;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`prometheus: ${expr} never matched within ${timeoutMs} ms; last result ${JSON.stringify(last)}`);
    },
    async stop() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return prom;
}

/** Polls a readiness URL until 200, the process exits, or 10 s pass. */
export async function ready(url: string, child: Proc, timeoutMs = 10000): Promise<boolean> {
  let exited = false;
  void child.exited.then(() => { exited = true; });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
