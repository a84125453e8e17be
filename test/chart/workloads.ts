import type { K8sObject } from './helm';

/** The parts of rendered workloads the tests read, typed loosely after schema validation. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}
export interface ContainerPort { name?: string; containerPort: number; protocol?: string }
export interface Probe {
  grpc?: { port: number; service?: string };
  httpGet?: { path: string; port: number | string };
  tcpSocket?: { port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
  timeoutSeconds?: number;
}
export interface VolumeMount { name: string; mountPath: string; readOnly?: boolean; subPath?: string }
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: VolumeMount[];
  securityContext?: SecurityContext;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
export interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  hostPath?: { path: string };
  emptyDir?: object;
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  configMap?: { name: string };
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  securityContext?: SecurityContext & { runAsGroup?: number; fsGroup?: number };
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
}
export interface PodTemplate { metadata: { labels: Record<string, string> }; spec: PodSpec }
export interface StatefulSetObject extends K8sObject {
  spec: { replicas: number; serviceName: string; selector: { matchLabels: Record<string, string> }; template: PodTemplate };
}
export interface JobObject extends K8sObject {
  spec: { backoffLimit: number; ttlSecondsAfterFinished?: number; template: PodTemplate };
}

export function envValue(container: Container, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}

export function podSpecs(objects: K8sObject[]): Array<{ owner: string; spec: PodSpec }> {
  const out: Array<{ owner: string; spec: PodSpec }> = [];
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'Pod') out.push({ owner: id, spec: (o as unknown as { spec: PodSpec }).spec });
    if (o.kind === 'StatefulSet' || o.kind === 'Job') out.push({ owner: id, spec: (o as unknown as { spec: { template: PodTemplate } }).spec.template.spec });
  }
  return out;
}

export interface VolumeClaimTemplate { metadata: { name: string }; spec: object }

/**
 * Pod `ordinal` of a StatefulSet as its controller makes it: the template's labels plus the
 * ordinal labels, and for each volumeClaimTemplate a volume on the claim <template>-<pod name>.
 */
export function statefulSetPod(sts: StatefulSetObject, ordinal: number): { name: string; labels: Record<string, string>; spec: PodSpec } {
  const name = `${sts.metadata.name}-${ordinal}`;
  const templates = (sts.spec as { volumeClaimTemplates?: VolumeClaimTemplate[] }).volumeClaimTemplates ?? [];
  const claimVolumes: Volume[] = templates.map((t) => ({ name: t.metadata.name, persistentVolumeClaim: { claimName: `${t.metadata.name}-${name}` } }));
  const spec = sts.spec.template.spec;
  return {
    name,
    labels: { ...sts.spec.template.metadata.labels, 'apps.kubernetes.io/pod-index': String(ordinal), 'statefulset.kubernetes.io/pod-name': name },
    spec: { ...spec, volumes: [...(spec.volumes ?? []), ...claimVolumes] },
  };
}
