import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, type K8sObject } from './helm';
import type { Container, EnvVar, PodSpec, Volume } from './workloads';

/**
 * Runs a rendered container as a local process, the way the kubelet would run it in the image:
 *  - `node` is this Node; paths under /app (the image's WORKDIR, a copy of the repository
 *    layout) are the repository;
 *  - each volumeMount is a local directory: PVCs and hostPaths from the test's map, Secrets
 *    and ConfigMaps filled from the rendered objects, emptyDirs fresh;
 *  - env: literal values, downward-API fieldRefs (pod-index label, name, namespace) filled for
 *    the pod, secretKeyRefs read from the rendered Secret;
 *  - ports: every number the pod declares as a containerPort, and every
 *    <pod>.<service>...svc.<domain>:<port> address, goes through the test's port map, so the
 *    processes listen on free loopback ports; 0.0.0.0 binds become 127.0.0.1.
 * Nothing is inherited from the test's environment but PATH.
 */
export interface PodIdentity {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

export interface Cluster {
  /** Rendered objects (Secrets and ConfigMaps are read from here). */
  objects: K8sObject[];
  /** Local directory of each PVC by claim name, and of each hostPath by node path. */
  claims: Record<string, string>;
  hostPaths: Record<string, string>;
  /** Local port for (pod, declared port); throws for ports the pod does not own. */
  localPort(podName: string, port: number): number;
  /** Pod name behind a stable DNS name, e.g. msd-...-segment-server-2.msd-...svc.cluster.local */
  podOfHost(host: string): string | undefined;
  scratch: string;
  /** Local directory for a volume of a type not mapped here (the cluster test's kubelet fills projected service-account volumes). */
  otherVolume?(volume: Volume): string | undefined;
}

export interface RunningContainer {
  name: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function decodeSecret(cluster: Cluster, name: string, key: string): string {
  const secret = cluster.objects.find((o) => o.kind === 'Secret' && o.metadata.name === name) as (K8sObject & { data?: Record<string, string>; stringData?: Record<string, string> }) | undefined;
  if (!secret) throw new Error(`Secret ${name} is not among the rendered objects`);
  const value = secret.stringData?.[key] ?? (secret.data?.[key] !== undefined ? Buffer.from(secret.data[key] as string, 'base64').toString('utf8') : undefined);
  if (value === undefined) throw new Error(`Secret ${name} has no key ${key}`);
  return value;
}

function configMapData(cluster: Cluster, name: string): Record<string, string> {
  const cm = cluster.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as (K8sObject & { data?: Record<string, string> }) | undefined;
  if (!cm) throw new Error(`ConfigMap ${name} is not among the rendered objects`);
  return cm.data ?? {};
}

/** Local directory for each mountPath of the container. */
function mountDirs(cluster: Cluster, pod: PodIdentity, spec: PodSpec, container: Container, emptyDirs: Map<string, string>): Array<[string, string]> {
  return (container.volumeMounts ?? []).map((m) => {
    const volume = spec.volumes?.find((v) => v.name === m.name);
    if (!volume) throw new Error(`${container.name}: volumeMount ${m.name} has no volume`);
    let dir: string;
    if (volume.persistentVolumeClaim) {
      const d = cluster.claims[volume.persistentVolumeClaim.claimName];
      if (!d) throw new Error(`no local directory for PVC ${volume.persistentVolumeClaim.claimName}`);
      dir = d;
    } else if (volume.hostPath) {
      const d = cluster.hostPaths[volume.hostPath.path];
      if (!d) throw new Error(`no local directory for hostPath ${volume.hostPath.path}`);
      dir = d;
    } else if (volume.secret) {
      dir = mkdtempSync(path.join(cluster.scratch, `${pod.name}-${m.name}-`));
      for (const item of volume.secret.items ?? []) writeFileSync(path.join(dir, item.path), decodeSecret(cluster, volume.secret.secretName, item.key), { mode: 0o440 });
    } else if (volume.configMap) {
      dir = mkdtempSync(path.join(cluster.scratch, `${pod.name}-${m.name}-`));
      for (const [file, text] of Object.entries(configMapData(cluster, volume.configMap.name))) writeFileSync(path.join(dir, file), text);
    } else if (volume.emptyDir) {
      // Shared by the pod's containers, like an emptyDir.
      dir = emptyDirs.get(m.name) ?? mkdtempSync(path.join(cluster.scratch, `${pod.name}-${m.name}-`));
      emptyDirs.set(m.name, dir);
    } else {
      const other = cluster.otherVolume?.(volume);
      if (other === undefined) throw new Error(`${container.name}: volume ${m.name} has a type the contract test does not map`);
      dir = other;
    }
    if (m.subPath) {
      dir = path.join(dir, m.subPath);
      mkdirSync(dir, { recursive: true });
    }
    return [m.mountPath, dir];
  });
}

export class PodTranslator {
  private readonly mounts: Array<[string, string]>;
  private readonly declaredPorts: Set<number>;

