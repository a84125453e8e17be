import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CHART_DIR, fetcherJob, renderChart, type K8sObject, type RenderOptions } from './helm';
import type { JobObject, StatefulSetObject } from './workloads';

/**
 * `helm upgrade` while the earlier objects exist: every object that keeps its name must keep its
 * immutable fields, or the API server refuses the upgrade (`field is immutable`). Renders the
 * release before and after each kind of change and compares what the API server would compare.
 * (test/cluster runs the same upgrades against a real kube-apiserver.)
 */
const JOB_MUTABLE = new Set(['ttlSecondsAfterFinished', 'activeDeadlineSeconds', 'backoffLimit', 'parallelism', 'suspend']);
const STS_MUTABLE = new Set(['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds']);

function without(obj: Record<string, unknown>, keys: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.has(k)));
}

/** The parts of an object the API server refuses to change in an update. */
function immutablePart(o: K8sObject): unknown {
  const spec = (o as { spec?: Record<string, unknown> }).spec ?? {};
  switch (o.kind) {
    case 'Job':
      return without(spec, JOB_MUTABLE);
    case 'StatefulSet':
      return without(spec, STS_MUTABLE);
    case 'Service':
      return { clusterIP: spec.clusterIP, type: spec.type };
    case 'PersistentVolumeClaim':
      return without(spec, new Set(['resources']));
    case 'Secret':
    case 'ConfigMap':
      return { immutable: (o as { immutable?: boolean }).immutable };
    default:
      return undefined;
  }
}

/** "Kind/name: what changed" for every object that keeps its name but changes an immutable part. */
function immutableChanges(before: K8sObject[], after: K8sObject[]): string[] {
  const out: string[] = [];
  for (const a of after) {
    const b = before.find((o) => o.kind === a.kind && o.metadata.name === a.metadata.name);
    if (b && JSON.stringify(immutablePart(b)) !== JSON.stringify(immutablePart(a))) out.push(`${a.kind}/${a.metadata.name}`);
  }
  return out;
}

/** A copy of the chart with another version in Chart.yaml (what `helm upgrade` to a new chart release renders). */
function chartWithVersion(dir: string, version: string): string {
  const copy = path.join(dir, 'chart');
  cpSync(CHART_DIR, copy, { recursive: true });
  const file = path.join(copy, 'Chart.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^version: .*$/m, `version: ${version}`));
  return copy;
}

describe('helm upgrade while the earlier objects exist', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'msd-upgrade-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const base: RenderOptions = { apiVersions: ['monitoring.coreos.com/v1'] };
  const before = renderChart(base);
  const jobBefore = fetcherJob<JobObject>(before);

  const upgrades: Array<[string, RenderOptions, 'same Job' | 'new Job']> = [
    ['a new chart version', { ...base, chart: chartWithVersion(scratch, '0.2.0') }, 'same Job'],
    ['a new image tag', { ...base, set: ['fetcher.image.tag=0.1.1', 'segmentServer.image.tag=0.1.1'] }, 'new Job'],
    ['replicas 4 -> 5', { ...base, set: ['segmentServer.replicas=5'] }, 'new Job'],
    ['a fetcher setting', { ...base, set: ['fetcher.connectionsPerServer=3'] }, 'new Job'],
    ['a longer TTL', { ...base, set: ['fetcher.ttlSecondsAfterFinished=3600'] }, 'new Job'],
    ['another demo file (same name)', { ...base, set: ['source.demo.seed=other'] }, 'new Job'],
    ['the same source with other fill resources', { ...base, set: ['source.fill.resources.limits.memory=300Mi'] }, 'same Job'],
    ['another source (existing claim)', { ...base, set: ['source.type=existingClaim', 'source.existingClaim=big', 'source.file=big.iso'] }, 'new Job'],
    ['common labels and pod labels', { ...base, set: ['commonLabels.team=data', 'fetcher.podLabels.a=b'] }, 'new Job'],
  ];

  it.each(upgrades)('%s changes no immutable field of any object that keeps its name', (_what, opts, expectJob) => {
    const after = renderChart(opts);
    expect(immutableChanges(before, after)).toEqual([]);
    const jobAfter = fetcherJob<JobObject>(after);
    if (expectJob === 'same Job') expect(jobAfter.metadata.name).toBe(jobBefore.metadata.name);
    else expect(jobAfter.metadata.name).not.toBe(jobBefore.metadata.name);
  });

  it('names the Job after its whole spec: the same name always means the same spec', () => {
    const renders = upgrades.map(([, opts]) => renderChart(opts)).concat([before]);
    const byName = new Map<string, string>();
    for (const objects of renders) {
      const job = fetcherJob<JobObject>(objects);
      const spec = JSON.stringify(job.spec);
      expect(byName.get(job.metadata.name) ?? spec).toBe(spec);
      byName.set(job.metadata.name, spec);
    }
    // one Job per upgrade, but the ones that change nothing the Job runs share `before`'s
    expect(byName.size).toBe(upgrades.filter(([, , job]) => job === 'new Job').length + 1);
  });

  it('keeps the chart version out of every pod template (a chart release alone restarts nothing)', () => {
    const bumped = renderChart({ ...base, chart: chartWithVersion(scratch, '0.3.0') });
    const templates = (objects: K8sObject[]): string =>
      JSON.stringify(objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Job').map((o) => (o as StatefulSetObject).spec.template));
    expect(templates(bumped)).toBe(templates(before));
    expect(templates(before)).not.toContain('helm.sh/chart');
  });

  it('detects an immutable change when there is one (the comparison can fail)', () => {
    const after = renderChart({ ...base, set: ['source.type=http', 'source.http.url=https://example.org/f', `source.http.sha256=${'a'.repeat(64)}`] });
    expect(immutableChanges(before, after)).toEqual(['StatefulSet/msd-multi-server-downloader-segment-server']);
  });
});
