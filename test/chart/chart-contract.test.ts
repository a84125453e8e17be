import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CI_DIR, REPO_ROOT, findObject, renderChart, type K8sObject } from './helm';
import { freePortRange, freePorts } from './free-ports';
import { healthStatus, waitServing } from './grpc-health';
import { PodTranslator, type Cluster, type RunningContainer } from './pod-runner';
import type { Container, JobObject, PodSpec, Probe, StatefulSetObject } from './workloads';

/**
 * Contract test: what the chart renders for the StatefulSet and the Job runs, as local processes
 * (see pod-runner.ts for how a container becomes a process), against the built programs:
 *  - every server answers SERVING on each gRPC probe the chart declares, on the declared port;
 *  - the `helm test` pod's command reads data from every server and sees server ID = ordinal;
 *  - the Job's init container and command complete, leaving the verified file on the output claim;
 *  - SIGTERM stops the servers within terminationGracePeriodSeconds.
 */
const BUILT = ['segment-server', 'fetcher'].map((p) => path.join(REPO_ROOT, 'services', p, 'dist', 'main.js'));

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

interface Scenario {
  valuesFile: string;
  replicas: number;
  sourceKind: 'claim' | 'hostPath';
}

const scenarios: Scenario[] = [
  { valuesFile: 'default-values.yaml', replicas: 4, sourceKind: 'claim' },
  { valuesFile: 'eight-replicas-port-per-replica-values.yaml', replicas: 8, sourceKind: 'hostPath' },
];

