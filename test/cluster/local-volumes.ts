import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { KubeClient, KubeObject } from './kube-client';
import { PollLoop } from './poll-loop';

/**
 * A dynamic volume provisioner for the test control plane, in the shape of the real ones
 * (local-path-provisioner, the CSI external-provisioner): a default StorageClass names this
 * provisioner; the PersistentVolume controller (in the real kube-controller-manager) hands each
 * pending claim of that class to it (annotation volume.kubernetes.io/storage-provisioner); this
 * creates a PersistentVolume pre-bound to the claim, backed by a local directory (hostPath), and
 * the controller completes the binding. When the claim is deleted the volume is Released, and
 * this deletes it and its directory (reclaim policy Delete, done here as provisioners do).
 * A claim's directory is what the local kubelet mounts for pods that use it.
 */
export const STORAGE_CLASS = 'local-dir';
const PROVISIONER = 'msd.test/local-dir';

interface Claim extends KubeObject {
  spec: { storageClassName?: string; volumeName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } }; volumeMode?: string };
  status?: { phase?: string };
}
interface Volume extends KubeObject {
  spec: { hostPath?: { path: string }; claimRef?: { namespace: string; name: string; uid?: string } };
  status?: { phase?: string };
}

export class LocalVolumes {
  private lastError = '';
  private readonly classes = new Set<string>();
  private readonly loop = new PollLoop(300, () => this.reconcile(), (err) => {
    this.lastError = err.message;
  });

  constructor(
    private readonly client: KubeClient,
    /** Parent directory of every volume's directory. */
    private readonly root: string,
  ) {}

  async start(): Promise<void> {
    mkdirSync(this.root, { recursive: true });
    await this.addStorageClass(STORAGE_CLASS, true);
    this.loop.start();
  }

  /** Another StorageClass served by this provisioner (values that name a class, e.g. "fast"). */
  async addStorageClass(name: string, isDefault = false): Promise<void> {
    if (await this.client.find(`/apis/storage.k8s.io/v1/storageclasses/${name}`)) return;
    await this.client.create('/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name, ...(isDefault ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } : {}) },
      provisioner: PROVISIONER,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    });
    this.classes.add(name);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** The local directory behind a bound claim (undefined while it is not bound). */
  async claimDir(namespace: string, name: string): Promise<string | undefined> {
    const claim = await this.client.find<Claim>(`/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`);
    if (claim?.status?.phase !== 'Bound' || !claim.spec.volumeName) return undefined;
    const volume = await this.client.get<Volume>(`/api/v1/persistentvolumes/${claim.spec.volumeName}`);
    return volume.spec.hostPath?.path;
  }

  /** Waits until the claim is bound and returns its directory. */
  waitClaimDir(namespace: string, name: string, timeoutMs = 30_000): Promise<string> {
    return this.client.waitFor(`PVC ${namespace}/${name} bound${this.lastError ? ` (provisioner: ${this.lastError})` : ''}`, () => this.claimDir(namespace, name), timeoutMs);
  }

  private async reconcile(): Promise<void> {
    const claims = (await this.client.list<Claim>('/api/v1/persistentvolumeclaims')).items;
    for (const claim of claims) {
      if (claim.spec.volumeName || claim.status?.phase !== 'Pending' || claim.metadata.deletionTimestamp) continue;
      if (!this.classes.has(claim.spec.storageClassName ?? '')) continue;
      await this.provision(claim);
    }
    const volumes = (await this.client.list<Volume>('/api/v1/persistentvolumes')).items;
    for (const v of volumes) {
      if (v.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) continue;
      if (v.status?.phase !== 'Released' && v.status?.phase !== 'Failed') continue;
      if (v.spec.hostPath?.path?.startsWith(this.root)) rmSync(v.spec.hostPath.path, { recursive: true, force: true });
      await this.client.delete(`/api/v1/persistentvolumes/${v.metadata.name}`);
    }
  }

  private async provision(claim: Claim): Promise<void> {
    const name = `pvc-${claim.metadata.uid}`;
    const dir = path.join(this.root, `${claim.metadata.namespace}-${claim.metadata.name}-${(claim.metadata.uid ?? '').slice(0, 8)}`);
    mkdirSync(dir, { recursive: true, mode: 0o777 });
    try {
      await this.client.create('/api/v1/persistentvolumes', {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
        spec: {
          capacity: { storage: claim.spec.resources?.requests?.storage ?? '1Gi' },
          accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'],
          volumeMode: claim.spec.volumeMode ?? 'Filesystem',
          storageClassName: claim.spec.storageClassName,
          // Retain here, deleted by reconcile(): the in-tree deleter only handles hostPath under /tmp
          // with a flag; real provisioners also delete their own volumes.
          persistentVolumeReclaimPolicy: 'Retain',
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid },
          hostPath: { path: dir, type: 'Directory' },
        },
      });
    } catch (err) {
      if (!/AlreadyExists/.test((err as Error).message)) throw err;
    }
  }
}
