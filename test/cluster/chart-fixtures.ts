import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR, parseManifests, type K8sObject } from '../chart/helm';
import type { PodSpec } from '../chart/workloads';
import type { KubeObject } from './kube-client';
import type { LocalCluster } from './local-cluster';

/**
 * What a values file expects to exist before `helm install` (what a user creates first): the
 * claims and Secrets the rendered pods name but the chart does not create, the file on the source
 * claim, and, for an http source, a reachable URL. Found from the chart's own render, so a new ci/
 * file needs no change here.
 */
export interface Preconditions {
  /** --set flags the install needs on this offline machine (a local URL for an http source). */
  set: string[];
  /** Content every server must serve, when the test put it there. */
  sha256?: string;
  /**
   * A directory fetched whole (source.file and fetcher.file empty): the tree put on the source
   * claim, relative path -> SHA-256, and the paths the values' include/exclude select from it.
   */
  tree?: { files: Record<string, string>; selected: string[] };
  stop(): Promise<void>;
}

interface Values {
  source?: { type?: string; file?: string; subPath?: string; existingClaim?: string; http?: { url?: string } };
  fetcher?: { file?: string; include?: string[]; exclude?: string[]; enabled?: boolean; output?: { existingClaim?: string } };
  auth?: { existingSecret?: string; secretKey?: string };
}

export function readValues(valuesFile?: string): Values {
  const defaults = parse(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Values;
  const given = valuesFile ? ((parse(readFileSync(valuesFile, 'utf8')) ?? {}) as Values) : {};
  return {
    source: { ...defaults.source, ...given.source },
    fetcher: { ...defaults.fetcher, ...given.fetcher, output: { ...defaults.fetcher?.output, ...given.fetcher?.output } },
    auth: { ...defaults.auth, ...given.auth },
  };
}

const podSpecsOf = (objects: K8sObject[]): PodSpec[] =>
  objects.flatMap((o) => {
    const spec = o.spec as { template?: { spec: PodSpec } } & PodSpec;
    if (o.kind === 'Pod') return [spec];
    return spec?.template?.spec ? [spec.template.spec] : [];
  });

/** A served file of a few pieces with a ragged end. */
export const SOURCE_BYTES = 3 * 1024 * 1024 + 4321;

/**
 * What a directory source holds in these tests: a model's usual shapes (nested, a multi-piece
 * shard, a 0-byte file, scratch files a glob should leave out). Relative path -> size.
 */
const DIRECTORY_TREE: Record<string, number> = {
  'config.json': 512,
  'weights/model-00001.safetensors': SOURCE_BYTES,
  'weights/model-00002.safetensors': 1024 * 1024,
  'tokenizer/vocab.txt': 4321,
  'tokenizer/added_tokens.json': 0,
  'weights/.cache/partial.tmp': 100,
  'notes/draft.tmp': 10,
  'README.md': 64,
};

/** The paths the fetcher keeps: any include (or none given) and no exclude, as it matches them. */
export function selectFiles(names: string[], include: string[], exclude: string[]): string[] {
  const any = (name: string, globs: string[]): boolean => globs.some((g) => path.posix.matchesGlob(name, g));
  return names.filter((n) => (include.length === 0 || any(n, include)) && !any(n, exclude)).sort();
}

function writeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rel, size] of Object.entries(DIRECTORY_TREE)) {
    const bytes = randomBytes(size);
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), bytes);
    out[rel] = createHash('sha256').update(bytes).digest('hex');
  }
  return out;
}

