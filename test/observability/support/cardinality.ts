import type { Prometheus } from './prometheus';

/** Labels that would make series unbounded; no msd_ metric may carry them. */
export const FORBIDDEN_LABELS = ['piece', 'offset', 'path', 'file', 'range', 'start', 'length'];

export interface CardinalityReport {
  /** Series per metric name (all jobs). */
  seriesByName: Record<string, number>;
  /** Distinct values per label over all msd_ series. */
  valuesByLabel: Record<string, string[]>;
}

/** What Prometheus holds for the msd_ metrics now. */
export async function cardinality(prom: Prometheus, selector = '{__name__=~"msd_.+"}'): Promise<CardinalityReport> {
  const series = await prom.query(selector);
  const seriesByName: Record<string, number> = {};
  const values: Record<string, Set<string>> = {};
  for (const s of series) {
    const name = s.metric.__name__;
    seriesByName[name] = (seriesByName[name] ?? 0) + 1;
    for (const [k, v] of Object.entries(s.metric)) {
      if (k === '__name__') continue;
      (values[k] ??= new Set()).add(v);
    }
  }
  const valuesByLabel: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(values)) valuesByLabel[k] = [...v].sort();
  return { seriesByName, valuesByLabel };
}
