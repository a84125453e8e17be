import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CHART_DIR, ciValuesFiles, renderChart, type K8sObject } from '../chart/helm';
import type { PodSpec } from '../chart/workloads';
import { createPreconditions, objectPath, releaseManifest, releaseObjects } from './chart-fixtures';
import { builtVersions } from './control-plane';
import { KubeApiError, type KubeObject } from './kube-client';
import { LocalCluster } from './local-cluster';
import { isAlive } from './process-group';
import { filesBelow } from '../helpers/served-directory';
import { installMonitoringCrds } from './monitoring-crds';

/**
 * The chart against a real API server (kube-apiserver, controller-manager, scheduler from
 * scripts/k8s-tools/build.sh): installed with no values and with every ci/ values file into a
 * namespace that enforces Pod Security `restricted`, with `helm install --wait` (readiness comes
 * from the pods' containers run as local processes by the local kubelet); every object passes
 * strict server-side field validation; the StatefulSet controller's pods, the volumeClaimTemplates'
 * claims, the headless Service's EndpointSlices and the Job are what the chart promises; a broken
 * chart is refused.
 */
jest.setTimeout(600_000);

let cluster: LocalCluster;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'msd-cluster-install-'));
  cluster = await LocalCluster.start();
  await installMonitoringCrds(cluster.client);
});

afterAll(async () => {
  const pids = cluster?.pids() ?? [];
  await cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
  // Nothing is left behind: every PID the cluster ran is gone.
  const alive = pids.filter(isAlive);
  expect(alive).toEqual([]);
});

interface Sts extends KubeObject {
  spec: { replicas: number; serviceName: string; volumeClaimTemplates?: Array<{ metadata: { name: string } }>; template: { spec: PodSpec } };
  status?: { readyReplicas?: number };
}
interface Pod extends KubeObject {
  spec: PodSpec & { nodeName?: string };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}
interface Slice extends KubeObject {
  endpoints?: Array<{ hostname?: string; conditions?: { ready?: boolean }; targetRef?: { name: string } }>;
}

it('the API server is the pinned Kubernetes version, which helm sees', async () => {
  const versions = builtVersions();
  const v = await cluster.client.request<{ gitVersion: string; major: string; minor: string }>('GET', '/version');
  expect(v.gitVersion).toBe(versions.K8S_VERSION);
  expect(`v${v.major}.${v.minor}`).toBe(versions.K8S_VERSION?.split('.').slice(0, 2).join('.'));
  const r = await cluster.kubectl(['version', '-o', 'json']);
  expect(JSON.parse(r.stdout).serverVersion.gitVersion).toBe(versions.K8S_VERSION);
});

const cases: Array<{ name: string; file?: string }> = [{ name: 'no values' }, ...ciValuesFiles().map((file) => ({ name: path.basename(file), file }))];

