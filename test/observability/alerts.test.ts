/** grafana/alerts.yaml: valid rules (promtool check rules) that fire when they should (promtool test rules). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const ALERTS = join(__dirname, '..', '..', 'grafana', 'alerts.yaml');

interface ExpAlert { exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }
interface AlertTest { eval_time: string; alertname: string; exp_alerts: ExpAlert[] }

const TESTS = {
  rule_files: ['rules.yaml'],
  evaluation_interval: '1m',
  tests: [
    {
      interval: '1m',
      input_series: [
        // f1 downloads, then its bytes stop at minute 10; f2 keeps receiving.
        { series: 'msd_fetcher_state{state="downloading", job="msd-fetcher", instance="f1", namespace="dl"}', values: '1x40' },
        { series: 'msd_fetcher_received_bytes_total{server_id="0", segment="0", job="msd-fetcher", instance="f1", namespace="dl"}', values: '0+1000x10 10000x30' },
        { series: 'msd_fetcher_state{state="downloading", job="msd-fetcher", instance="f2", namespace="dl"}', values: '1x40' },
        // f3 reports stalled (no server reachable) once its bytes stop
        { series: 'msd_fetcher_state{state="downloading", job="msd-fetcher", instance="f3", namespace="dl"}', values: '1x10 0x30' },
        { series: 'msd_fetcher_state{state="stalled", job="msd-fetcher", instance="f3", namespace="dl"}', values: '0x10 1x30' },
        { series: 'msd_fetcher_received_bytes_total{server_id="1", segment="1", job="msd-fetcher", instance="f3", namespace="dl"}', values: '0+1000x10 10000x30' },
        { series: 'msd_fetcher_received_bytes_total{server_id="0", segment="0", job="msd-fetcher", instance="f2", namespace="dl"}', values: '0+1000x40' },
        { series: 'msd_fetcher_piece_failures_total{server_id="3", reason="digest", job="msd-fetcher", instance="f2", namespace="dl"}', values: '0x20 1x20' },
        { series: 'msd_fetcher_piece_failures_total{server_id="1", reason="short", job="msd-fetcher", instance="f2", namespace="dl"}', values: '0x20 5x20' },
        { series: 'msd_server_indexed{server_id="0", job="msd-segment-server", instance="s0", namespace="dl"}', values: '0x5 1x35' },
        { series: 'msd_server_indexed{server_id="1", job="msd-segment-server", instance="s1", namespace="dl"}', values: '0x40' },
      ],
      alert_rule_test: <AlertTest[]>[
        { eval_time: '12m', alertname: 'MsdDownloadStalled', exp_alerts: [] },
        {
          eval_time: '25m', alertname: 'MsdDownloadStalled',
          exp_alerts: [
            { exp_labels: { severity: 'warning', namespace: 'dl', job: 'msd-fetcher', instance: 'f1' } },
            { exp_labels: { severity: 'warning', namespace: 'dl', job: 'msd-fetcher', instance: 'f3' } },
          ],
        },
        { eval_time: '15m', alertname: 'MsdPieceVerificationFailures', exp_alerts: [] },
        {
          eval_time: '25m', alertname: 'MsdPieceVerificationFailures',
          exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'dl', job: 'msd-fetcher', instance: 'f2', server_id: '3' } }],
        },
        {
          eval_time: '20m', alertname: 'MsdSegmentServerNotReady',
          exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'dl', job: 'msd-segment-server', instance: 's1', server_id: '1' } }],
        },
      ],
    },
  ],
};

interface Rule { alert: string; annotations: Record<string, string> }

/** The rule's annotations with `{{ $labels.x }}` and `{{ $value }}` filled in, as promtool expects them. */
function expectedAnnotations(rule: Rule, labels: Record<string, string>, value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rule.annotations)) {
    out[k] = v.replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, (_m, l: string) => labels[l] ?? '').replace(/\{\{\s*\$value\s*\}\}/g, value);
  }
  return out;
}

describe('alert rules', () => {
  let dir = '';
  let rules: Rule[] = [];
  const withAnnotations = (tests: typeof TESTS, value = '1'): typeof TESTS => {
    const copy = structuredClone(tests);
    for (const t of copy.tests[0].alert_rule_test) {
      const rule = rules.find((r) => r.alert === t.alertname)!;
      for (const a of t.exp_alerts) a.exp_annotations = expectedAnnotations(rule, a.exp_labels, value);
    }
    return copy;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'msd-alerts-'));
    const doc = parse(readFileSync(ALERTS, 'utf8')) as { kind: string; spec: { groups: { rules: Rule[] }[] } };
    expect(doc.kind).toBe('PrometheusRule');
    rules = doc.spec.groups.flatMap((g) => g.rules);
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: doc.spec.groups }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pass promtool check rules', () => {
    expect(execFileSync('promtool', ['check', 'rules', join(dir, 'rules.yaml')], { encoding: 'utf8' })).toMatch(/SUCCESS: 3 rules found/);
  });

  it('fire exactly when expected (promtool test rules)', () => {
    writeFileSync(join(dir, 'tests.yaml'), stringify(withAnnotations(TESTS)));
    const run = (): string => execFileSync('promtool', ['test', 'rules', join(dir, 'tests.yaml')], { encoding: 'utf8', stdio: 'pipe' });
    let out = '';
    try { out = run(); } catch (err) { const e = err as { stdout?: string; stderr?: string }; throw new Error(`${e.stdout ?? ""}${e.stderr ?? ""}` || String(err)); }
    expect(out).toMatch(/SUCCESS/);
    // and the test can fail: expecting the stall on the healthy fetcher too must not pass
    const wrong = structuredClone(TESTS);
    wrong.tests[0].alert_rule_test[1].exp_alerts.push({ exp_labels: { severity: 'warning', namespace: 'dl', job: 'msd-fetcher', instance: 'f2' } });
    writeFileSync(join(dir, 'tests.yaml'), stringify(withAnnotations(wrong)));
    expect(run).toThrow();
  });
});