describe.each(scenarios)('the rendered workloads of $valuesFile run and fetch a verified file', ({ valuesFile, replicas, sourceKind }) => {
  jest.setTimeout(240_000);
  const running: RunningContainer[] = [];
  let scratch = '';

  beforeAll(() => {
    for (const built of BUILT) {
      if (!existsSync(built)) throw new Error(`${built} is missing: run 'make build' first`);
    }
    scratch = mkdtempSync(path.join(tmpdir(), 'msd-contract-'));
  });

  afterAll(async () => {
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await Promise.all(running.map((r) => r.exited));
    rmSync(scratch, { recursive: true, force: true });
  });

  it(`serves from ${replicas} servers, probes SERVING, Job completes`, async () => {
    const objects = renderChart({ valuesFiles: [path.join(CI_DIR, valuesFile)], set: ['fetcher.waitForServersSeconds=60', 'helmTest.probeBytes=100000'] });
    const sts = findObject<StatefulSetObject>(objects, 'StatefulSet', '-segment-server');
    const job = findObject<JobObject>(objects, 'Job', '-fetcher');
    const testPod = findObject(objects, 'Pod', '-check-servers') as K8sObject & { spec: PodSpec };
    const namespace = sts.metadata.namespace ?? 'downloads';
    expect(sts.spec.replicas).toBe(replicas);

    // The file to serve: a few pieces and a ragged end, on the volume the values choose.
    const sourceDir = path.join(scratch, 'source');
    mkdirSync(sourceDir);
    const content = randomBytes(5 * 1024 * 1024 + 12345);
    writeFileSync(path.join(sourceDir, 'data.bin'), content);
    const outputDir = path.join(scratch, 'output');
    mkdirSync(outputDir);
    const stsVolume = sts.spec.template.spec.volumes?.find((v) => v.name === 'data');
    const jobClaim = job.spec.template.spec.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName as string;
    const claims: Record<string, string> = { [jobClaim]: outputDir };
    const hostPaths: Record<string, string> = {};
    if (sourceKind === 'claim') claims[stsVolume?.persistentVolumeClaim?.claimName as string] = sourceDir;
    else hostPaths[stsVolume?.hostPath?.path as string] = sourceDir;

    // Free local ports for every (pod, declared port): data ports of portPerReplica servers
    // keep their spacing (base + ordinal) because one env value (MSD_PORT_BASE) sets them all.
    const serverContainer = sts.spec.template.spec.containers[0] as Container;
    const declared = (serverContainer.ports ?? []).map((p) => p.containerPort);
    const perReplicaData = (serverContainer.ports ?? []).filter((p) => /^data-\d+$/.test(p.name ?? '')).map((p) => p.containerPort);
    const renderedBase = perReplicaData.length > 0 ? Math.min(...perReplicaData) : 0;
    const localBase = perReplicaData.length > 0 ? await freePortRange(perReplicaData.length) : 0;
    const podNames = Array.from({ length: replicas }, (_, i) => `${sts.metadata.name}-${i}`);
    const portMap = new Map<string, number>();
    const jobPorts = ((job.spec.template.spec.containers[0] as Container).ports ?? []).map((p) => p.containerPort);
    const wanted: Array<[string, number]> = [...podNames.flatMap((pod) => declared.map((port): [string, number] => [pod, port])), ...jobPorts.map((port): [string, number] => [`${job.metadata.name}-x`, port])];
    const avoid = new Set(perReplicaData.map((port) => localBase + (port - renderedBase)));
    const fresh = await freePorts(wanted.filter(([, port]) => !perReplicaData.includes(port)).length, avoid);
    for (const [pod, port] of wanted) {
      portMap.set(`${pod}:${port}`, perReplicaData.includes(port) ? localBase + (port - renderedBase) : (fresh.shift() as number));
    }
    const cluster: Cluster = {
      objects,
      claims,
      hostPaths,
      scratch,
      localPort(podName, port) {
        const local = portMap.get(`${podName}:${port}`);
        if (local === undefined) throw new Error(`pod ${podName} declares no containerPort ${port}`);
        return local;
      },
      podOfHost(host) {
        const m = new RegExp(`^(${sts.metadata.name}-(\\d+))\\.${sts.spec.serviceName}\\.${namespace}\\.svc\\.cluster\\.local$`).exec(host);
        return m && Number(m[2]) < replicas ? m[1] : undefined;
      },
    };

    // Start the servers: one process per ordinal, downward API filled in.
    const servers = podNames.map((name, i) => {
      const labels = { ...sts.spec.template.metadata.labels, 'apps.kubernetes.io/pod-index': String(i), 'statefulset.kubernetes.io/pod-name': name };
      const t = new PodTranslator(cluster, { name, namespace, labels }, sts.spec.template.spec, serverContainer, new Map());
      const r = t.start();
      running.push(r);
      return r;
    });

    // Every gRPC probe the chart declares answers SERVING on the declared (mapped) port.
    const probes = [serverContainer.startupProbe, serverContainer.readinessProbe, serverContainer.livenessProbe].filter((p): p is Probe => p !== undefined);
    expect(probes.map((p) => p.grpc?.port)).toEqual([9090, 9090, 9090]);
    try {
      await Promise.all(
        podNames.flatMap((pod) => probes.map((p) => waitServing(`127.0.0.1:${cluster.localPort(pod, p.grpc?.port as number)}`, p.grpc?.service ?? '', 60_000))),
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- server logs ---\n${servers.map((s) => `${s.name}:\n${s.output()}`).join('\n')}`);
    }
    for (const pod of podNames) expect(await healthStatus(`127.0.0.1:${cluster.localPort(pod, 9090)}`)).toBe('SERVING');

    const runToCompletion = async (pod: string, spec: PodSpec, container: Container, emptyDirs: Map<string, string>): Promise<RunningContainer> => {
      const t = new PodTranslator(cluster, { name: pod, namespace, labels: {} }, spec, container, emptyDirs);
      const r = t.start();
      running.push(r);
      const timer = setTimeout(() => r.child.kill('SIGKILL'), 60_000);
      const { code, signal } = await r.exited;
      clearTimeout(timer);
      if (code !== 0) {
        throw new Error(`${r.name} exited with ${code ?? signal}:\n${r.output()}\n--- server logs ---\n${servers.map((s) => `${s.name}:\n${s.output().slice(-3000)}`).join('\n')}`);
      }
      return r;
    };

    // The `helm test` pod: health of each server, server ID = ordinal, first bytes of the file.
    const checked = await runToCompletion(testPod.metadata.name, testPod.spec, testPod.spec.containers[0] as Container, new Map());
    expect(checked.output()).toMatch(new RegExp(`all ${replicas} servers OK`));
    for (let i = 0; i < replicas; i++) expect(checked.output()).toContain(`server ${i} of ${replicas}, file of ${content.length} bytes, read 100000 bytes`);

    // ... and that check fails when the addresses are not in server-ID order.
    const testContainer = testPod.spec.containers[0] as Container;
    const reversedArgs = (testContainer.args ?? []).map((a) => (a.startsWith('--data=') ? `--data=${a.slice(7).split(',').reverse().join(',')}` : a));
    const misordered = new PodTranslator(cluster, { name: testPod.metadata.name, namespace, labels: {} }, testPod.spec, { ...testContainer, args: reversedArgs }, new Map()).start();
    running.push(misordered);
    expect((await misordered.exited).code).toBe(1);
    expect(misordered.output()).toContain(`expected server ID 0, the server says ${replicas - 1}`);

    // The Job: its init container (wait for the servers), then the fetcher.
    const jobPod = `${job.metadata.name}-x`;
    const jobSpec = job.spec.template.spec;
    const emptyDirs = new Map<string, string>();
    for (const init of jobSpec.initContainers ?? []) await runToCompletion(jobPod, jobSpec, init, emptyDirs);
    const fetcher = jobSpec.containers.find((c) => c.name === 'fetcher') as Container;
    await runToCompletion(jobPod, jobSpec, fetcher, emptyDirs);
    expect(readdirSync(outputDir).filter((f) => !f.startsWith('.'))).toContain('data.bin');
    expect(readdirSync(outputDir).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(sha256(path.join(outputDir, 'data.bin'))).toBe(createHash('sha256').update(content).digest('hex'));

    // SIGTERM (what the kubelet sends) stops each server within the grace period.
    const grace = (sts.spec.template.spec as PodSpec & { terminationGracePeriodSeconds?: number }).terminationGracePeriodSeconds ?? 30;
    for (const s of servers) s.child.kill('SIGTERM');
    let graceTimer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      Promise.all(servers.map((s) => s.exited)),
      new Promise<'timeout'>((r) => {
        graceTimer = setTimeout(() => r('timeout'), grace * 1000);
      }),
    ]);
    clearTimeout(graceTimer);
    expect(stopped).not.toBe('timeout');
  });
});
