import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { fetcherJob, findObject, type K8sObject } from './helm';
import { freePortRange, freePorts } from '../helpers/free-ports';
import { PodTranslator, type Cluster, type RunningContainer } from './pod-runner';
import { statefulSetPod, type Container, type JobObject, type PodSpec, type StatefulSetObject } from './workloads';

/**
 * A rendered release run as local processes (see pod-runner.ts): the StatefulSet's pods as its
 * controller would make them (ordinal labels, a claim per volumeClaimTemplate), each claim a
 * local directory under `scratch`, and a free loopback port for every (pod, declared port).
 * Every process it starts is in `running`; stop() kills what is still alive.
 */
export class LocalRelease {
  readonly sts: StatefulSetObject;
  readonly job: JobObject | undefined;
  readonly namespace: string;
  readonly cluster: Cluster;
  readonly running: RunningContainer[] = [];
  readonly servers = new Map<number, RunningContainer>();
  private readonly portMap = new Map<string, number>();

  private constructor(readonly objects: K8sObject[], readonly scratch: string, claims: Record<string, string>) {
    this.sts = findObject<StatefulSetObject>(objects, 'StatefulSet', '-segment-server');
    this.job = objects.some((o) => o.kind === 'Job') ? fetcherJob<JobObject>(objects) : undefined;
    this.namespace = this.sts.metadata.namespace ?? 'downloads';
    const sts = this.sts;
    const replicas = sts.spec.replicas;
    const namespace = this.namespace;
    this.cluster = {
      objects,
      claims: { ...claims },
      hostPaths: {},
      scratch,
      localPort: (podName, port) => {
        const local = this.portMap.get(`${podName}:${port}`);
        if (local === undefined) throw new Error(`pod ${podName} declares no containerPort ${port}`);
        return local;
      },
      podOfHost(host) {
        const m = new RegExp(`^(${sts.metadata.name}-(\\d+))\\.${sts.spec.serviceName}\\.${namespace}\\.svc\\.cluster\\.local$`).exec(host);
        return m && Number(m[2]) < replicas ? m[1] : undefined;
      },
    };
  }

  /** Allocates the ports; `claims` maps claim names to local directories (others are made on use). */
  static async create(objects: K8sObject[], scratch: string, claims: Record<string, string> = {}): Promise<LocalRelease> {
    const r = new LocalRelease(objects, scratch, claims);
    await r.allocatePorts();
    return r;
  }

  get serverContainer(): Container {
    return this.sts.spec.template.spec.containers[0] as Container;
  }

  podName(ordinal: number): string {
    return `${this.sts.metadata.name}-${ordinal}`;
  }

  get jobPodName(): string {
    return `${this.job?.metadata.name ?? 'no-job'}-x`;
  }

  localPort(pod: string, port: number): number {
    return this.cluster.localPort(pod, port);
  }

  /** Local directory of a claim, made on first use (what a provisioner would do). */
  claimDir(claim: string): string {
    let dir = this.cluster.claims[claim];
    if (!dir) {
      dir = path.join(this.scratch, 'claims', claim);
      mkdirSync(dir, { recursive: true });
      this.cluster.claims[claim] = dir;
    }
    return dir;
  }

  private async allocatePorts(): Promise<void> {
    // Data ports of portPerReplica servers keep their spacing (base + ordinal): one env value
    // (MSD_PORT_BASE) sets them all.
    const declared = (this.serverContainer.ports ?? []).map((p) => p.containerPort);
    const perReplicaData = (this.serverContainer.ports ?? []).filter((p) => /^data-\d+$/.test(p.name ?? '')).map((p) => p.containerPort);
    const renderedBase = perReplicaData.length > 0 ? Math.min(...perReplicaData) : 0;
    const localBase = perReplicaData.length > 0 ? await freePortRange(perReplicaData.length) : 0;
    const pods = Array.from({ length: this.sts.spec.replicas }, (_, i) => this.podName(i));
    const jobPorts = ((this.job?.spec.template.spec.containers[0] as Container | undefined)?.ports ?? []).map((p) => p.containerPort);
    const wanted: Array<[string, number]> = [
      ...pods.flatMap((pod) => declared.map((port): [string, number] => [pod, port])),
      ...jobPorts.map((port): [string, number] => [this.jobPodName, port]),
    ];
    const avoid = new Set(perReplicaData.map((port) => localBase + (port - renderedBase)));
    const fresh = await freePorts(wanted.filter(([, port]) => !perReplicaData.includes(port)).length, avoid);
    for (const [pod, port] of wanted) {
      this.portMap.set(`${pod}:${port}`, perReplicaData.includes(port) ? localBase + (port - renderedBase) : (fresh.shift() as number));
    }
  }

