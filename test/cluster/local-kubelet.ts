import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePortRange, freePorts } from '../helpers/free-ports';
import { healthStatus } from '../chart/grpc-health';
import type { K8sObject } from '../chart/helm';
import { PodTranslator, type Cluster, type RunningContainer } from '../chart/pod-runner';
import type { Container, PodSpec } from '../chart/workloads';
import { NODE_NAMES } from './control-plane';
import type { KubeClient, KubeObject } from './kube-client';
import type { LocalVolumes } from './local-volumes';
import { PollLoop } from './poll-loop';

/**
 * The kubelet of the fake nodes, for pods whose containers run this project's programs: each pod
 * the scheduler binds to one of them is read back from the API server (with its defaults, the
 * StatefulSet's ordinal labels, the Job's labels) and its containers run as local processes by
 * test/chart/pod-runner.ts; the outcome is written to the pod's status subresource the way a
 * kubelet writes it, so the real controllers (StatefulSet, Job, EndpointSlice) react to it:
 *  - init containers in order, then the containers; restartPolicy honoured (Always/OnFailure
 *    restart in place with restartCount, Never leaves them terminated);
 *  - Ready from the readiness probe (grpc, tcpSocket) answered by the process on its mapped port;
 *  - phase Succeeded/Failed with containerStatuses.state.terminated.exitCode when all are done;
 *  - on deletion: SIGTERM, SIGKILL after terminationGracePeriodSeconds, then the final delete.
 * Pod IPs come from 10.244.0.0/16 (Endpoint validation refuses loopback addresses); the processes
 * listen on free loopback ports, and every <pod>.<service>.<ns>.svc address and declared port a
 * container names is mapped to them. A `node` command runs this repository's programs (the image's
 * /app); the command of another image (busybox `sh -c ...`) runs as the host's program of that name; one that
 * cannot be started exits 127, as a shell reports it.
 */
interface Pod extends KubeObject {
  spec: PodSpec & {
    nodeName?: string;
    hostname?: string;
    subdomain?: string;
    terminationGracePeriodSeconds?: number;
  };
  status?: { phase?: string };
}
interface Service extends KubeObject {
  spec: { clusterIP?: string; selector?: Record<string, string> };
}
interface Slice extends KubeObject {
  endpoints?: Array<{ conditions?: { ready?: boolean }; targetRef?: { kind: string; name: string } }>;
}

interface ProjectedSource {
  serviceAccountToken?: { path: string; expirationSeconds?: number };
  configMap?: { name: string; items?: Array<{ key: string; path: string }> };
  downwardAPI?: { items?: Array<{ path: string; fieldRef?: { fieldPath: string } }> };
}

/** A host a container names that has no local process (yet): the container is started later. */
class NotYetThere extends Error {}

interface ContainerRun {
  container: Container;
  run?: RunningContainer;
  restarts: number;
  startedAt?: string;
  ready: boolean;
  terminated?: { exitCode: number; reason: string; message?: string; startedAt: string; finishedAt: string };
}

