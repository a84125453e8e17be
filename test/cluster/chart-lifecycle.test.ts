import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CHART_DIR, REPO_ROOT, renderChart, type K8sObject } from '../chart/helm';
import type { PodSpec } from '../chart/workloads';
import { releaseObjects } from './chart-fixtures';
import type { KubeObject } from './kube-client';
import { LocalCluster } from './local-cluster';
import { isAlive } from './process-group';

/**
 * One release through its life on a real control plane, in a namespace enforcing Pod Security
 * `restricted`, with no values (the zero-config demo):
 *  - contract: the pods the StatefulSet and Job controllers created (read back from the API
 *    server: defaults, ordinal labels, downward API) run as local processes; the fetcher completes
 *    verified against those servers; the pod's outcome written back (Succeeded, exit code 0) makes
 *    the Job controller mark the Job Complete, which `helm install --wait-for-jobs` waits for;
 *  - `helm upgrade` with a new chart version, with replicas 4 -> 5, and with a changed fetcher
 *    setting, each while the earlier Job exists: succeeds, and the Job is what docs/operations.md
 *    says (left alone when nothing it runs changed; else a new Job under a new name, the old one
 *    deleted, the rerun finds the output complete; re-created after it was deleted);
 *  - the same while the Job still runs: the new pod resumes from the state the old one saved;
 *  - `helm test` runs its hook pod to success;
 *  - `helm uninstall` removes every object but those documented as kept.
 */
jest.setTimeout(900_000);

const NS = 'lifecycle';
const RELEASE = 'dl';
let cluster: LocalCluster;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'msd-cluster-lifecycle-'));
  cluster = await LocalCluster.start();
  await cluster.createNamespace(NS, 'restricted');
});

afterAll(async () => {
  const pids = cluster?.pids() ?? [];
  await cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
  expect(pids.filter(isAlive)).toEqual([]);
});

interface Job extends KubeObject {
  spec: { template: { spec: PodSpec } };
  status?: { succeeded?: number; conditions?: Array<{ type: string; status: string }> };
}
interface Pod extends KubeObject {
  spec: PodSpec;
  status?: { phase?: string; containerStatuses?: Array<{ name: string; state?: { terminated?: { exitCode: number } } }> };
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const fetcherJobs = async (): Promise<Job[]> =>
  (await cluster.client.list<Job>(`/apis/batch/v1/namespaces/${NS}/jobs`, { labelSelector: 'app.kubernetes.io/component=fetcher' })).items.filter((j) => !j.metadata.deletionTimestamp);
const complete = (j: Job): boolean => Boolean(j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));

async function helmOk(args: string[]): Promise<string> {
  const r = await cluster.helm(args, 300_000);
  if (r.code !== 0) throw new Error(`helm ${args[0]} failed (${r.code}):\n${r.stderr}\n--- local kubelet ---\n${cluster.kubelet.describe()}`);
  return r.stdout;
}

/** The Job that is Complete after an upgrade: exactly one fetcher Job remains, and it has finished. */
async function waitOneCompleteJob(): Promise<Job> {
  return cluster.client.waitFor(
    'exactly one fetcher Job, Complete',
    async () => {
      const jobs = await fetcherJobs();
      return jobs.length === 1 && complete(jobs[0] as Job) ? jobs[0] : undefined;
    },
    120_000,
    async () => `${JSON.stringify((await fetcherJobs()).map((j) => ({ name: j.metadata.name, status: j.status })))}\n${cluster.kubelet.describe()}`,
  );
}

function fetcherOutput(job: Job): string {
  return cluster.kubelet.logs(NS, jobPodName(job), 'fetcher');
}
const jobPods = new Map<string, string>();
function jobPodName(job: Job): string {
  return jobPods.get(job.metadata.name) ?? '';
}
async function recordJobPod(job: Job): Promise<Pod> {
  const pods = (await cluster.client.list<Pod>(`/api/v1/namespaces/${NS}/pods`, { labelSelector: `batch.kubernetes.io/job-name=${job.metadata.name}` })).items;
  const done = pods.find((p) => p.status?.phase === 'Succeeded') as Pod;
  jobPods.set(job.metadata.name, done?.metadata.name ?? '');
  return done;
}

let outputFile = '';
let outputSha = '';
let firstJob: Job;

