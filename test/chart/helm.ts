import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Repository root, the chart, its ci/ values files, and the helm binary scripts/install-tools.sh installs. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'multi-server-downloader');
export const CI_DIR = path.join(CHART_DIR, 'ci');
export const HELM = path.join(REPO_ROOT, '.tools', 'bin', 'helm');
export const KUBECTL = path.join(REPO_ROOT, '.tools', 'bin', 'kubectl');
export const KUBE_VERSION = '1.33.0';

/** A rendered Kubernetes object (only the fields every object has are typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export function ciValuesFiles(): string[] {
  return readdirSync(CI_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => path.join(CI_DIR, f));
}

export function assertHelmInstalled(): void {
  if (!existsSync(HELM)) throw new Error(`${HELM} is missing: run 'make tools' (scripts/install-tools.sh)`);
}

export interface RenderOptions {
  valuesFiles?: string[];
  set?: string[];
  release?: string;
  namespace?: string;
  /** API versions the fake cluster offers besides the built-in ones. */
  apiVersions?: string[];
  skipTests?: boolean;
  /** Kubernetes version helm pretends the cluster runs (default KUBE_VERSION). */
  kubeVersion?: string;
  /** Another copy of the chart (a directory or a packaged .tgz). */
  chart?: string;
}

function templateArgs(opts: RenderOptions): string[] {
  const args = ['template', opts.release ?? 'msd', opts.chart ?? CHART_DIR, '--namespace', opts.namespace ?? 'downloads', '--kube-version', opts.kubeVersion ?? KUBE_VERSION];
  for (const f of opts.valuesFiles ?? []) args.push('-f', f);
  for (const s of opts.set ?? []) args.push('--set', s);
  for (const v of opts.apiVersions ?? []) args.push('--api-versions', v);
  if (opts.skipTests) args.push('--skip-tests');
  return args;
}

/** Result of a helm run that may fail (schema checks). */
export function tryHelmTemplate(opts: RenderOptions): { status: number; stdout: string; stderr: string } {
  assertHelmInstalled();
  const r = spawnSync(HELM, templateArgs(opts), { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Renders the chart and parses every document; throws with helm's message when rendering fails. */
export function renderChart(opts: RenderOptions = {}): K8sObject[] {
  const r = tryHelmTemplate(opts);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  return parseManifests(r.stdout);
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
      return doc.toJSON() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

export function helmLint(valuesFile: string): string {
  assertHelmInstalled();
  return execFileSync(HELM, ['lint', '--strict', CHART_DIR, '-f', valuesFile, '--kube-version', KUBE_VERSION], { encoding: 'utf8' });
}

export function findObject<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string, nameSuffix = ''): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`expected one ${kind} named *${nameSuffix}, found ${found.length}`);
  return found[0] as T;
}

/** The fetcher Job: its name is <fullname>-fetcher-<8 hex digits of its spec's hash>. */
export function fetcherJob<T extends K8sObject = K8sObject>(objects: K8sObject[]): T {
  const found = objects.filter((o) => o.kind === 'Job' && /-fetcher-[0-9a-f]{8}$/.test(o.metadata.name));
  if (found.length !== 1) throw new Error(`expected one Job named *-fetcher-<hash>, found ${found.length}`);
  return found[0] as T;
}