interface LocalPod {
  key: string;
  uid: string;
  pod: Pod;
  podIP: string;
  ports: Map<number, number>;
  containers: ContainerRun[];
  emptyDirs: Map<string, string>;
  stopping: boolean;
  finished: boolean;
  done: Promise<void>;
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class LocalKubelet {
  private readonly pods = new Map<string, LocalPod>();
  private podsByKey = new Map<string, Pod>();
  private services = new Map<string, Service>();
  private slices: Slice[] = [];
  private readonly usedPorts = new Set<number>();
  private nextIp = 2;
  private readonly loop = new PollLoop(250, () => this.sync(), (err) => {
    this.errors.push(err.message);
    if (this.errors.length > 50) this.errors.shift();
  });
  private stopped = false;
  /** Errors of the sync loop, for the tests' failure messages. */
  readonly errors: string[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly volumes: LocalVolumes,
    private readonly scratch: string,
    /** Called with every process started for a container (so it dies with the cluster). */
    private readonly adopt: (child: ChildProcess) => void,
  ) {}

  start(): void {
    mkdirSync(this.scratch, { recursive: true });
    this.loop.start();
  }

  /** Stops every local process (SIGKILL) and the sync loop; pod objects are left as they are. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
    for (const lp of this.pods.values()) {
      lp.stopping = true;
      for (const c of lp.containers) if (c.run && c.run.child.exitCode === null && c.run.child.signalCode === null) c.run.child.kill('SIGKILL');
    }
    await Promise.all([...this.pods.values()].map((lp) => lp.done));
  }

  /** PIDs of the containers running now. */
  pids(): number[] {
    return [...this.pods.values()].flatMap((lp) => lp.containers.filter((c) => c.run && c.run.child.exitCode === null && c.run.child.signalCode === null).map((c) => c.run?.child.pid as number));
  }

  /** The output of a container of a pod (like `kubectl logs`), '' when it never ran here. */
  logs(namespace: string, pod: string, container?: string): string {
    const lp = this.pods.get(`${namespace}/${pod}`);
    const c = lp?.containers.find((x) => container === undefined || x.container.name === container);
    return c?.run?.output() ?? '';
  }

  /** The local directory of a pod's emptyDir volume (undefined until a container mounted it). */
  emptyDir(namespace: string, pod: string, volume: string): string | undefined {
    return this.pods.get(`${namespace}/${pod}`)?.emptyDirs.get(volume);
  }

  /** Every pod this kubelet ran, with the tail of each container's output (for failure messages). */
  describe(): string {
    return [...this.pods.values()]
      .map((lp) => `${lp.key}: ${lp.containers.map((c) => `${c.container.name} restarts=${c.restarts} ready=${c.ready} ${c.terminated ? `exit=${c.terminated.exitCode} ${c.terminated.message ?? ''}` : c.run ? 'running' : 'waiting'}\n${(c.run?.output() ?? '').slice(-1500)}`).join('\n')}`)
      .concat(this.errors.length ? [`sync errors: ${this.errors.slice(-5).join(' | ')}`] : [])
      .join('\n');
  }

  private async sync(): Promise<void> {
    const [pods, services, slices] = await Promise.all([
      this.client.list<Pod>('/api/v1/pods', { fieldSelector: 'spec.nodeName!=' }),
      this.client.list<Service>('/api/v1/services'),
      this.client.list<Slice>('/apis/discovery.k8s.io/v1/endpointslices'),
    ]);
    pods.items = pods.items.filter((p) => NODE_NAMES.includes(p.spec.nodeName ?? ''));
    this.podsByKey = new Map(pods.items.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
    this.services = new Map(services.items.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
    this.slices = slices.items;
    for (const pod of pods.items) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      let lp = this.pods.get(key);
      if (lp && lp.uid !== pod.metadata.uid) {
        // Same name, new pod (a StatefulSet recreates its ordinals under the same names).
        await this.terminate(lp, 0);
        this.pods.delete(key);
        lp = undefined;
      }
      if (!lp) {
        if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
          if (pod.metadata.deletionTimestamp) await this.client.delete(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, { gracePeriodSeconds: 0 });
          continue;
        }
        lp = await this.admit(pod);
        this.pods.set(key, lp);
      }
      lp.pod = pod;
      if (pod.metadata.deletionTimestamp && !lp.stopping) {
        void this.terminate(lp, pod.spec.terminationGracePeriodSeconds ?? 30).then(() =>
          this.client.delete(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, { gracePeriodSeconds: 0 }).catch((e: Error) => this.errors.push(e.message)),
        );
      }
    }
    // Pods removed without a graceful deletion (force delete, namespace gone): stop their processes.
    for (const [key, lp] of this.pods) {
      if (!this.podsByKey.has(key) && !lp.stopping) void this.terminate(lp, 0);
      if (!this.podsByKey.has(key) && lp.finished) this.pods.delete(key);
    }
  }

  /** Local ports for the pod's declared ports: each run of consecutive ports gets a consecutive range. */
  private async allocatePorts(pod: Pod): Promise<Map<number, number>> {
    const declared = [...new Set([...(pod.spec.initContainers ?? []), ...pod.spec.containers].flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)))].sort((a, b) => a - b);
    const runs: number[][] = [];
    for (const p of declared) {
      const last = runs[runs.length - 1];
      if (last && p === (last[last.length - 1] as number) + 1) last.push(p);
      else runs.push([p]);
    }
    const map = new Map<number, number>();
    for (const run of runs) {
      let base: number;
      if (run.length === 1) base = (await freePorts(1, this.usedPorts))[0] as number;
      else {
        do base = await freePortRange(run.length);
        while (run.some((_, i) => this.usedPorts.has(base + i)));
      }
      run.forEach((p, i) => {
        map.set(p, base + i);
        this.usedPorts.add(base + i);
      });
    }
    return map;
  }

  private async admit(pod: Pod): Promise<LocalPod> {
    const lp: LocalPod = {
      key: `${pod.metadata.namespace}/${pod.metadata.name}`,
      uid: pod.metadata.uid ?? '',
      pod,
      podIP: `10.244.${Math.floor(this.nextIp / 250)}.${(this.nextIp % 250) + 2}`,
      ports: await this.allocatePorts(pod),
      containers: [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((container) => ({ container, restarts: 0, ready: false })),
      emptyDirs: new Map(),
      stopping: false,
      finished: false,
      done: Promise.resolve(),
    };
    this.nextIp++;
    lp.done = this.runPod(lp).catch((err: Error) => {
      this.errors.push(`${lp.key}: ${err.message}`);
    });
    return lp;
  }

  /** The pod-runner view of the cluster for one pod: live Secrets/ConfigMaps, claim directories, this kubelet's port map. */
  private async clusterFor(lp: LocalPod): Promise<Cluster> {
    const ns = lp.pod.metadata.namespace as string;
    const [secrets, configMaps] = await Promise.all([
      this.client.list(`/api/v1/namespaces/${ns}/secrets`),
      this.client.list(`/api/v1/namespaces/${ns}/configmaps`),
    ]);
    const objects = [...secrets.items.map((o) => ({ ...o, kind: 'Secret' })), ...configMaps.items.map((o) => ({ ...o, kind: 'ConfigMap' }))] as unknown as K8sObject[];
    const claims: Record<string, string> = {};
    for (const v of lp.pod.spec.volumes ?? []) {
      const claimName = v.persistentVolumeClaim?.claimName;
      if (!claimName) continue;
      const dir = await this.volumes.claimDir(ns, claimName);
      if (!dir) throw new NotYetThere(`PVC ${claimName} is not bound`);
      claims[claimName] = dir;
    }
    const projected = await this.projectedVolumes(lp);
    const hostPaths: Record<string, string> = {};
    for (const v of lp.pod.spec.volumes ?? []) {
      if (!v.hostPath) continue;
      const dir = path.join(this.scratch, 'host', v.hostPath.path);
      mkdirSync(dir, { recursive: true });
      hostPaths[v.hostPath.path] = dir;
    }
    return {
      objects,
      claims,
      hostPaths,
      scratch: this.scratch,
      localPort: (podName, port) => {
        const target = this.pods.get(`${ns}/${podName}`);
        if (!target) throw new NotYetThere(`pod ${ns}/${podName} has not started here yet`);
        const local = target.ports.get(port);
        if (local === undefined) throw new Error(`CLUSTER_PORT_UNDECLARED: pod ${podName} declares no containerPort ${port}`);
        return local;
      },
      podOfHost: (host) => this.podOfHost(ns, host),
      otherVolume: (volume) => projected.get(volume.name),
    };
  }

  /**
   * Projected volumes (the service-account volume the API server adds to pods that automount a
   * token): a token from the TokenRequest API, ConfigMap keys, downward-API fields, as the kubelet
   * writes them. Made once per pod, shared by its containers.
   */
  private async projectedVolumes(lp: LocalPod): Promise<Map<string, string>> {
    const dirs = new Map<string, string>();
    const ns = lp.pod.metadata.namespace as string;
    for (const v of (lp.pod.spec.volumes ?? []) as Array<{ name: string; projected?: { sources: ProjectedSource[] } }>) {
      if (!v.projected) continue;
      const dir = path.join(this.scratch, `${lp.pod.metadata.name}-${lp.uid.slice(0, 8)}-${v.name}`);
      if (existsSync(dir)) {
        dirs.set(v.name, dir);
        continue;
      }
      mkdirSync(dir, { recursive: true });
      for (const source of v.projected.sources) {
        if (source.serviceAccountToken) {
          const sa = (lp.pod.spec as { serviceAccountName?: string }).serviceAccountName ?? 'default';
          const review = await this.client.create<KubeObject & { status: { token: string } }>(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: { expirationSeconds: source.serviceAccountToken.expirationSeconds ?? 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: lp.pod.metadata.name, uid: lp.uid } },
          });
          writeFileSync(path.join(dir, source.serviceAccountToken.path), review.status.token, { mode: 0o600 });
        }
        if (source.configMap) {
          const cm = await this.client.get<KubeObject & { data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/${source.configMap.name}`);
          for (const item of source.configMap.items ?? Object.keys(cm.data ?? {}).map((key) => ({ key, path: key }))) writeFileSync(path.join(dir, item.path), cm.data?.[item.key] ?? '');
        }
        for (const item of source.downwardAPI?.items ?? []) {
          const field = item.fieldRef?.fieldPath;
          const value = field === 'metadata.namespace' ? ns : field === 'metadata.name' ? lp.pod.metadata.name : field === 'metadata.uid' ? lp.uid : '';
          writeFileSync(path.join(dir, item.path), value);
        }
      }
      dirs.set(v.name, dir);
    }
    return dirs;
  }

  /** <hostname>.<subdomain>.<ns>.svc.<domain> is a pod; <service>.<ns>.svc.<domain> is a ready endpoint of it. */
  private podOfHost(fromNamespace: string, host: string): string | undefined {
    const labels = host.split('.');
    const svcAt = labels.indexOf('svc');
    if (svcAt === 3) {
      const [hostname, subdomain, ns] = labels as [string, string, string];
      if (ns !== fromNamespace) return undefined;
      const pod = [...this.podsByKey.values()].find((p) => p.metadata.namespace === ns && p.spec.hostname === hostname && p.spec.subdomain === subdomain);
      if (!pod || !this.pods.has(`${ns}/${pod.metadata.name}`)) {
        if (this.services.has(`${ns}/${subdomain}`)) throw new NotYetThere(`${host} has no pod yet`);
        return undefined;
      }
      return pod.metadata.name;
    }
    if (svcAt === 2) {
      const [service, ns] = labels as [string, string];
      if (ns !== fromNamespace || !this.services.has(`${ns}/${service}`)) return undefined;
      const ready = this.slices
        .filter((s) => s.metadata.namespace === ns && s.metadata.labels?.['kubernetes.io/service-name'] === service)
        .flatMap((s) => s.endpoints ?? [])
        .find((e) => e.conditions?.ready && e.targetRef?.kind === 'Pod' && this.pods.has(`${ns}/${e.targetRef.name}`));
      if (!ready) throw new NotYetThere(`Service ${ns}/${service} has no ready endpoint yet`);
      return ready.targetRef?.name;
    }
    return undefined;
  }

  /** Starts a container, waiting while the pods or claims it names do not exist yet. */
  private async startContainer(lp: LocalPod, c: ContainerRun): Promise<boolean> {
    while (!lp.stopping) {
      try {
        const cluster = await this.clusterFor(lp);
        const labels = lp.pod.metadata.labels ?? {};
        const t = new PodTranslator(cluster, { name: lp.pod.metadata.name, namespace: lp.pod.metadata.namespace as string, labels }, lp.pod.spec, c.container, lp.emptyDirs);
        c.run = t.start({ hostPrograms: true });
        this.adopt(c.run.child);
        c.startedAt = now();
        c.terminated = undefined;
        return true;
      } catch (err) {
        if (err instanceof NotYetThere) {
          await sleep(300);
          continue;
        }
        const at = now();
        c.terminated = { exitCode: 128, reason: 'StartError', message: (err as Error).message, startedAt: at, finishedAt: at };
        return false;
      }
    }
    return false;
  }

  /** Waits for the container to exit and records it; returns the exit code. */
  private async waitExit(c: ContainerRun): Promise<number> {
    const { code, signal } = await (c.run as RunningContainer).exited;
    const exitCode = code ?? (signal === 'SIGKILL' ? 137 : 143);
    c.terminated = { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: c.startedAt ?? now(), finishedAt: now() };
    c.ready = false;
    return exitCode;
  }

  private async runPod(lp: LocalPod): Promise<void> {
    const policy = lp.pod.spec.restartPolicy ?? 'Always';
    const inits = lp.containers.slice(0, (lp.pod.spec.initContainers ?? []).length);
    const mains = lp.containers.slice(inits.length);
    await this.writeStatus(lp, 'Pending');
    for (const c of inits) {
      for (;;) {
        if (lp.stopping) return this.finish(lp);
        const started = await this.startContainer(lp, c);
        const code = started ? await this.waitExit(c) : (c.terminated?.exitCode ?? 128);
        if (code === 0) break;
        if (policy === 'Never') return this.finish(lp, 'Failed');
        c.restarts++;
        await this.writeStatus(lp, 'Pending');
        await sleep(Math.min(1000 * c.restarts, 5000));
      }
    }
    await Promise.all(mains.map((c) => this.runMain(lp, c, policy)));
    return this.finish(lp);
  }

  /** Runs one container for as long as its restart policy says, probing readiness while it runs. */
  private async runMain(lp: LocalPod, c: ContainerRun, policy: string): Promise<void> {
    for (;;) {
      if (lp.stopping) return;
      const started = await this.startContainer(lp, c);
      if (started) {
        await this.writeStatus(lp, 'Running');
        const probing = this.probeWhileRunning(lp, c);
        const code = await this.waitExit(c);
        await probing;
        if (lp.stopping || policy === 'Never' || (policy === 'OnFailure' && code === 0)) return;
      } else if (policy === 'Never') return;
      c.restarts++;
      await this.writeStatus(lp, 'Running');
      await sleep(Math.min(1000 * c.restarts, 5000));
    }
  }

  private async probeWhileRunning(lp: LocalPod, c: ContainerRun): Promise<void> {
    const probe = (c.container.readinessProbe ?? c.container.startupProbe) as (Container['readinessProbe'] & { tcpSocket?: { port: number } }) | undefined;
    const run = c.run as RunningContainer;
    const alive = (): boolean => run.child.exitCode === null && run.child.signalCode === null && !lp.stopping;
    while (alive()) {
      let ready = false;
      try {
        if (probe?.grpc) ready = (await healthStatus(`127.0.0.1:${lp.ports.get(probe.grpc.port) ?? probe.grpc.port}`, probe.grpc.service ?? '', 1000)) === 'SERVING';
        else if (probe?.tcpSocket) ready = await tcpOpen(lp.ports.get(probe.tcpSocket.port) ?? probe.tcpSocket.port);
        else ready = true;
      } catch {
        ready = false;
      }
      if (ready !== c.ready && alive()) {
        c.ready = ready;
        await this.writeStatus(lp, 'Running');
      }
      await sleep(ready ? 1000 : 300);
    }
  }

  private async terminate(lp: LocalPod, graceSeconds: number): Promise<void> {
    lp.stopping = true;
    const running = lp.containers.filter((c) => c.run && c.run.child.exitCode === null && c.run.child.signalCode === null).map((c) => c.run as RunningContainer);
    for (const r of running) r.child.kill(graceSeconds > 0 ? 'SIGTERM' : 'SIGKILL');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(running.map((r) => r.exited)), new Promise<void>((r) => (timer = setTimeout(r, graceSeconds * 1000)))]);
    clearTimeout(timer);
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await lp.done;
  }

  private async finish(lp: LocalPod, forced?: 'Failed'): Promise<void> {
    lp.finished = true;
    if (lp.stopping) return;
    const mains = lp.containers.slice((lp.pod.spec.initContainers ?? []).length);
    const phase = forced ?? (mains.every((c) => c.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed');
    await this.writeStatus(lp, phase);
  }

  private containerStatus(c: ContainerRun): Record<string, unknown> {
    const running = c.run && c.run.child.exitCode === null && c.run.child.signalCode === null;
    const state = running
      ? { running: { startedAt: c.startedAt } }
      : c.terminated
        ? { terminated: c.terminated }
        : { waiting: { reason: 'PodInitializing' } };
    return {
      name: c.container.name,
      image: c.container.image,
      imageID: '',
      containerID: running ? `local://${c.run?.child.pid}` : undefined,
      ready: Boolean(running && c.ready),
      started: Boolean(running),
      restartCount: c.restarts,
      state,
    };
  }

  private async writeStatus(lp: LocalPod, phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed'): Promise<void> {
    if (this.stopped) return;
    const inits = lp.containers.slice(0, (lp.pod.spec.initContainers ?? []).length);
    const mains = lp.containers.slice(inits.length);
    const initialized = inits.every((c) => c.terminated?.exitCode === 0);
    const ready = phase === 'Running' && mains.every((c) => c.ready);
    const t = now();
    const condition = (type: string, status: boolean, reason?: string): Record<string, unknown> => ({ type, status: status ? 'True' : 'False', lastTransitionTime: t, lastProbeTime: null, ...(reason && !status ? { reason } : {}) });
    const status = {
      phase,
      hostIP: '10.244.0.1',
      hostIPs: [{ ip: '10.244.0.1' }],
      podIP: lp.podIP,
      podIPs: [{ ip: lp.podIP }],
      startTime: lp.pod.metadata.creationTimestamp ?? t,
      qosClass: undefined,
      conditions: [
        condition('PodReadyToStartContainers', true),
        condition('Initialized', initialized, 'ContainersNotInitialized'),
        condition('ContainersReady', ready, phase === 'Succeeded' ? 'PodCompleted' : 'ContainersNotReady'),
        condition('Ready', ready, phase === 'Succeeded' ? 'PodCompleted' : 'ContainersNotReady'),
        condition('PodScheduled', true),
      ],
      initContainerStatuses: inits.map((c) => this.containerStatus(c)),
      containerStatuses: mains.map((c) => this.containerStatus(c)),
    };
    const ns = lp.pod.metadata.namespace as string;
    try {
      await this.client.patch(`/api/v1/namespaces/${ns}/pods/${lp.pod.metadata.name}/status`, { status }, 'strategic');
    } catch (err) {
      if (!/NotFound| 404 /.test((err as Error).message)) this.errors.push(`${lp.key} status: ${(err as Error).message}`);
    }
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
