import { readFileSync } from 'node:fs';
import type { Prometheus } from './prometheus';

interface Target { expr?: string; refId?: string; instant?: boolean; legendFormat?: string }
interface Panel { title?: string; type?: string; targets?: Target[]; panels?: Panel[]; datasource?: unknown }
interface TemplateVar {
  name: string; type: string; query?: string | { query?: string }; includeAll?: boolean; allValue?: string;
}
export interface Dashboard { title: string; panels: Panel[]; templating: { list: TemplateVar[] } }

export interface PanelQuery { panel: string; refId: string; expr: string; instant: boolean; legendLabels: string[] }

export function loadDashboard(path: string): Dashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
}

/** Every PromQL target of every panel, rows' nested panels included. */
export function panelQueries(dashboard: Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  const walk = (panels: Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        if (t.expr === undefined) continue;
        const legendLabels = [...(t.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]);
        out.push({ panel: p.title ?? '(untitled)', refId: t.refId ?? '?', expr: t.expr, instant: t.instant === true, legendLabels });
      }
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return out;
}

/**
 * Replaces Grafana variables the way Grafana does before sending a query: `$name`, `${name}`,
 * `${name:fmt}` and `[[name]]` for template variables, plus `$__rate_interval`, `$__interval`,
 * `$__range`. An unknown variable is an error (it would reach Prometheus verbatim).
 */
export function substitute(expr: string, vars: Record<string, string>): string {
  const result = expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c ?? '';
    if (!(name in vars)) throw new Error(`unknown Grafana variable ${whole} in ${expr}`);
    return vars[name];
  });
  return result;
}

function variableQuery(v: TemplateVar): string | undefined {
  return typeof v.query === 'string' ? v.query : v.query?.query;
}

/**
 * Resolves the dashboard's query variables against Prometheus, in order (later ones may use
 * earlier ones). Each must return values; "All" becomes the variable's allValue (or an
 * alternation of the values). Returns the values to substitute, with the built-in intervals.
 */
export async function resolveVariables(prom: Prometheus, dashboard: Dashboard, intervals: { rateInterval: string; interval: string; range: string }): Promise<{ vars: Record<string, string>; problems: string[] }> {
  const vars: Record<string, string> = {
    __rate_interval: intervals.rateInterval, __interval: intervals.interval, __range: intervals.range, datasource: 'prometheus',
  };
  const problems: string[] = [];
  for (const v of dashboard.templating.list) {
    if (v.type === 'datasource') continue;
    if (v.type !== 'query') {
      problems.push(`variable ${v.name}: unsupported type ${v.type}`);
      continue;
    }
    const q = variableQuery(v) ?? '';
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(q.trim());
    if (m === null) {
      problems.push(`variable ${v.name}: cannot evaluate ${q}`);
      continue;
    }
    const values = await prom.labelValues(m[2], substitute(m[1], vars));
    if (values.length === 0) problems.push(`variable ${v.name}: ${q} returned no values`);
    vars[v.name] = v.includeAll === true ? (v.allValue ?? `(${values.join('|')})`) : (values[0] ?? '');
  }
  return { vars, problems };
}

export interface QueryCheck { panel: string; refId: string; expr: string; ok: boolean; detail: string }

/**
 * Runs every panel query over [startSec, endSec] (as Grafana would with a range query; instant
 * targets at endSec) and requires at least one series with a sample that is a number, and every
 * label the legend names (`{{segment}}`) on the series (a misspelled `by (...)` label fails).
 */
export async function checkPanelQueries(prom: Prometheus, dashboard: Dashboard, vars: Record<string, string>, startSec: number, endSec: number): Promise<QueryCheck[]> {
  const checks: QueryCheck[] = [];
  for (const q of panelQueries(dashboard)) {
    let expr = '';
    try {
      expr = substitute(q.expr, vars);
      const series = q.instant ? await prom.query(expr) : await prom.queryRange(expr, startSec, endSec, 1);
      const samples = series.flatMap((s) => (s.values ?? (s.value ? [s.value] : [])).map((v) => Number(v[1])));
      const numeric = samples.filter((n) => !Number.isNaN(n));
      const missing = q.legendLabels.filter((l) => !series.some((s) => l in s.metric));
      const ok = numeric.length > 0 && missing.length === 0;
      const detail = numeric.length === 0 ? `no data (${series.length} series, ${samples.length} samples, all NaN or none)`
        : missing.length > 0 ? `legend labels ${missing.join(', ')} absent from the result`
        : `${series.length} series, ${numeric.length} samples`;
      checks.push({ ...q, expr, ok, detail });
    } catch (err) {
      checks.push({ ...q, expr: expr || q.expr, ok: false, detail: err instanceof Error ? err.message : String(err) });
    }
  }
  return checks;
}
