import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { CI_DIR, REPO_ROOT, findObject, renderChart, type K8sObject } from './helm';

/**
 * Monitoring that shows data: both monitors and the PrometheusRule are on wherever the Prometheus
 * Operator API exists, carry the same extra labels (what kube-prometheus-stack selects on), the
 * rule is grafana/alerts.yaml with a runbook for every alert in docs/operations.md, and the
 * dashboard ConfigMap can live in Grafana's namespace with its sidecar label.
 */
interface Rule { alert: string; expr: string; annotations: Record<string, string> }
type RuleObject = K8sObject & { spec: { groups: Array<{ name: string; rules: Rule[] }> } };
const API = ['monitoring.coreos.com/v1'];

/** GitHub's anchor of a Markdown heading. */
const slug = (heading: string): string => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');

describe('monitoring', () => {
  it('creates ServiceMonitor, PodMonitor and PrometheusRule by default when the API exists, none when it does not', () => {
    const kinds = (objects: K8sObject[]): string[] => objects.map((o) => o.kind).filter((k) => /Monitor|Rule/.test(k)).sort();
    expect(kinds(renderChart({ apiVersions: API }))).toEqual(['PodMonitor', 'PrometheusRule', 'ServiceMonitor']);
    expect(kinds(renderChart({}))).toEqual([]);
    expect(kinds(renderChart({ set: ['prometheusRule.force=true'] }))).toEqual(['PrometheusRule']);
  });

  it('puts monitoring.labels on all three, beside each object\'s own labels', () => {
    const objects = renderChart({ valuesFiles: [path.join(CI_DIR, 'monitors-values.yaml')], set: ['podMonitor.labels.extra=pm'], apiVersions: API });
    for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']) {
      expect(findObject(objects, kind).metadata.labels?.release).toBe('kube-prometheus-stack');
    }
    expect(findObject(objects, 'PodMonitor').metadata.labels?.extra).toBe('pm');
    expect(findObject(objects, 'ServiceMonitor').metadata.labels?.extra).toBeUndefined();
  });

  it('ships grafana/alerts.yaml as the rule, valid for promtool, each alert with a runbook section that exists', () => {
    const rule = findObject<RuleObject>(renderChart({ apiVersions: API }), 'PrometheusRule');
    const source = parse(readFileSync(path.join(REPO_ROOT, 'grafana', 'alerts.yaml'), 'utf8')) as RuleObject;
    expect(rule.spec).toEqual(source.spec);
    const dir = mkdtempSync(path.join(tmpdir(), 'msd-rule-'));
    try {
      writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
      expect(execFileSync('promtool', ['check', 'rules', path.join(dir, 'rules.yaml')], { encoding: 'utf8' })).toMatch(/SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const docs = readFileSync(path.join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
    const anchors = new Set([...docs.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] as string)));
    const alerts = rule.spec.groups.flatMap((g) => g.rules);
    expect(alerts.length).toBeGreaterThan(0);
    for (const a of alerts) {
      const url = a.annotations.runbook_url ?? '';
      expect(url).toMatch(/\/docs\/operations\.md#[a-z0-9-]+$/);
      expect([...anchors]).toContain(url.slice(url.indexOf('#') + 1));
    }
  });

  it('can put the dashboard ConfigMap in another namespace, keeping the sidecar label', () => {
    const cm = findObject(renderChart({ set: ['dashboard.namespace=grafana'] }), 'ConfigMap', '-dashboard');
    expect(cm.metadata.namespace).toBe('grafana');
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(findObject(renderChart({}), 'ConfigMap', '-dashboard').metadata.namespace).toBe('downloads');
  });
});