it('contract: the controllers\' pods run locally, the fetcher completes verified, the Job controller marks the Job Complete', async () => {
  await helmOk(['install', RELEASE, CHART_DIR, '-n', NS, '--wait', '--wait-for-jobs', '--timeout', '240s']);
  const jobs = await fetcherJobs();
  expect(jobs.length).toBe(1);
  firstJob = jobs[0] as Job;
  expect(complete(firstJob)).toBe(true);
  expect(firstJob.status?.succeeded).toBe(1);

  // The pod the Job controller created: Succeeded, its fetcher container terminated with exit code 0.
  const pod = await recordJobPod(firstJob);
  expect(pod).toBeDefined();
  expect(pod.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Job', name: firstJob.metadata.name });
  expect(pod.status?.containerStatuses?.find((c) => c.name === 'fetcher')?.state?.terminated?.exitCode).toBe(0);

  // The verified file on the output claim, the same bytes as every server's copy.
  const objects = await releaseObjects(cluster, RELEASE, NS);
  const outputClaim = (firstJob.spec.template.spec.volumes ?? []).map((v) => v.persistentVolumeClaim?.claimName).find((c): c is string => Boolean(c)) as string;
  expect(objects.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === outputClaim)).toBe(true);
  const outDir = (await cluster.volumes.claimDir(NS, outputClaim)) as string;
  const files = readdirSync(outDir).filter((f) => statSync(path.join(outDir, f)).isFile() && !f.startsWith('.'));
  expect(files.filter((f) => f.endsWith('.part') || f.endsWith('.state'))).toEqual([]);
  expect(files.length).toBe(1);
  outputFile = path.join(outDir, files[0] as string);
  outputSha = sha256(outputFile);
  const sts = objects.find((o) => o.kind === 'StatefulSet') as K8sObject & { spec: { replicas: number } };
  for (let i = 0; i < sts.spec.replicas; i++) {
    const dataDir = cluster.kubelet.emptyDir(NS, `${sts.metadata.name}-${i}`, 'data') ?? (await cluster.volumes.claimDir(NS, `data-${sts.metadata.name}-${i}`));
    expect(dataDir).toBeDefined();
    expect(sha256(path.join(dataDir as string, files[0] as string))).toBe(outputSha);
  }
});

