/**
 * The Grafana dashboard against a real Prometheus (Debian package) scraping the metric classes
 * of both programs (served by the real metrics HTTP server, driven as a download with 8 servers
 * would drive them) and a real Pushgateway holding the fetcher's pushed final outcome.
 * Every panel query must return data; a misspelled metric must fail the check.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { MetricsPusher, createMetricsRegistry, startMetricsServer, type MetricsServer } from '../../services/common/src/observability';
import { ServerMetrics } from '../../services/segment-server/src/metrics';
import { FetcherMetrics } from '../../services/fetcher/src/metrics';
import { cardinality, FORBIDDEN_LABELS } from './support/cardinality';
import { checkPanelQueries, loadDashboard, panelQueries, resolveVariables, type Dashboard } from './support/dashboard-queries';
import { startPrometheus, type Prometheus } from './support/prometheus';
import { startPushgateway, type RunningPushgateway } from './support/pushgateway';
import { simulateDownload } from './support/simulated-download';

const SERVERS = 8;
const DASHBOARD = join(__dirname, '..', '..', 'grafana', 'dashboard.json');
const INTERVALS = { rateInterval: '4s', interval: '1s', range: '5m' };

describe('dashboard on a real Prometheus (metric classes driven in-process)', () => {
  let prom: Prometheus;
  let gateway: RunningPushgateway;
  const servers: MetricsServer[] = [];
  let serverRegistryText = '';
  let startSec = 0;
  let dashboard: Dashboard;

  beforeAll(async () => {
    dashboard = loadDashboard(DASHBOARD);
    const serverRegistry = createMetricsRegistry();
    const fetcherRegistry = createMetricsRegistry();
    const serverMetrics = new ServerMetrics(serverRegistry);
    const fetcherMetrics = new FetcherMetrics(fetcherRegistry);
    servers.push(await startMetricsServer(serverRegistry, { bind: '127.0.0.1', port: 0 }));
    servers.push(await startMetricsServer(fetcherRegistry, { bind: '127.0.0.1', port: 0 }));
    gateway = await startPushgateway();
    const ns = { namespace: 'msd-test' };
    prom = await startPrometheus([
      { job: 'msd-segment-server', targets: [`127.0.0.1:${servers[0].port}`], labels: ns },
      { job: 'msd-fetcher', targets: [`127.0.0.1:${servers[1].port}`], labels: ns },
      { job: 'pushgateway', targets: [gateway.address], honorLabels: true, labels: ns },
    ]);
    await prom.waitFor('count(up == 1) == 3');
    startSec = Date.now() / 1000;
    const pusher = new MetricsPusher({
      url: gateway.url, registry: fetcherRegistry, job: 'msd-fetcher', instance: 'fetcher-sim', namePrefix: 'msd_fetcher_',
      warn: (w) => { throw new Error(w); },
    });
    await simulateDownload(serverMetrics, fetcherMetrics, pusher, SERVERS, 6);
    serverRegistryText = await serverRegistry.metrics();
    // the final values and the pushed group are scraped
    await prom.waitFor('msd_fetcher_state{job="msd-fetcher", instance="fetcher-sim", state="done"}', (v) => v === 1);
    await prom.waitFor('msd_fetcher_progress_ratio{job="msd-fetcher", instance=~"127.*"}', (v) => v === 1);
  }, 60000);

  afterAll(async () => {
    await prom?.stop();
    await gateway?.stop();
    for (const s of servers) await s.close();
  });

  it('has data for every panel query (template variables resolved from Prometheus)', async () => {
    const { vars, problems } = await resolveVariables(prom, dashboard, INTERVALS);
    expect(problems).toEqual([]);
    const checks = await checkPanelQueries(prom, dashboard, vars, startSec, Date.now() / 1000);
    if (process.env.MSD_SHOW_CHECKS) process.stdout.write(checks.map((c) => `${c.ok ? "ok  " : "FAIL"} ${c.panel}/${c.refId}: ${c.detail}`).join("\n") + "\n");
    expect(checks.length).toBe(panelQueries(dashboard).length);
    expect(checks.length).toBeGreaterThanOrEqual(15);
    expect(checks.filter((c) => !c.ok).map((c) => `${c.panel}/${c.refId}: ${c.detail}\n  ${c.expr}`)).toEqual([]);
  });

  it('fails the check for a misspelled metric or legend label', async () => {
    const broken = JSON.parse(JSON.stringify(dashboard)) as Dashboard;
    const headline = broken.panels.find((p) => p.title === 'Throughput per segment');
    expect(headline?.targets?.[0].expr).toContain('msd_fetcher_received_bytes_total');
    headline!.targets![0].expr = headline!.targets![0].expr!.replace('msd_fetcher_received_bytes_total', 'msd_fetcher_recieved_bytes_total');
    const perServer = broken.panels.find((p) => p.title === 'Bytes sent per server');
    perServer!.targets![0].expr = perServer!.targets![0].expr!.replace('by (server_id)', 'by (server)');
    const { vars } = await resolveVariables(prom, broken, INTERVALS);
    const checks = await checkPanelQueries(prom, broken, vars, startSec, Date.now() / 1000);
    expect(checks.filter((c) => !c.ok).map((c) => c.panel).sort()).toEqual(['Bytes sent per server', 'Throughput per segment']);
  });

  it('shows the pushed final outcome through the Pushgateway', async () => {
    const done = await prom.query('msd_fetcher_state{job="msd-fetcher", instance="fetcher-sim", state="done"}');
    expect(done.map((s) => Number(s.value?.[1]))).toEqual([1]);
    const last = await prom.query('msd_fetcher_last_success_timestamp_seconds{instance="fetcher-sim"}');
    expect(Number(last[0]?.value?.[1])).toBeGreaterThan(startSec - 1);
    const bytes = await prom.query('sum(msd_fetcher_received_bytes_total{instance="fetcher-sim"})');
    expect(Number(bytes[0]?.value?.[1])).toBeGreaterThan(0);
  });

  it(`keeps label sets bounded after a download with ${SERVERS} servers`, async () => {
    const { seriesByName, valuesByLabel } = await cardinality(prom);
    for (const l of FORBIDDEN_LABELS) expect(valuesByLabel[l]).toBeUndefined();
    expect(valuesByLabel.server_id.length).toBeLessThanOrEqual(SERVERS);
    expect(valuesByLabel.segment.length).toBeLessThanOrEqual(SERVERS + 1); // + '' for range requests
    for (const [name, n] of Object.entries(seriesByName)) {
      // per scrape source: server_id x (segment | kind x le | reason) at most; x2 for scraped + pushed
      expect({ name, n: n <= 2 * SERVERS * 4 * 20 }).toEqual({ name, n: true });
    }
  });

  it('passes promtool check metrics for the project metrics', () => {
    const own = serverRegistryText.split('\n\n').filter((block) => block.includes('# HELP msd_')).join('\n\n');
    const out = execFileSync('promtool', ['check', 'metrics'], { input: `${own}\n`, encoding: 'utf8' });
    expect(out.trim()).toBe('');
  });
});
