import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePorts } from '../helpers/free-ports';
import { REPO_ROOT } from '../chart/helm';
import { makeClusterPki, type ClusterPki } from './cluster-pki';
import { KubeClient } from './kube-client';
import { writeKubeconfig } from './kubeconfig';
import { ProcessGroup, type Supervised } from './process-group';

/** Where scripts/k8s-tools/build.sh puts the binaries, and the versions it built. */
export const K8S_BIN = path.join(REPO_ROOT, '.tools', 'k8s', 'bin');
const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;

export function builtVersions(): Record<string, string> {
  const file = path.join(REPO_ROOT, '.tools', 'k8s', 'versions.env');
  if (!existsSync(file)) throw new Error(`CLUSTER_TOOLS_MISSING: ${file} is missing: run 'bash scripts/k8s-tools/build.sh' (make test does)`);
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

function assertToolsBuilt(): void {
  for (const b of BINARIES) {
    if (!existsSync(path.join(K8S_BIN, b))) throw new Error(`CLUSTER_TOOLS_MISSING: ${path.join(K8S_BIN, b)} is missing: run 'bash scripts/k8s-tools/build.sh' (make test does)`);
  }
}

/**
 * The fake nodes pods are scheduled to; kwok keeps them Ready. Four, so that a hard pod
 * anti-affinity across the default 4 servers (what a user sets to spread replicas) can be met.
 */
export const NODE_NAMES = ['msd-node-0', 'msd-node-1', 'msd-node-2', 'msd-node-3'];
const NODE_LABEL = 'msd.test/fake-node';
const SERVICE_CIDR = '10.96.0.0/16';
const SERVICE_IP = '10.96.0.1';

export interface ControlPlaneOptions {
  /** Keep the directory (certificates, logs, etcd data) after stop, e.g. to read the logs. */
  keepDir?: boolean;
  /** false: the caller handles SIGINT/SIGTERM and calls stop() (make cluster-up's daemon). */
  handleSignals?: boolean;
}

/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok (one fake node), on random ports, with a throwaway directory and its
 * own certificates. No kubelet: the pods bound to the node are run by LocalKubelet.
 */
export class ControlPlane {
  readonly client: KubeClient;

  private constructor(
    readonly dir: string,
    readonly server: string,
    /** Admin kubeconfig (system:masters), for helm and kubectl. */
    readonly kubeconfig: string,
    readonly pki: ClusterPki,
    private readonly processes: ProcessGroup,
    private readonly members: Supervised[],
    /** /healthz URLs of the controller-manager and the scheduler. */
    private readonly healthz: string[],
    private readonly options: ControlPlaneOptions,
  ) {
    this.client = new KubeClient({ server, ca: pki.caCert, cert: pki.clients.admin.cert, key: pki.clients.admin.key });
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    assertToolsBuilt();
    const dir = mkdtempSync(path.join(tmpdir(), 'msd-cluster-'));
    for (const d of ['pki', 'logs', 'etcd', 'kwok-home', 'certs']) mkdirSync(path.join(dir, d));
    const processes = new ProcessGroup(path.join(dir, 'logs'), options.handleSignals ?? true);
    const members: Supervised[] = [];
    try {
      const pki = makeClusterPki(path.join(dir, 'pki'), SERVICE_IP);
      const [etcdClient, etcdPeer, apiPort, kcmPort, schedPort] = (await freePorts(5)) as [number, number, number, number, number];
      const server = `https://127.0.0.1:${apiPort}`;
      const bin = (b: string): string => path.join(K8S_BIN, b);
      const kubeconfigs = Object.fromEntries(
        (['admin', 'controller-manager', 'scheduler'] as const).map((id) => [id, writeKubeconfig(path.join(dir, `${id}.kubeconfig`), 'msd-test', server, pki.caCert, pki.clients[id].cert, pki.clients[id].key)]),
      ) as Record<'admin' | 'controller-manager' | 'scheduler', string>;

      const etcd = processes.start('etcd', bin('etcd'), [
        '--name=msd', `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=msd=http://127.0.0.1:${etcdPeer}`,
        // A throwaway store: durability buys nothing here and fsync costs seconds on shared disks.
        '--unsafe-no-fsync', '--log-level=warn',
      ]);
      members.push(etcd);

      const apiserver = processes.start('kube-apiserver', bin('kube-apiserver'), [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
        `--cert-dir=${path.join(dir, 'certs')}`,
        `--tls-cert-file=${pki.serverCert}`, `--tls-private-key-file=${pki.serverKey}`, `--client-ca-file=${pki.caCert}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.serviceAccountPub}`, `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        '--authorization-mode=RBAC',
        // PodSecurity is on by default; named so that a default change cannot silently drop it.
        '--enable-admission-plugins=PodSecurity,NamespaceLifecycle,ServiceAccount,DefaultStorageClass,ResourceQuota',
        // Privileged pods are allowed by the server, so a refusal can only come from Pod Security admission.
        '--allow-privileged=true',
        // The `kubernetes` Service would get 127.0.0.1 as endpoint, which Endpoints validation refuses.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
      ]);
      members.push(apiserver);

      const client = new KubeClient({ server, ca: pki.caCert, cert: pki.clients.admin.cert, key: pki.clients.admin.key });
      await ControlPlane.waitHealthy(client, [etcd, apiserver]);

      const delegated = (kubeconfig: string): string[] => [`--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`];
      members.push(
        processes.start('kube-controller-manager', bin('kube-controller-manager'), [
          ...delegated(kubeconfigs['controller-manager']),
          '--bind-address=127.0.0.1', `--secure-port=${kcmPort}`, `--cert-dir=${path.join(dir, 'certs')}`,
          `--service-account-private-key-file=${pki.serviceAccountKey}`, `--root-ca-file=${pki.caCert}`,
          `--cluster-signing-cert-file=${pki.caCert}`, `--cluster-signing-key-file=${pki.caKey}`,
          '--use-service-account-credentials=true', '--controllers=*', '--leader-elect=false',
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
        ]),
      );
      members.push(
        processes.start('kube-scheduler', bin('kube-scheduler'), [
          ...delegated(kubeconfigs.scheduler),
          '--bind-address=127.0.0.1', `--secure-port=${schedPort}`, '--leader-elect=false',
        ]),
      );

      // The node objects first (a kubelet would register them), then kwok to keep them Ready.
      for (const [i, name] of NODE_NAMES.entries()) {
        await client.create('/api/v1/nodes', {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name,
            labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'topology.kubernetes.io/zone': `zone-${i % 2}`, [NODE_LABEL]: 'true' },
            annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          },
          spec: {},
        });
      }
      members.push(
        processes.start('kwok', bin('kwok'), [
          `--kubeconfig=${kubeconfigs.admin}`, `--config=${path.join(__dirname, 'kwok-node-stages.yaml')}`,
          `--manage-nodes-with-label-selector=${NODE_LABEL}=true`, '--node-ip=10.244.0.1', '--cidr=10.244.0.0/16', '--node-lease-duration-seconds=40',
        ], { HOME: path.join(dir, 'kwok-home') }),
      );

      const healthz = [`https://127.0.0.1:${kcmPort}/healthz`, `https://127.0.0.1:${schedPort}/healthz`];
      const plane = new ControlPlane(dir, server, kubeconfigs.admin, pki, processes, members, healthz, options);
      await plane.waitUsable();
      return plane;
    } catch (err) {
      const logs = members.map((m) => `--- ${m.name} (pid ${m.pid}, exit ${m.child.exitCode ?? m.child.signalCode ?? 'running'}):\n${m.tail(2500)}`).join('\n');
      await processes.stop(2000);
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
  }

  /** /readyz of the API server (which includes its etcd check); fails at once when a process died. */
  private static async waitHealthy(client: KubeClient, watched: Supervised[], timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const dead = watched.find((m) => m.child.exitCode !== null || m.child.signalCode !== null);
      if (dead) throw new Error(`CLUSTER_PROCESS_EXITED: ${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) during start; log: ${dead.logFile}`);
      try {
        await client.request('GET', '/readyz'); // 2xx: ready (the body is plain "ok")
        return;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`CLUSTER_NOT_READY: kube-apiserver not ready within ${timeoutMs} ms (last: ${last})`);
  }

  /**
   * Usable for workloads: the node is Ready (kwok), the controller-manager has created the default
   * ServiceAccount (pods need one), and the scheduler and controller-manager answer /healthz.
   */
  private async waitUsable(): Promise<void> {
    const alive = (): void => {
      const dead = this.members.find((m) => m.child.exitCode !== null || m.child.signalCode !== null);
      if (dead) throw new Error(`CLUSTER_PROCESS_EXITED: ${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}); log: ${dead.logFile}`);
    };
    for (const url of this.healthz) {
      await this.client.waitFor(`${url} answering 200`, async () => {
        alive();
        return (await insecureGet(url)) === 200 ? true : undefined;
      });
    }
    await this.client.waitFor('every node Ready', async () => {
      alive();
      const nodes = await this.client.list<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } }>('/api/v1/nodes');
      const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === NODE_NAMES.length ? true : undefined;
    });
    await this.client.waitFor('default ServiceAccount', async () => {
      alive();
      return (await this.client.find('/api/v1/namespaces/default/serviceaccounts/default')) ? true : undefined;
    });
  }

  /** Stops `child` with this plane, however the plane is stopped (the local kubelet's containers). */
  adopt(child: ChildProcess): void {
    this.processes.adopt(child);
  }

  /** PIDs of the processes still running (the tests check none is left behind). */
  pids(): number[] {
    return this.processes.pids();
  }

  logTail(name: string, bytes = 3000): string {
    return this.members.find((m) => m.name === name)?.tail(bytes) ?? '';
  }

  async stop(): Promise<void> {
    this.client.close();
    await this.processes.stop();
    if (!this.options.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Writes the facts a second process (make cluster-down) needs to stop this plane. */
  writeState(file: string, extra: Record<string, unknown> = {}): void {
    writeFileSync(file, `${JSON.stringify({ dir: this.dir, server: this.server, kubeconfig: this.kubeconfig, pids: this.pids(), ...extra }, null, 2)}\n`);
  }
}

/** An HTTPS GET that accepts the component's self-signed serving certificate (health endpoints only). */
export function insecureGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}
