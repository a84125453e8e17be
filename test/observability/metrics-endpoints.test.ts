/**
 * The metrics HTTP server and the Pushgateway pusher against real peers: HTTP clients, a real
 * Pushgateway (Debian package), and a port where nothing listens.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { MetricsPusher, createMetricsRegistry, pushToGateway, pushgatewayGroupUrl, startMetricsServer } from '../../services/common/src/observability';
import { FetcherMetrics } from '../../services/fetcher/src/metrics';
import { parseExposition, sampleValue } from './support/exposition';
import { startPushgateway, type RunningPushgateway } from './support/pushgateway';

describe('startMetricsServer', () => {
  it('serves GET /metrics on its own port, 404 elsewhere, 405 for other methods', async () => {
    const registry = createMetricsRegistry();
    const metrics = new FetcherMetrics(registry);
    metrics.bytesReceived(2, 2, 123);
    const server = await startMetricsServer(registry, { bind: '127.0.0.1', port: 0 });
    try {
      expect(server.port).toBeGreaterThan(0);
      const base = `http://127.0.0.1:${server.port}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      const samples = parseExposition(await res.text());
      expect(sampleValue(samples, 'msd_fetcher_received_bytes_total', { server_id: '2', segment: '2' })).toBe(123);
      expect((await fetch(`${base}/metrics?x=1`)).status).toBe(200);
      const notFound = await fetch(`${base}/`);
      expect(notFound.status).toBe(404);
      await notFound.arrayBuffer();
      const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
      expect(post.status).toBe(405);
      await post.arrayBuffer();
    } finally {
      await server.close();
    }
    await expect(fetch(`http://127.0.0.1:${server.port}/metrics`)).rejects.toThrow();
  });

  it('reports a port in use as an error', async () => {
    const registry = new Registry();
    const first = await startMetricsServer(registry, { bind: '127.0.0.1', port: 0 });
    try {
      await expect(startMetricsServer(registry, { bind: '127.0.0.1', port: first.port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});

describe('Pushgateway', () => {
  let gateway: RunningPushgateway;
  beforeAll(async () => { gateway = await startPushgateway(); });
  afterAll(async () => gateway.stop());

  async function groupSamples(job: string): Promise<ReturnType<typeof parseExposition>> {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    return parseExposition(text).filter((s) => s.labels.job === job);
  }

  it('encodes grouping keys, with base64 for slashes', () => {
    expect(pushgatewayGroupUrl('http://pg:9091/', 'msd-fetcher', 'pod-0')).toBe('http://pg:9091/metrics/job/msd-fetcher/instance/pod-0');
    expect(pushgatewayGroupUrl('http://pg:9091', 'a/b', 'x y')).toBe('http://pg:9091/metrics/job@base64/YS9i/instance/x%20y');
  });

  it('pushes only the program metrics; a success replaces the group, a failure keeps the last success', async () => {
    const job = `msd-fetcher-${process.pid}`;
    const warnings: string[] = [];
    const first = createMetricsRegistry();
    const m1 = new FetcherMetrics(first);
    m1.setProgress(100, 100, 0);
    m1.setFiles(12, 12);
    m1.setState('done');
    m1.success(1_700_000_000_000);
    m1.bytesReceived(0, 0, 100);
    const pusher1 = new MetricsPusher({ url: gateway.url, registry: first, job, instance: 'pod/0', namePrefix: 'msd_fetcher_', warn: (w) => warnings.push(w) });
    await pusher1.finish(true);
    let s = await groupSamples(job);
    expect(sampleValue(s, 'msd_fetcher_last_success_timestamp_seconds', { instance: 'pod/0' })).toBe(1_700_000_000);
    expect(sampleValue(s, 'msd_fetcher_state', { instance: 'pod/0', state: 'done' })).toBe(1);
    expect(sampleValue(s, 'msd_fetcher_received_bytes_total', { instance: 'pod/0', server_id: '0', segment: '0' })).toBe(100);
    expect(sampleValue(s, 'msd_fetcher_set_files_complete', { instance: 'pod/0' })).toBe(12);
    expect(s.some((x) => x.name.startsWith('process_') || x.name.startsWith('nodejs_'))).toBe(false);

    // The next run fails: its push must not erase the previous success timestamp.
    const second = createMetricsRegistry();
    const m2 = new FetcherMetrics(second);
    m2.setProgress(40, 100, 0);
    m2.setFiles(12, 5);
    m2.setState('failed');
    await new MetricsPusher({ url: gateway.url, registry: second, job, instance: 'pod/0', namePrefix: 'msd_fetcher_', warn: (w) => warnings.push(w) }).finish(false);
    s = await groupSamples(job);
    expect(sampleValue(s, 'msd_fetcher_last_success_timestamp_seconds', { instance: 'pod/0' })).toBe(1_700_000_000);
    expect(sampleValue(s, 'msd_fetcher_state', { instance: 'pod/0', state: 'failed' })).toBe(1);
    expect(sampleValue(s, 'msd_fetcher_state', { instance: 'pod/0', state: 'done' })).toBe(0);
    expect(sampleValue(s, 'msd_fetcher_progress_ratio', { instance: 'pod/0' })).toBe(0.4);
    // the failed run's file counts replace the success's: the group says where the set stands now
    expect(sampleValue(s, 'msd_fetcher_set_files', { instance: 'pod/0' })).toBe(12);
    expect(sampleValue(s, 'msd_fetcher_set_files_complete', { instance: 'pod/0' })).toBe(5);
    expect(warnings).toEqual([]);
  });

  it('never throws when the gateway is down or refuses, and warns once', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));

    const registry = createMetricsRegistry();
    new FetcherMetrics(registry);
    const warnings: string[] = [];
    const pusher = new MetricsPusher({ url: `http://127.0.0.1:${deadPort}`, registry, job: 'j', instance: 'i', warn: (w) => warnings.push(w), intervalSeconds: 0.05 });
    pusher.start();
    await new Promise((r) => setTimeout(r, 300));
    await pusher.finish(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/unreachable.*not affected/);

    // A real refusal: a metric whose type contradicts the same name in another group.
    const asGauge = new Registry();
    new Gauge({ name: 'msd_test_conflict', help: 'h', registers: [asGauge] }).set(1);
    expect(await pushToGateway(gateway.url, asGauge, { job: 'conflict', instance: 'a' })).toBeUndefined();
    const asCounter = new Registry();
    new Counter({ name: 'msd_test_conflict', help: 'h', registers: [asCounter] }).inc();
    expect(await pushToGateway(gateway.url, asCounter, { job: 'conflict', instance: 'b' })).toMatch(/answered 400/);
  });
});
