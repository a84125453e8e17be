import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { HELM, KUBECTL } from '../chart/helm';
import { ControlPlane, type ControlPlaneOptions } from './control-plane';
import { LocalKubelet } from './local-kubelet';
import { LocalVolumes } from './local-volumes';

/**
 * A whole local cluster: the control plane, the volume provisioner and the local kubelet, plus
 * helm and kubectl bound to its admin kubeconfig. One per test file (start in beforeAll, stop in
 * afterAll), or one for `make cluster-up`.
 */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class LocalCluster {
  private constructor(
    readonly plane: ControlPlane,
    readonly volumes: LocalVolumes,
    readonly kubelet: LocalKubelet,
  ) {}

  static async start(options: ControlPlaneOptions = {}): Promise<LocalCluster> {
    const plane = await ControlPlane.start(options);
    const volumes = new LocalVolumes(plane.client, path.join(plane.dir, 'volumes'));
    const kubelet = new LocalKubelet(plane.client, volumes, path.join(plane.dir, 'kubelet'), (child) => plane.adopt(child));
    try {
      await volumes.start();
      kubelet.start();
    } catch (err) {
      await volumes.stop();
      await kubelet.stop();
      await plane.stop();
      throw err;
    }
    for (const d of ['helm-cache', 'helm-config', 'helm-data']) mkdirSync(path.join(plane.dir, d), { recursive: true });
    return new LocalCluster(plane, volumes, kubelet);
  }

  get client(): ControlPlane['client'] {
    return this.plane.client;
  }

  get kubeconfig(): string {
    return this.plane.kubeconfig;
  }

  /** Environment for helm/kubectl: this cluster's kubeconfig and helm's state inside its directory. */
  env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: this.plane.dir,
      KUBECONFIG: this.plane.kubeconfig,
      HELM_CACHE_HOME: path.join(this.plane.dir, 'helm-cache'),
      HELM_CONFIG_HOME: path.join(this.plane.dir, 'helm-config'),
      HELM_DATA_HOME: path.join(this.plane.dir, 'helm-data'),
    };
  }

  /**
   * Runs a command asynchronously (never spawnSync: the local kubelet runs pods on this event loop,
   * and `helm install --wait` waits for them).
   */
  run(command: string, args: string[], timeoutMs = 180_000): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr: signal ? `${stderr}\n(killed by ${signal} after ${timeoutMs} ms)` : stderr });
      });
    });
  }

  helm(args: string[], timeoutMs?: number): Promise<CommandResult> {
    return this.run(HELM, args, timeoutMs);
  }

  kubectl(args: string[], timeoutMs?: number): Promise<CommandResult> {
    return this.run(KUBECTL, args, timeoutMs);
  }

  /** A namespace with the Pod Security level enforced (and warned/audited) as given. */
  async createNamespace(name: string, level: 'restricted' | 'baseline' | 'privileged' = 'restricted'): Promise<void> {
    const labels: Record<string, string> = {};
    for (const mode of ['enforce', 'warn', 'audit']) labels[`pod-security.kubernetes.io/${mode}`] = level;
    labels['pod-security.kubernetes.io/enforce-version'] = 'latest';
    await this.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  }

  /** PIDs of everything this cluster runs: control-plane processes and pod containers. */
  pids(): number[] {
    return [...this.plane.pids(), ...this.kubelet.pids()];
  }

  async stop(): Promise<void> {
    await this.kubelet.stop();
    await this.volumes.stop();
    await this.plane.stop();
  }
}