  constructor(
    private readonly cluster: Cluster,
    private readonly pod: PodIdentity,
    spec: PodSpec,
    private readonly container: Container,
    emptyDirs: Map<string, string>,
  ) {
    this.mounts = mountDirs(cluster, pod, spec, container, emptyDirs).sort((a, b) => b[0].length - a[0].length);
    this.declaredPorts = new Set((container.ports ?? []).map((p) => p.containerPort));
  }

  /** A path or a string holding paths and pod addresses, as seen from the local process. */
  text(value: string): string {
    let out = value.replace(/([a-z0-9.-]+\.svc\.[a-z0-9.-]+):(\d+)/g, (_all, host: string, port: string) => {
      const podName = this.cluster.podOfHost(host);
      if (!podName) throw new Error(`${this.container.name}: ${host} is not the stable name of any rendered pod`);
      return `127.0.0.1:${this.cluster.localPort(podName, Number(port))}`;
    });
    for (const [mountPath, dir] of this.mounts) {
      if (out === mountPath || out.startsWith(`${mountPath}/`)) return dir + out.slice(mountPath.length);
    }
    if (out.startsWith('/app/')) out = path.join(REPO_ROOT, out.slice('/app/'.length));
    if (/^\/(?!tmp\/)/.test(out) && !out.startsWith(REPO_ROOT) && !out.startsWith(this.cluster.scratch)) {
      throw new Error(`${this.container.name}: path ${out} is neither in the image (/app) nor on a volume`);
    }
    return out;
  }

  arg(value: string): string {
    const flag = /^(--[a-z-]+=)(.*)$/.exec(value);
    if (flag) return (flag[1] as string) + this.text(flag[2] as string);
    return value.startsWith('/') || /\.svc\./.test(value) ? this.text(value) : value;
  }

  envValue(e: EnvVar): string {
    if (e.value !== undefined) {
      if (/^\d+$/.test(e.value) && this.declaredPorts.has(Number(e.value)) && /PORT/.test(e.name)) {
        return String(this.cluster.localPort(this.pod.name, Number(e.value)));
      }
      if (e.value === '0.0.0.0') return '127.0.0.1';
      return e.value.startsWith('/') || /\.svc\./.test(e.value) ? this.text(e.value) : e.value;
    }
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (field) {
      const label = /^metadata\.labels\['(.+)'\]$/.exec(field);
      if (label) {
        const v = this.pod.labels[label[1] as string];
        if (v === undefined) throw new Error(`${e.name}: pod ${this.pod.name} has no label ${label[1]}`);
        return v;
      }
      if (field === 'metadata.name') return this.pod.name;
      if (field === 'metadata.namespace') return this.pod.namespace;
      throw new Error(`${e.name}: fieldRef ${field} is not mapped by the contract test`);
    }
    const secret = e.valueFrom?.secretKeyRef;
    if (secret) return decodeSecret(this.cluster, secret.name, secret.key);
    throw new Error(`${e.name}: env source not mapped by the contract test`);
  }

  /** A shell-style string with the container's mount paths inside it (e.g. an `sh -c` script), as seen locally. */
  embedded(value: string): string {
    if (this.mounts.length === 0) return value;
    // One pass over all mount paths (longest first), so a mapped directory is never mapped again.
    const alternatives = this.mounts.map(([mountPath]) => mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
    const dirs = new Map(this.mounts);
    return value.replace(new RegExp(`(?<![\\w./-])(${alternatives})(?=$|[/\\s"';|&>)])`, 'g'), (mountPath) => dirs.get(mountPath) as string);
  }

  /**
   * Starts the container's command as a local process. The command must be `node` (this project's
   * images), unless `hostPrograms` is set: then another image's program (e.g. busybox `sh`) runs
   * as the host's program of that name, with mount paths mapped inside its arguments too.
   */
  start(options: { hostPrograms?: boolean } = {}): RunningContainer {
    const command = this.container.command ?? [];
    const isNode = command[0] === 'node';
    if (!isNode && !(options.hostPrograms && command[0] && !command[0].includes('/'))) {
      throw new Error(`${this.container.name}: command must start with node (the image's runtime), got ${JSON.stringify(command)}`);
    }
    const rest = [...command.slice(1), ...(this.container.args ?? [])];
    const argv = isNode ? rest.map((a) => this.arg(a)) : rest.map((a) => this.embedded(a));
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const e of this.container.env ?? []) env[e.name] = this.envValue(e);
    const child = spawn(isNode ? process.execPath : (command[0] as string), argv, { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const keep = (chunk: Buffer): void => {
      log = (log + chunk.toString('utf8')).slice(-20000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // A program that cannot be started (not on PATH) exits like a shell says so: 127.
      child.once('error', (err) => {
        keep(Buffer.from(`${err.message}\n`));
        resolve({ code: 127, signal: null });
      });
    });
    return { name: `${this.pod.name}/${this.container.name}`, child, output: () => log, exited };
  }
}