  /** Starts one container of a pod; the volumes of its spec are mapped as pod-runner.ts describes. */
  start(pod: { name: string; labels?: Record<string, string> }, spec: PodSpec, container: Container, emptyDirs: Map<string, string>): RunningContainer {
    for (const v of spec.volumes ?? []) if (v.persistentVolumeClaim) this.claimDir(v.persistentVolumeClaim.claimName);
    const r = new PodTranslator(this.cluster, { name: pod.name, namespace: this.namespace, labels: pod.labels ?? {} }, spec, container, emptyDirs).start();
    this.running.push(r);
    return r;
  }

  /** Runs a container to its end (SIGKILL after timeoutMs); returns it with its exit code. */
  async run(pod: { name: string; labels?: Record<string, string> }, spec: PodSpec, container: Container, emptyDirs: Map<string, string>, timeoutMs = 60_000): Promise<RunningContainer & { code: number | null }> {
    const r = this.start(pod, spec, container, emptyDirs);
    const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
    const { code } = await r.exited;
    clearTimeout(timer);
    return { ...r, code };
  }

  /** Like run(), but a non-zero exit throws with the container's output and the servers' logs. */
  async runOk(pod: { name: string; labels?: Record<string, string> }, spec: PodSpec, container: Container, emptyDirs: Map<string, string>, timeoutMs = 120_000): Promise<RunningContainer> {
    const r = await this.run(pod, spec, container, emptyDirs, timeoutMs);
    const { signal } = await r.exited;
    if (r.code !== 0) throw new Error(`${r.name} exited with ${r.code ?? signal}${signal === 'SIGKILL' ? ` (killed after ${timeoutMs} ms)` : ''}; its last output:\n${r.output().slice(-6000)}\n--- server logs ---\n${this.serverLogs()}`);
    return r;
  }

  /**
   * Starts server pod `ordinal` the way the kubelet does: its init containers one after the
   * other (each must succeed), then the server container. `spec` defaults to the release's.
   */
  async startServer(ordinal: number, sts: StatefulSetObject = this.sts): Promise<{ init: RunningContainer[]; server: RunningContainer; emptyDirs: Map<string, string> }> {
    const pod = statefulSetPod(sts, ordinal);
    const emptyDirs = new Map<string, string>();
    const init: RunningContainer[] = [];
    for (const c of pod.spec.initContainers ?? []) init.push(await this.runOk(pod, pod.spec, c, emptyDirs));
    const server = this.start(pod, pod.spec, pod.spec.containers[0] as Container, emptyDirs);
    this.servers.set(ordinal, server);
    return { init, server, emptyDirs };
  }

  /** The Job's pod: its init containers, then the fetcher; returns the fetcher. */
  async runJob(): Promise<RunningContainer> {
    if (!this.job) throw new Error('the release renders no fetcher Job');
    const spec = this.job.spec.template.spec;
    const emptyDirs = new Map<string, string>();
    const pod = { name: this.jobPodName, labels: this.job.spec.template.metadata.labels };
    for (const init of spec.initContainers ?? []) await this.runOk(pod, spec, init, emptyDirs);
    return this.runOk(pod, spec, spec.containers.find((c) => c.name === 'fetcher') as Container, emptyDirs);
  }

  serverLogs(): string {
    return [...this.servers].map(([i, s]) => `server ${i}:\n${s.output().slice(-3000)}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const r of this.running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await Promise.all(this.running.map((r) => r.exited));
  }
}
