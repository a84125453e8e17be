/**
 * End to end with the real programs: 8 segment-servers (one process, 8 listeners, rate-limited
 * so the download lasts a few seconds) and a real fetcher, both with --metrics-port, scraped every
 * second by a real Prometheus; the fetcher pushes its outcome to a real Pushgateway and sends
 * traces (OTLP/HTTP JSON) to a receiver started here, as does the server. Then: every panel query
 * of the dashboard has data, a misspelling fails, the pushed outcome is in Prometheus, label sets
 * are bounded, the span tree is complete, and with tracing off nothing is exported.
 */
import { join } from 'node:path';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { makeTree } from '../helpers/served-directory';
import { FETCHER_BIN, freePorts, killAll, run, startServerSet, type ServerSet } from '../helpers/processes';
import { cardinality, FORBIDDEN_LABELS } from './support/cardinality';
import { checkPanelQueries, loadDashboard, resolveVariables, type Dashboard } from './support/dashboard-queries';
import { otelEnv } from './support/env';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver';
import { startPrometheus, type Prometheus } from './support/prometheus';
import { startPushgateway, type RunningPushgateway } from './support/pushgateway';

const SERVERS = 8;
const FILE_SIZE = 48 * 1024 * 1024;
const RATE = '1MiB'; // per server: 8 MiB/s together, about 6 s for the file
const DASHBOARD = join(__dirname, '..', '..', 'grafana', 'dashboard.json');
const INTERVALS = { rateInterval: '4s', interval: '1s', range: '5m' };