export async function createPreconditions(cluster: LocalCluster, namespace: string, valuesFile: string | undefined, rendered: K8sObject[]): Promise<Preconditions> {
  const values = readValues(valuesFile);
  const content = randomBytes(SOURCE_BYTES);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const fileName = values.source?.file || values.fetcher?.file || 'data.bin';
  const specs = podSpecsOf(rendered);
  const renderedNames = (kind: string): Set<string> => new Set(rendered.filter((o) => o.kind === kind).map((o) => o.metadata.name));
  const set: string[] = [];
  let server: http.Server | undefined;
  let put = false;
  const wholeDirectory = !values.source?.file && !values.fetcher?.file;
  let tree: Record<string, string> | undefined;

  // Claims the pods mount that the chart does not create: the source claim gets the file.
  const claimsCreated = renderedNames('PersistentVolumeClaim');
  const templateClaims = new Set(rendered.flatMap((o) => ((o.spec as { volumeClaimTemplates?: K8sObject[] })?.volumeClaimTemplates ?? []).map((t) => t.metadata.name)));
  const claims = new Set(specs.flatMap((s) => (s.volumes ?? []).map((v) => v.persistentVolumeClaim?.claimName).filter((c): c is string => Boolean(c))));
  for (const claim of claims) {
    if (claimsCreated.has(claim) || templateClaims.has(claim)) continue;
    const isSource = claim === values.source?.existingClaim;
    await cluster.client.create(`/api/v1/namespaces/${namespace}/persistentvolumeclaims`, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claim },
      spec: { accessModes: [isSource ? 'ReadOnlyMany' : 'ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const dir = await cluster.volumes.waitClaimDir(namespace, claim);
    if (isSource) {
      const target = path.join(dir, values.source?.subPath ?? '');
      mkdirSync(target, { recursive: true });
      if (wholeDirectory) tree = writeTree(target);
      else {
        writeFileSync(path.join(target, fileName), content);
        put = true;
      }
    }
  }

  // Secrets the pods read that the chart does not create (an existing token Secret).
  const secretsCreated = renderedNames('Secret');
  const wanted = new Map<string, Set<string>>();
  for (const s of specs) {
    for (const c of [...(s.initContainers ?? []), ...s.containers]) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !secretsCreated.has(ref.name)) wanted.set(ref.name, (wanted.get(ref.name) ?? new Set()).add(ref.key));
      }
    }
    for (const v of s.volumes ?? []) {
      if (v.secret && !secretsCreated.has(v.secret.secretName)) {
        const keys = wanted.get(v.secret.secretName) ?? new Set<string>();
        for (const item of v.secret.items ?? []) keys.add(item.key);
        wanted.set(v.secret.secretName, keys);
      }
    }
  }
  for (const [name, keys] of wanted) {
    const stringData = Object.fromEntries([...keys].map((k) => [k, randomBytes(24).toString('hex')]));
    await cluster.client.create(`/api/v1/namespaces/${namespace}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'Opaque', stringData });
  }

  // Cluster objects the values name but a chart never creates: PriorityClasses, StorageClasses.
  for (const name of new Set(specs.map((s) => (s as PodSpec & { priorityClassName?: string }).priorityClassName).filter((n): n is string => Boolean(n)))) {
    if (await cluster.client.find(`/apis/scheduling.k8s.io/v1/priorityclasses/${name}`)) continue;
    await cluster.client.create('/apis/scheduling.k8s.io/v1/priorityclasses', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value: 1000, globalDefault: false });
  }
  const claimSpecs = [
    ...rendered.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.spec as { storageClassName?: string }),
    ...rendered.flatMap((o) => ((o.spec as { volumeClaimTemplates?: Array<{ spec: { storageClassName?: string } }> })?.volumeClaimTemplates ?? []).map((t) => t.spec)),
  ];
  for (const name of new Set(claimSpecs.map((c) => c.storageClassName).filter((n): n is string => Boolean(n)))) {
    await cluster.volumes.addStorageClass(name);
  }

  // An http source: the URL of the values file is a placeholder (no network here); serve the file locally.
  if (values.source?.type === 'http') {
    server = http.createServer((req, res) => {
      if (req.url !== `/${fileName}`) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': content.length, 'content-type': 'application/octet-stream' });
      res.end(content);
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    set.push(`source.http.url=http://127.0.0.1:${port}/${fileName}`, `source.http.sha256=${sha256}`);
    put = true;
  }

  return {
    set,
    ...(put ? { sha256 } : {}),
    ...(tree ? { tree: { files: tree, selected: selectFiles(Object.keys(tree), values.fetcher?.include ?? [], values.fetcher?.exclude ?? []) } } : {}),
    stop: async () => {
      if (server) await new Promise<void>((r) => server?.close(() => r()));
    },
  };
}

/** The manifest helm applied for the release's current revision, as helm wrote it. */
export async function releaseManifest(cluster: LocalCluster, release: string, namespace: string): Promise<string> {
  const r = await cluster.helm(['get', 'manifest', release, '-n', namespace]);
  if (r.code !== 0) throw new Error(`helm get manifest ${release} failed: ${r.stderr}`);
  return r.stdout;
}

/** The objects of that manifest (names and kinds; numbers like 0444 are read as YAML 1.2 does, not as Go's YAML). */
export async function releaseObjects(cluster: LocalCluster, release: string, namespace: string): Promise<K8sObject[]> {
  return parseManifests(await releaseManifest(cluster, release, namespace));
}

/** The API path of an object (namespaced or not), from its apiVersion and kind. */
export async function objectPath(cluster: LocalCluster, o: { apiVersion: string; kind: string; metadata: { name?: string; namespace?: string } }, namespace: string): Promise<string> {
  const group = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const resources = await cluster.client.get<KubeObject & { resources: Array<{ name: string; kind: string; namespaced: boolean }> }>(group);
  const r = resources.resources.find((x) => x.kind === o.kind && !x.name.includes('/'));
  if (!r) throw new Error(`CLUSTER_UNKNOWN_KIND: the API server serves no ${o.kind} in ${o.apiVersion}`);
  const base = r.namespaced ? `${group}/namespaces/${o.metadata.namespace ?? namespace}/${r.name}` : `${group}/${r.name}`;
  return o.metadata.name ? `${base}/${o.metadata.name}` : base;
}