describe.each(cases.map((c, i) => ({ ...c, i })))('helm install --wait with $name', ({ file, i }) => {
  const ns = `install-${i}`;
  const release = 'dl';

  it('installs into a restricted namespace, and the controllers create what the chart promises', async () => {
    const rendered = renderChart({ valuesFiles: file ? [file] : [], release, namespace: ns, apiVersions: ['monitoring.coreos.com/v1'] });
    const usesHostPath = rendered.some((o) => ((o.spec as { template?: { spec: PodSpec } })?.template?.spec.volumes ?? []).some((v) => v.hostPath));
    await cluster.createNamespace(ns, usesHostPath ? 'privileged' : 'restricted');
    const pre = await createPreconditions(cluster, ns, file, rendered);
    try {
      const args = ['install', release, CHART_DIR, '-n', ns, '--wait', '--timeout', '240s', ...(file ? ['-f', file] : []), ...pre.set.flatMap((s) => ['--set', s])];
      const installed = await cluster.helm(args, 300_000);
      if (installed.code !== 0) throw new Error(`helm install failed (${installed.code}):\n${installed.stderr}\n--- local kubelet ---\n${cluster.kubelet.describe()}`);
      expect(installed.stderr).not.toMatch(/would violate PodSecurity/);

      const objects = await releaseObjects(cluster, release, ns);
      // Every object is in the API server, and passes strict server-side field validation (applied
      // again as helm wrote it: an upgrade that changes nothing must be accepted too).
      for (const o of objects) expect(await cluster.client.find(await objectPath(cluster, o, ns))).toBeDefined();
      const manifest = path.join(scratch, `${ns}.yaml`);
      writeFileSync(manifest, await releaseManifest(cluster, release, ns));
      const strict = await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=strict-check', '--validate=strict', '--dry-run=server', '-n', ns, '-f', manifest]);
      expect({ code: strict.code, stderr: strict.stderr }).toEqual({ code: 0, stderr: '' });

      // The StatefulSet controller's pods: ordinals 0..N-1, the ordinal label, Ready, on the node.
      const stsObj = objects.find((o) => o.kind === 'StatefulSet') as K8sObject;
      const sts = await cluster.client.get<Sts>(await objectPath(cluster, stsObj, ns));
      const n = sts.spec.replicas;
      expect(sts.status?.readyReplicas).toBe(n);
      const pods = (await cluster.client.list<Pod>(`/api/v1/namespaces/${ns}/pods`)).items.filter((p) => p.metadata.ownerReferences?.some((r) => r.kind === 'StatefulSet' && r.name === sts.metadata.name));
      expect(pods.map((p) => p.metadata.name).sort()).toEqual(Array.from({ length: n }, (_, k) => `${sts.metadata.name}-${k}`).sort());
      for (const p of pods) {
        expect(p.metadata.labels?.['apps.kubernetes.io/pod-index']).toBe(p.metadata.name.slice(sts.metadata.name.length + 1));
        expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      }

      // The claims of its volumeClaimTemplates, one per ordinal, Bound.
      for (const t of sts.spec.volumeClaimTemplates ?? []) {
        for (let k = 0; k < n; k++) {
          const pvc = await cluster.client.get<KubeObject & { status?: { phase?: string } }>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${t.metadata.name}-${sts.metadata.name}-${k}`);
          expect(pvc.status?.phase).toBe('Bound');
        }
      }

      // The headless Service's EndpointSlices: one ready endpoint per pod, named by its hostname.
      const slices = await cluster.client.waitFor('EndpointSlices list every server ready', async () => {
        const list = (await cluster.client.list<Slice>(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, { labelSelector: `kubernetes.io/service-name=${sts.spec.serviceName}` })).items;
        const ready = list.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
        return ready.length === n ? ready : undefined;
      });
      expect(slices.map((e) => e.hostname).sort()).toEqual(pods.map((p) => p.metadata.name).sort());

      // The Job, when the values run the fetcher.
      const jobs = objects.filter((o) => o.kind === 'Job');
      for (const j of jobs) expect(await cluster.client.find(await objectPath(cluster, j, ns))).toBeDefined();
      expect(jobs.length).toBe(rendered.filter((o) => o.kind === 'Job').length);

      // A directory fetched whole: the Job completes with exactly the selected files on its
      // claim, byte for byte, relative paths kept, no .part or set state left; helm test checks
      // every listed file on every server.
      if (pre.tree) await checkDirectoryFetch(ns, release, jobs[0] as K8sObject, pre.tree);
    } finally {
      await pre.stop();
      // Free the node for the next case: its processes stop with the namespace.
      await cluster.client.delete(`/api/v1/namespaces/${ns}`);
    }
  });
});

interface JobStatus extends KubeObject {
  spec: { template: { spec: PodSpec } };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

async function checkDirectoryFetch(ns: string, release: string, job: K8sObject, tree: { files: Record<string, string>; selected: string[] }): Promise<void> {
  expect(tree.selected.length).toBeGreaterThan(1);
  expect(tree.selected.length).toBeLessThan(Object.keys(tree.files).length);
  const done = await cluster.client.waitFor(
    `Job ${job.metadata.name} Complete`,
    async () => {
      const j = await cluster.client.get<JobStatus>(await objectPath(cluster, job, ns));
      if (j.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) throw new Error(`Job ${job.metadata.name} failed: ${JSON.stringify(j.status)}\n${cluster.kubelet.describe()}`);
      return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
    },
    120_000,
    async () => cluster.kubelet.describe(),
  );
  const claim = (done.spec.template.spec.volumes ?? []).map((v) => v.persistentVolumeClaim?.claimName).find((c): c is string => Boolean(c)) as string;
  const outDir = (await cluster.volumes.claimDir(ns, claim)) as string;
  const onDisk = filesBelow(outDir);
  expect(onDisk).not.toContain('.msd-set.state'); // removed once the set is complete
  expect(onDisk.filter((f) => f !== '.msd-set.lock' && !f.startsWith('lost+found/'))).toEqual(tree.selected);
  for (const f of tree.selected) expect(createHash('sha256').update(readFileSync(path.join(outDir, f))).digest('hex')).toBe(tree.files[f]);
  const tested = await cluster.helm(['test', release, '-n', ns, '--timeout', '120s'], 180_000);
  expect({ code: tested.code, stderr: tested.code === 0 ? '' : tested.stderr }).toEqual({ code: 0, stderr: '' });
  expect(tested.stdout).toMatch(/Phase:\s+Succeeded/);
  const testPod = `${job.metadata.name.replace(/-fetcher-[0-9a-f]{8}$/, '')}-check-servers`;
  const log = cluster.kubelet.logs(ns, testPod, 'check-servers');
  expect(log).toMatch(/server 0 of \d+, \d+ files, \d+ bytes/);
  expect(log).toMatch(/check-servers: all \d+ servers OK/);
}

describe('a broken chart is refused by the API server', () => {
  it('a privileged container is refused by Pod Security admission in a restricted namespace', async () => {
    const ns = 'broken-privileged';
    await cluster.createNamespace(ns, 'restricted');
    const chart = path.join(scratch, 'privileged-chart');
    cpSync(CHART_DIR, chart, { recursive: true });
    writeFileSync(
      path.join(chart, 'templates', 'privileged-debug-pod.yaml'),
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: {{ .Release.Name }}-debug',
        'spec:',
        '  containers:',
        '    - name: debug',
        '      image: msd/segment-server:0.1.0',
        '      command: [node, /app/services/segment-server/bin/segment-server.js, --help]',
        '      securityContext:',
        '        privileged: true',
        '',
      ].join('\n'),
    );
    const light = ['--set', 'segmentServer.replicas=1', '--set', 'fetcher.enabled=false'];
    const r = await cluster.helm(['install', 'broken', chart, '-n', ns, ...light, '--timeout', '60s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/forbidden: violates PodSecurity "restricted:latest": privileged/);
    // And the harness is not what refused it: the same pod is admitted where Pod Security allows it.
    await cluster.createNamespace(`${ns}-allowed`, 'privileged');
    const allowed = await cluster.helm(['install', 'broken', chart, '-n', `${ns}-allowed`, ...light, '--timeout', '60s']);
    expect({ code: allowed.code, stderr: allowed.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/forbidden/) });
    await cluster.client.delete(`/api/v1/namespaces/${ns}-allowed`);
  });

  it('an unknown field is refused by strict field validation', async () => {
    const ns = 'broken-fields';
    await cluster.createNamespace(ns, 'restricted');
    const [svc] = renderChart({ release: 'x', namespace: ns }).filter((o) => o.kind === 'Service');
    const bad = { ...(svc as K8sObject), spec: { ...((svc as K8sObject).spec as object), clusterIPs: ['None'], sessionAffinityy: 'None' } };
    await expect(cluster.client.create(`/api/v1/namespaces/${ns}/services`, bad, { fieldValidation: 'Strict' })).rejects.toThrow(/unknown field "spec.sessionAffinityy"/);
    await expect(cluster.client.create(`/api/v1/namespaces/${ns}/services`, bad, { fieldValidation: 'Strict' })).rejects.toBeInstanceOf(KubeApiError);
  });

  it('an upgrade that changes an immutable field is refused, and the release stays on its revision', async () => {
    const ns = 'broken-immutable';
    await cluster.createNamespace(ns, 'restricted');
    // Servers only (no wait): what matters is the output claim, which is immutable once bound.
    const base = ['-n', ns, '--set', 'segmentServer.replicas=1'];
    const first = await cluster.helm(['install', 'imm', CHART_DIR, ...base, '--timeout', '60s']);
    expect({ code: first.code, stderr: first.stderr }).toMatchObject({ code: 0 });
    const pvc = renderChart({ release: 'imm', namespace: ns, set: ['segmentServer.replicas=1'] }).find((o) => o.kind === 'PersistentVolumeClaim') as K8sObject;
    await cluster.volumes.waitClaimDir(ns, pvc.metadata.name);
    const r = await cluster.helm(['upgrade', 'imm', CHART_DIR, ...base, '--set', 'fetcher.output.accessModes={ReadWriteMany}', '--timeout', '60s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/PersistentVolumeClaim.*(is invalid|Forbidden).*immutable|spec is immutable after creation/s);
    const history = await cluster.helm(['history', 'imm', '-n', ns, '-o', 'json']);
    const revisions = JSON.parse(history.stdout) as Array<{ revision: number; status: string }>;
    expect(revisions.find((h) => h.revision === 1)?.status).toBe('deployed');
    await cluster.client.delete(`/api/v1/namespaces/${ns}`);
  });
});