describe('helm upgrade while the earlier (finished) Job exists, as docs/operations.md "Upgrades and the fetcher Job" says', () => {
  const nextChart = (): string => {
    const dir = path.join(scratch, 'chart-next');
    if (!existsSync(dir)) {
      cpSync(CHART_DIR, dir, { recursive: true });
      const file = path.join(dir, 'Chart.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^version: *(\d+)\.(\d+)\.(\d+)/m, (_m, a, b, c) => `version: ${a}.${b}.${Number(c) + 1}`));
    }
    return dir;
  };
  const upgrade = (set: string[]): Promise<string> => helmOk(['upgrade', RELEASE, nextChart(), '-n', NS, '--wait', '--wait-for-jobs', '--timeout', '240s', ...set.flatMap((s) => ['--set', s])]);

  it('a new chart version (nothing the Job runs): succeeds, and the finished Job is left alone', async () => {
    const [old] = await fetcherJobs();
    expect(old && complete(old)).toBe(true);
    await upgrade([]);
    const history = JSON.parse((await cluster.helm(['history', RELEASE, '-n', NS, '-o', 'json'])).stdout) as Array<{ chart: string; status: string }>;
    expect(history[history.length - 1]).toMatchObject({ status: 'deployed', chart: expect.stringMatching(/-0\.\d+\.\d+$/) });
    expect(history[history.length - 1]?.chart).not.toBe(history[0]?.chart);
    const job = await waitOneCompleteJob();
    expect({ name: job.metadata.name, uid: job.metadata.uid }).toEqual({ name: old?.metadata.name, uid: old?.metadata.uid });
  });

  it.each([
    { what: 'replicas 4 -> 5', set: ['segmentServer.replicas=5'] },
    { what: 'a changed fetcher setting', set: ['segmentServer.replicas=5', 'fetcher.connectionsPerServer=2'] },
  ])('$what: succeeds, a new Job replaces the old one and exits 0 without downloading', async ({ set }) => {
    const [old] = await fetcherJobs();
    expect(old && complete(old)).toBe(true);
    await upgrade(set);
    const job = await waitOneCompleteJob();
    expect(job.metadata.name).not.toBe(old?.metadata.name);
    expect(await cluster.client.find(`/apis/batch/v1/namespaces/${NS}/jobs/${old?.metadata.name}`).then((j) => (j && !j.metadata.deletionTimestamp ? 'still there' : 'gone'))).toBe('gone');
    await recordJobPod(job);
    expect(fetcherOutput(job)).toMatch(/already complete/);
    expect(fetcherOutput(job)).toMatch(/"bytesReceived":0/);
    expect(sha256(outputFile)).toBe(outputSha);
  });

  it('the upgraded release runs 5 servers and the Job lists all of them', async () => {
    const job = (await fetcherJobs())[0] as Job;
    const fetcher = JSON.stringify(job.spec.template.spec.containers.find((c) => c.name === 'fetcher'));
    for (let i = 0; i < 5; i++) expect(fetcher).toContain(`-segment-server-${i}.`);
    expect(fetcher).not.toContain('-segment-server-5.');
  });

  it('a deleted Job (as its TTL does) is re-created by an upgrade with the same values, and finds the output complete', async () => {
    const [old] = await fetcherJobs();
    await cluster.client.delete(`/apis/batch/v1/namespaces/${NS}/jobs/${old?.metadata.name}`, { propagationPolicy: 'Background' });
    await cluster.client.waitFor('the Job gone', async () => ((await cluster.client.find(`/apis/batch/v1/namespaces/${NS}/jobs/${old?.metadata.name}`)) ? undefined : true));
    await upgrade(['segmentServer.replicas=5', 'fetcher.connectionsPerServer=2']);
    const job = await waitOneCompleteJob();
    expect(job.metadata.name).toBe(old?.metadata.name);
    expect(job.metadata.uid).not.toBe(old?.metadata.uid);
    await recordJobPod(job);
    expect(fetcherOutput(job)).toMatch(/already complete/);
    expect(sha256(outputFile)).toBe(outputSha);
  });
});

it('helm test runs its hook pod to success', async () => {
  const out = await helmOk(['test', RELEASE, '-n', NS, '--timeout', '120s']);
  expect(out).toMatch(/Phase:\s+Succeeded/);
});

it('helm uninstall removes every object except those documented as kept', async () => {
  const objects = await releaseObjects(cluster, RELEASE, NS);
  const keep = objects.filter((o) => o.metadata.annotations?.['helm.sh/resource-policy'] === 'keep').map((o) => `${o.kind}/${o.metadata.name}`);
  const sts = objects.find((o) => o.kind === 'StatefulSet') as K8sObject & { spec: { replicas: number; volumeClaimTemplates?: K8sObject[]; persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string } } };
  if (sts.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted !== 'Delete') {
    for (const t of sts.spec.volumeClaimTemplates ?? []) for (let i = 0; i < sts.spec.replicas; i++) keep.push(`PersistentVolumeClaim/${t.metadata.name}-${sts.metadata.name}-${i}`);
  }
  await helmOk(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '120s']);
  const left = await cluster.client.waitFor(
    'only the kept objects left',
    async () => {
      const names = await namespacedObjects(NS);
      return names.length === keep.length ? names : undefined;
    },
    60_000,
    async () => (await namespacedObjects(NS)).join(', '),
  );
  expect(left.sort()).toEqual(keep.sort());
  // What is kept is what docs/operations.md says is kept: the output claim and the token Secret
  // (resource-policy keep), and the claims of volumeClaimTemplates, which Kubernetes keeps.
  const docs = readFileSync(path.join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
  expect(docs).toMatch(/`helm uninstall` keeps the output claim[\s\S]{0,80}and the token Secret/);
  if ((sts.spec.volumeClaimTemplates ?? []).length > 0) expect(docs).toMatch(/outlive the StatefulSet/);
  expect(keep.filter((k) => k.startsWith('Secret/')).length).toBe(1);
  expect(existsSync(outputFile)).toBe(true);
});

