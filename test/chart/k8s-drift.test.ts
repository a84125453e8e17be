import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CHART_DIR, KUBECTL, REPO_ROOT, parseManifests } from './helm';
import { validateObject } from './k8s-validation';

/** k8s/ and the chart's copy of the dashboard are generated; these tests fail when they drift. */
const K8S_FILE = path.join(REPO_ROOT, 'k8s', 'multi-server-downloader.yaml');
const FIX = "run 'make k8s' (scripts/render-k8s.sh) and commit the result";

describe('generated files', () => {
  it('k8s/multi-server-downloader.yaml is what the chart renders', () => {
    const fresh = execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'render-k8s.sh'), '--stdout'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const committed = readFileSync(K8S_FILE, 'utf8');
    if (committed !== fresh) throw new Error(`k8s/multi-server-downloader.yaml differs from the chart: ${FIX}`);
  });

  it('the chart embeds the same dashboard as grafana/dashboard.json', () => {
    const source = path.join(REPO_ROOT, 'grafana', 'dashboard.json');
    const copy = path.join(CHART_DIR, 'files', 'dashboard.json');
    expect(existsSync(source)).toBe(true);
    if (readFileSync(copy, 'utf8') !== readFileSync(source, 'utf8')) {
      throw new Error(`charts/multi-server-downloader/files/dashboard.json differs from grafana/dashboard.json: ${FIX}`);
    }
  });

  it('kubectl kustomize k8s/ builds valid objects, all in namespace msd, Namespace restricted', () => {
    const objects = parseManifests(execFileSync(KUBECTL, ['kustomize', path.join(REPO_ROOT, 'k8s')], { encoding: 'utf8', maxBuffer: 64 << 20 }));
    expect(objects.flatMap(validateObject)).toEqual([]);
    const ns = objects.find((o) => o.kind === 'Namespace');
    expect(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(objects.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'msd')).toBe(true);
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['StatefulSet', 'Service', 'Job', 'NetworkPolicy', 'PodDisruptionBudget', 'ConfigMap']));
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    expect(JSON.stringify(objects)).not.toMatch(/helm\.sh\/|managed-by":"Helm/);
  });
});
