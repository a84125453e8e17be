import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, fetcherJob, findObject, renderChart, type K8sObject } from './helm';
import { validateObject } from './k8s-validation';
import { LocalRelease } from './local-release';
import { waitProbe } from './probes';
import type { Container, PodSpec } from './workloads';

/**
 * docs/operations.md, "Using what was fetched": the fetcher as an init container of the user's own
 * pod. The example is read from the document itself, validated like the chart's objects, and its
 * init container runs against servers installed the way the document says: killed halfway it
 * resumes from the state on the pod's volume, and a restart with the file in place downloads nothing.
 */
const DOC = path.join(REPO_ROOT, 'docs', 'operations.md');

function example(): K8sObject & { spec: PodSpec } {
  const text = readFileSync(DOC, 'utf8');
  const m = /<!-- example: fetcher-init-container[^>]*-->\s*```yaml\n([\s\S]*?)```/.exec(text);
  if (!m) throw new Error('docs/operations.md has no fetcher-init-container example');
  return parse(m[1] as string) as K8sObject & { spec: PodSpec };
}

describe('the fetcher as an init container (docs/operations.md example)', () => {
  jest.setTimeout(120_000);
  const scratch = mkdtempSync(path.join(tmpdir(), 'msd-init-example-'));
  const pod = example();
  // Installed as the document says; small, slowed servers so that a kill lands mid-download.
  const values = ['fetcher.enabled=false', 'networkPolicy.extraClients[0].podSelector.matchLabels.app=model-server', 'source.demo.size=6Mi', 'segmentServer.rateLimit=512KiB'];
  const objects = renderChart({ release: 'dl', namespace: 'default', set: values });
  let release: LocalRelease;

  beforeAll(async () => {
    release = await LocalRelease.create(objects, scratch);
  });
  afterAll(async () => {
    await release?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('is a valid restricted pod that names the chart\'s own image, servers, token Secret, and is let through the NetworkPolicy', () => {
    expect(validateObject(pod)).toEqual([]);
    const init = pod.spec.initContainers?.[0] as Container;
    const jobContainer = fetcherJob<K8sObject & { spec: { template: { spec: PodSpec } } }>(renderChart({ release: 'dl', namespace: 'default' })).spec.template.spec.containers.find((c) => c.name === 'fetcher') as Container;
    expect(init.image).toBe(jobContainer.image);
    expect(init.command).toEqual(jobContainer.command);
    expect(init.env?.find((e) => e.name === 'MSD_SERVERS')?.value).toBe(jobContainer.env?.find((e) => e.name === 'MSD_SERVERS')?.value);
    const secret = pod.spec.volumes?.find((v) => v.secret)?.secret?.secretName;
    expect(secret).toBe(findObject(objects, 'Secret', '-token').metadata.name);
    const np = findObject(objects, 'NetworkPolicy', '-segment-server') as K8sObject & { spec: { ingress: Array<{ from: Array<{ podSelector?: { matchLabels?: Record<string, string> } }> }> } };
    const allowed = np.spec.ingress.some((r) => r.from.some((p) => p.podSelector?.matchLabels && Object.entries(p.podSelector.matchLabels).every(([k, v]) => pod.metadata.labels?.[k] === v)));
    expect(allowed).toBe(true);
    for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  });

  it('fetches into the pod\'s volume, resumes after a kill, and starts at once when the file is there', async () => {
    for (let i = 0; i < 4; i++) await release.startServer(i);
    for (let i = 0; i < 4; i++) {
      await waitProbe(release.serverContainer.readinessProbe as NonNullable<Container['readinessProbe']>, release.serverContainer, (port) => release.localPort(release.podName(i), port));
    }
    const init = pod.spec.initContainers?.[0] as Container;
    const emptyDirs = new Map<string, string>();
    const identity = { name: pod.metadata.name, labels: pod.metadata.labels };

    const first = release.start(identity, pod.spec, init, emptyDirs);
    // Killed once some pieces are verified and a state save (every second) has followed.
    const deadline = Date.now() + 30_000;
    while (!/pieces [1-5]\/6/.test(first.output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1200));
    first.child.kill('SIGKILL');
    await first.exited;
    const models = emptyDirs.get('models') as string;
    expect(first.output()).not.toMatch(/download complete/);
    expect(readdirSync(models).some((f) => f.endsWith('.part'))).toBe(true);

    const second = await release.runOk(identity, pod.spec, init, emptyDirs);
    const done = /"resumedBytes":(\d+)/.exec(second.output());
    expect(Number(done?.[1])).toBeGreaterThan(0);
    expect(readFileSync(path.join(models, 'demo.bin')).length).toBe(6 * 1024 * 1024);

    const third = await release.runOk(identity, pod.spec, init, emptyDirs);
    expect(third.output()).toMatch(/already complete/);
    expect(third.output()).toMatch(/"bytesReceived":0/);
  });
});