describe('helm upgrade while the Job is still running', () => {
  const ns = 'running-upgrade';

  it('a changed fetcher setting replaces the running Job; the new pod resumes from the old one\'s state and completes verified', async () => {
    await cluster.createNamespace(ns, 'restricted');
    // Servers capped at 2 MiB/s each: the 64 MiB demo file takes about 8 s, long enough to upgrade mid-way.
    const base = ['-n', ns, '--set', 'segmentServer.rateLimit=2MiB'];
    await helmOk(['install', RELEASE, CHART_DIR, ...base, '--wait', '--timeout', '240s']);
    const jobs = () => cluster.client.list<Job>(`/apis/batch/v1/namespaces/${ns}/jobs`, { labelSelector: 'app.kubernetes.io/component=fetcher' }).then((l) => l.items.filter((j) => !j.metadata.deletionTimestamp));
    const [old] = await jobs();
    const outputClaim = (old?.spec.template.spec.volumes ?? []).map((v) => v.persistentVolumeClaim?.claimName).find((c): c is string => Boolean(c)) as string;
    const outDir = (await cluster.volumes.claimDir(ns, outputClaim)) as string;
    // Running, with verified pieces saved in its resume state.
    await cluster.client.waitFor('the first fetcher has saved some progress', async () => (readdirSync(outDir).some((f) => f.endsWith('.state')) ? true : undefined), 60_000, async () => cluster.kubelet.describe());
    const running = await cluster.client.get<Job>(`/apis/batch/v1/namespaces/${ns}/jobs/${old?.metadata.name}`);
    expect(complete(running)).toBe(false);
    await helmOk(['upgrade', RELEASE, CHART_DIR, ...base, '--set', 'fetcher.connectionsPerServer=2', '--wait', '--wait-for-jobs', '--timeout', '240s']);
    const [job, ...others] = await jobs();
    expect(others).toEqual([]);
    expect(job?.metadata.name).not.toBe(old?.metadata.name);
    expect(complete(job as Job)).toBe(true);
    const pods = (await cluster.client.list<Pod>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: `batch.kubernetes.io/job-name=${job?.metadata.name}` })).items;
    const done = pods.find((p) => p.status?.phase === 'Succeeded') as Pod;
    const log = cluster.kubelet.logs(ns, done.metadata.name, 'fetcher');
    const outcome = /"msg":"download complete".*"resumedBytes":(\d+)/.exec(log);
    expect(outcome).not.toBeNull();
    expect(Number(outcome?.[1])).toBeGreaterThan(0);
    const files = readdirSync(outDir).filter((f) => !f.startsWith('.'));
    expect(files.filter((f) => f.endsWith('.part') || f.endsWith('.state'))).toEqual([]);
    expect(statSync(path.join(outDir, 'demo.bin')).size).toBe(64 * 1024 * 1024);
    const server0 = cluster.kubelet.emptyDir(ns, `${RELEASE}-multi-server-downloader-segment-server-0`, 'data') as string;
    expect(sha256(path.join(outDir, 'demo.bin'))).toBe(sha256(path.join(server0, 'demo.bin')));
  });
});

/** Every object in the namespace, of every listable namespaced kind, but what Kubernetes itself puts there. */
async function namespacedObjects(ns: string): Promise<string[]> {
  const builtIn = new Set(['ConfigMap/kube-root-ca.crt', 'ServiceAccount/default']);
  const groups = await cluster.client.get<KubeObject & { groups: Array<{ preferredVersion: { groupVersion: string } }> }>('/apis');
  const versions = ['v1', ...groups.groups.map((g) => g.preferredVersion.groupVersion)];
  const out: string[] = [];
  for (const gv of versions) {
    const base = gv === 'v1' ? '/api/v1' : `/apis/${gv}`;
    const resources = await cluster.client.get<KubeObject & { resources: Array<{ name: string; kind: string; namespaced: boolean; verbs: string[] }> }>(base);
    for (const r of resources.resources) {
      if (!r.namespaced || r.name.includes('/') || !r.verbs.includes('list') || r.kind === 'Event') continue;
      const list = await cluster.client.list(`${base}/namespaces/${ns}/${r.name}`);
      for (const o of list.items) if (!o.metadata.deletionTimestamp && !builtIn.has(`${r.kind}/${o.metadata.name}`)) out.push(`${r.kind}/${o.metadata.name}`);
    }
  }
  return [...new Set(out)];
}
