import { renderChart, type K8sObject } from './helm';
import { envValue, podSpecs, type PodSpec } from './workloads';

/**
 * The extension points charts conventionally offer (bitnami, ingress-nginx): common labels and
 * annotations, a ServiceAccount, security contexts a platform can override (OpenShift picks the
 * UID), a priority class, extra env, and servers spread over nodes by default.
 */
type FullPodSpec = PodSpec & {
  serviceAccountName?: string;
  priorityClassName?: string;
  affinity?: { podAntiAffinity?: Record<string, unknown> };
};
const specsOf = (objects: K8sObject[]): Array<{ owner: string; spec: FullPodSpec }> => podSpecs(objects) as Array<{ owner: string; spec: FullPodSpec }>;
const server = (objects: K8sObject[]): FullPodSpec => (specsOf(objects).find((p) => p.owner.startsWith('StatefulSet/')) as { spec: FullPodSpec }).spec;

describe('extension points', () => {
  it('puts commonLabels and commonAnnotations on every object, and commonLabels on the pod templates', () => {
    const objects = renderChart({ set: ['commonLabels.team=data', 'commonAnnotations.owner=ops'], apiVersions: ['monitoring.coreos.com/v1'] });
    for (const o of objects) {
      expect([o.kind, o.metadata.labels?.team]).toEqual([o.kind, 'data']);
      expect([o.kind, o.metadata.annotations?.owner]).toEqual([o.kind, 'ops']);
    }
    for (const o of objects.filter((x) => x.kind === 'StatefulSet' || x.kind === 'Job')) {
      expect((o as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec.template.metadata.labels.team).toBe('data');
    }
  });

  it('runs every pod under its own ServiceAccount with no API token, or under the one named', () => {
    const objects = renderChart({});
    const sa = objects.find((o) => o.kind === 'ServiceAccount') as K8sObject & { automountServiceAccountToken: boolean };
    expect(sa.metadata.name).toBe('msd-multi-server-downloader');
    expect(sa.automountServiceAccountToken).toBe(false);
    for (const { spec } of specsOf(objects)) {
      expect(spec.serviceAccountName).toBe(sa.metadata.name);
      expect(spec.automountServiceAccountToken).toBe(false);
    }
    const existing = renderChart({ set: ['serviceAccount.create=false', 'serviceAccount.name=shared'] });
    expect(existing.some((o) => o.kind === 'ServiceAccount')).toBe(false);
    for (const { spec } of specsOf(existing)) expect(spec.serviceAccountName).toBe('shared');
  });

  it('lets a platform choose the UID (keys set to null go), and takes another UID when given', () => {
    const open = renderChart({ set: ['segmentServer.podSecurityContext.runAsUser=null', 'segmentServer.podSecurityContext.fsGroup=null', 'segmentServer.containerSecurityContext.runAsUser=null'] });
    const s = server(open);
    expect(s.securityContext?.runAsUser).toBeUndefined();
    expect(s.securityContext?.fsGroup).toBeUndefined();
    expect(s.securityContext?.runAsNonRoot).toBe(true);
    for (const c of [...s.containers, ...(s.initContainers ?? [])]) {
      expect(c.securityContext?.runAsUser).toBeUndefined();
      expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
    }
    const other = renderChart({ set: ['fetcher.podSecurityContext.runAsUser=1000680000'] });
    const job = specsOf(other).find((p) => p.owner.startsWith('Job/'))?.spec;
    expect(job?.securityContext?.runAsUser).toBe(1000680000);
  });

  it('sets priorityClassName and extra env where asked', () => {
    const objects = renderChart({ set: ['segmentServer.priorityClassName=high', 'fetcher.priorityClassName=batch', 'segmentServer.extraEnv[0].name=A', 'segmentServer.extraEnv[0].value=one', 'fetcher.extraEnv[0].name=B', 'fetcher.extraEnv[0].value=two'] });
    const byOwner = Object.fromEntries(specsOf(objects).map((p) => [p.owner.split('/')[0], p.spec]));
    expect(byOwner.StatefulSet?.priorityClassName).toBe('high');
    expect(byOwner.Job?.priorityClassName).toBe('batch');
    expect(envValue(byOwner.StatefulSet?.containers[0] as never, 'A')).toBe('one');
    expect(envValue((byOwner.Job as FullPodSpec).containers.find((c) => c.name === 'fetcher') as never, 'B')).toBe('two');
  });

  it('spreads the servers over nodes by default (soft), on request strictly (hard), and yields to an explicit affinity', () => {
    expect(Object.keys(server(renderChart({})).affinity?.podAntiAffinity ?? {})).toEqual(['preferredDuringSchedulingIgnoredDuringExecution']);
    expect(Object.keys(server(renderChart({ set: ['segmentServer.podAntiAffinityPreset=hard'] })).affinity?.podAntiAffinity ?? {})).toEqual(['requiredDuringSchedulingIgnoredDuringExecution']);
    expect(server(renderChart({ set: ['segmentServer.podAntiAffinityPreset='] })).affinity).toBeUndefined();
    const explicit = server(renderChart({ set: ['segmentServer.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=disk', 'segmentServer.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists'] }));
    expect(Object.keys(explicit.affinity ?? {})).toEqual(['nodeAffinity']);
  });
});