describe('dashboard, Pushgateway and traces with the real segment-server and fetcher', () => {
  let dir = '';
  let prom: Prometheus;
  let gateway: RunningPushgateway;
  let receiver: OtlpReceiver;
  let servers: ServerSet;
  let dashboard: Dashboard;
  let startSec = 0;
  let endSec = 0;
  let fetcherExit: { code: number | null; signal: NodeJS.Signals | null };
  let fetcherLog = '';
  let src = '';
  let out = '';

  beforeAll(async () => {
    dashboard = loadDashboard(DASHBOARD);
    dir = tempDir('msd-obs-');
    src = randomFile(join(dir, 'source.bin'), FILE_SIZE);
    out = join(dir, 'out.bin');
    receiver = await startOtlpReceiver();
    gateway = await startPushgateway();
    const [serverMetricsPort, fetcherMetricsPort] = await freePorts(2);
    const ns = { namespace: 'msd-test' };
    prom = await startPrometheus([
      { job: 'scrape-segment-server', targets: [`127.0.0.1:${serverMetricsPort}`], labels: ns },
      { job: 'scrape-fetcher', targets: [`127.0.0.1:${fetcherMetricsPort}`], labels: ns },
      { job: 'pushgateway', targets: [gateway.address], honorLabels: true, labels: { ...ns, source: 'pushgateway' } },
    ]);
    servers = await startServerSet(src, SERVERS, ['--rate-limit', RATE, '--metrics-port', String(serverMetricsPort), '--metrics-bind', '127.0.0.1'],
      otelEnv(receiver.endpoint));
    await prom.waitFor('up{job="scrape-segment-server"} == 1', undefined, 20000).catch((err: Error) => {
      throw new Error(`segment-server --metrics-port ${serverMetricsPort} is not scraped (is ServerMetrics wired into the program?): ${err.message}`);
    });
    startSec = Date.now() / 1000;
    const fetcher = run(FETCHER_BIN, [
      '-o', out, '-p', ...servers.ports.map(String), '--metrics-port', String(fetcherMetricsPort), '--metrics-bind', '127.0.0.1',
      '--pushgateway-url', gateway.url,
    ], { env: otelEnv(receiver.endpoint) });
    // The fetcher must be scraped while it runs.
    await prom.waitFor('msd_fetcher_received_bytes_total{job="scrape-fetcher"}', (v) => v > 0, 30000).catch((err: Error) => {
      throw new Error(`fetcher --metrics-port ${fetcherMetricsPort} had no bytes scraped during the download: ${err.message}\n${fetcher.stderr().slice(-2000)}`);
    });
    fetcherExit = await fetcher.exited;
    fetcherLog = fetcher.stderr();
    endSec = Date.now() / 1000;
    await prom.waitFor('msd_fetcher_state{source="pushgateway", state="done"}', (v) => v === 1, 15000);
  }, 120000);

  afterAll(async () => {
    await servers?.stop();
    killAll();
    await prom?.stop();
    await gateway?.stop();
    await receiver?.close();
    if (dir !== '') removeDir(dir);
  });

  it('downloads the file', () => {
    expect({ code: fetcherExit.code, log: fetcherExit.code === 0 ? '' : fetcherLog.slice(-2000) }).toEqual({ code: 0, log: '' });
    expect(sha256File(out)).toBe(sha256File(src));
  });

  it('has data for every panel query of the dashboard', async () => {
    const { vars, problems } = await resolveVariables(prom, dashboard, INTERVALS);
    expect(problems).toEqual([]);
    const checks = await checkPanelQueries(prom, dashboard, vars, startSec, endSec + 2);
    if (process.env.MSD_SHOW_CHECKS) process.stdout.write(`${checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.panel}/${c.refId}: ${c.detail}`).join('\n')}\n`);
    expect(checks.length).toBeGreaterThanOrEqual(20);
    expect(checks.filter((c) => !c.ok).map((c) => `${c.panel}/${c.refId}: ${c.detail}\n  ${c.expr}`)).toEqual([]);
  });

  it('fails the check when a metric name is misspelled', async () => {
    const broken = JSON.parse(JSON.stringify(dashboard).replace(/msd_server_sent_bytes_total/g, 'msd_server_send_bytes_total')) as Dashboard;
    const { vars } = await resolveVariables(prom, broken, INTERVALS);
    const failed = (await checkPanelQueries(prom, broken, vars, startSec, endSec + 2)).filter((c) => !c.ok).map((c) => c.panel);
    expect(failed).toEqual(['Bytes sent per server']);
  });

  it('counts a single-file download as a set of one file, complete at the end (the Files complete panel)', async () => {
    const files = await prom.query('max(msd_fetcher_set_files{source="pushgateway"})');
    const complete = await prom.query('max(msd_fetcher_set_files_complete{source="pushgateway"})');
    expect([Number(files[0]?.value?.[1]), Number(complete[0]?.value?.[1])]).toEqual([1, 1]);
  });

  it('has per-segment throughput for every segment', async () => {
    const series = await prom.queryRange('sum by (segment) (rate(msd_fetcher_received_bytes_total{job="scrape-fetcher"}[4s]))', startSec, endSec, 1);
    expect(series.map((s) => s.metric.segment).sort()).toEqual([...Array(SERVERS).keys()].map(String).sort());
    for (const s of series) expect(Math.max(...(s.values ?? []).map((v) => Number(v[1])))).toBeGreaterThan(0);
  });

  it('shows the pushed final outcome in Prometheus through the Pushgateway', async () => {
    const last = await prom.query('msd_fetcher_last_success_timestamp_seconds{source="pushgateway"}');
    expect(last).toHaveLength(1);
    expect(Number(last[0].value?.[1])).toBeGreaterThanOrEqual(Math.floor(startSec));
    const ratio = await prom.query('msd_fetcher_progress_ratio{source="pushgateway"}');
    expect(Number(ratio[0]?.value?.[1])).toBe(1);
    const bytes = await prom.query('sum(msd_fetcher_received_bytes_total{source="pushgateway"})');
    expect(Number(bytes[0]?.value?.[1])).toBeGreaterThanOrEqual(FILE_SIZE);
    // only the program's metrics are pushed, not the process metrics of a finished job
    expect(await prom.query('process_cpu_seconds_total{source="pushgateway", job!="pushgateway"}')).toEqual([]);
  });

  it(`keeps label sets bounded after a download with ${SERVERS} servers`, async () => {
    const { seriesByName, valuesByLabel } = await cardinality(prom);
    for (const l of FORBIDDEN_LABELS) expect(valuesByLabel[l]).toBeUndefined();
    expect(valuesByLabel.server_id.length).toBeLessThanOrEqual(SERVERS);
    expect(valuesByLabel.segment.length).toBeLessThanOrEqual(SERVERS + 1); // + '' (range requests) on the server side
    expect(valuesByLabel.reason.length).toBeLessThanOrEqual(17);
    const over = Object.entries(seriesByName).filter(([, n]) => n > 2 * SERVERS * 4 * 20);
    expect(over).toEqual([]);
  });

  it('exports one trace for the download with segment, request and server spans', async () => {
    const spans = await receiver.waitForSpans((s) => s.some((x) => x.name === 'fetcher.download') && s.some((x) => x.name === 'segment-server.request'), 20000);
    const downloads = spans.filter((s) => s.name === 'fetcher.download');
    expect(downloads).toHaveLength(1);
    const [download] = downloads;
    const inTrace = spans.filter((s) => s.traceId === download.traceId);
    const byId = new Map(inTrace.map((s) => [s.spanId, s] as [string, ReceivedSpan]));
    const segments = inTrace.filter((s) => s.name === 'fetcher.segment');
    const requests = inTrace.filter((s) => s.name === 'fetcher.request');
    const served = inTrace.filter((s) => s.name === 'segment-server.request' && s.service === 'segment-server');
    expect(segments.length).toBeGreaterThanOrEqual(SERVERS);
    expect(requests.length).toBeGreaterThanOrEqual(SERVERS);
    expect(served.length).toBeGreaterThanOrEqual(SERVERS);
    for (const s of segments) expect(s.parentSpanId).toBe(download.spanId);
    for (const r of requests) expect(byId.get(r.parentSpanId)?.name).toBe('fetcher.segment');
    // The traceparent travels in the connection handshake, so a server span continues the
    // fetcher span that was active when the connection was made (the download).
    for (const r of served) expect(byId.get(r.parentSpanId)?.service).toBe('fetcher');
    expect(served.filter((r) => r.attributes['msd.outcome'] === 'ok').length).toBeGreaterThanOrEqual(SERVERS);
    const ok = requests.filter((r) => r.attributes['msd.outcome'] === 'ok');
    expect(ok.length).toBeGreaterThanOrEqual(SERVERS);
    for (const r of ok) {
      expect(typeof r.attributes['msd.server.id']).toBe('number');
      expect(r.attributes['msd.range.length']).toBeGreaterThan(0);
      expect(r.attributes['msd.bytes']).toBeGreaterThan(0);
    }
    expect(new Set(ok.map((r) => r.attributes['msd.server.id'])).size).toBe(SERVERS);
  });

  it('counts the files of a directory download, pushed at the end (the Files row of the dashboard)', async () => {
    const tree = join(dir, 'tree');
    const names = makeTree(tree, { 'config.json': 300, 'weights/a.bin': 2 * 1024 * 1024 + 5, 'weights/b.bin': 1024 * 1024, 'tokenizer/vocab.txt': 77, 'empty.txt': 0 });
    const set = await startServerSet(tree, 2);
    try {
      const fetcher = run(FETCHER_BIN, ['-o', join(dir, 'tree.out'), '-p', ...set.ports.map(String), '--exclude', 'tokenizer/**', '--pushgateway-url', gateway.url]);
      expect((await fetcher.exited).code).toBe(0);
    } finally {
      await set.stop();
    }
    const kept = names.filter((n) => !n.startsWith('tokenizer/')).length; // 4, the 0-byte file included
    await prom.waitFor('msd_fetcher_set_files_complete{source="pushgateway"}', (v) => v === kept, 15000);
    const files = await prom.query('max(msd_fetcher_set_files{source="pushgateway"})');
    expect(Number(files[0]?.value?.[1])).toBe(kept);
  });

  it('exports nothing when OTEL_TRACES_EXPORTER=none, even with an endpoint set', async () => {
    const quiet = await startOtlpReceiver();
    const env = otelEnv(quiet.endpoint, { OTEL_TRACES_EXPORTER: 'none' });
    const small = randomFile(join(dir, 'small.bin'), 3 * 1024 * 1024);
    const set = await startServerSet(small, 2, [], env);
    try {
      const fetcher = run(FETCHER_BIN, ['-o', join(dir, 'small.out'), '-p', ...set.ports.map(String)], { env });
      expect((await fetcher.exited).code).toBe(0);
      await set.stop();
      await new Promise((r) => setTimeout(r, 500));
      expect(quiet.requests).toEqual([]);
    } finally {
      await set.stop();
      await quiet.close();
    }
  });
});
