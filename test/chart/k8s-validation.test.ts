import { validateObject } from './k8s-validation';
import type { K8sObject } from './helm';

/** The validator itself must catch what it claims to: bad types and unknown fields, built-in and CRD. */
describe('k8s object validation', () => {
  const sts = (): K8sObject => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 's' },
    spec: {
      serviceName: 's',
      replicas: 2,
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] } },
    },
  });

  it('accepts a valid object', () => {
    expect(validateObject(sts())).toEqual([]);
  });

  it('rejects a wrong type', () => {
    const o = sts();
    (o.spec as { replicas: unknown }).replicas = 'two';
    expect(validateObject(o).join('\n')).toMatch(/replicas must be integer/);
  });

  it('rejects unknown fields, also deep inside', () => {
    const o = sts();
    const spec = o.spec as Record<string, unknown> & { template: { spec: { containers: Array<Record<string, unknown>> } } };
    spec.replica = 3;
    (spec.template.spec.containers[0] as { ports: Array<Record<string, unknown>> }).ports[0]!.containerport = 81;
    const errors = validateObject(o).join('\n');
    expect(errors).toMatch(/\.spec\.replica: unknown field/);
    expect(errors).toMatch(/\.spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerport: unknown field/);
  });

  it('rejects unknown fields in Prometheus Operator CRDs', () => {
    const sm: K8sObject = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'm', labels: { a: 'b' } },
      spec: { selector: { matchLabels: { a: 'b' } }, endpoints: [{ port: 'metrics', intervall: '5s' }] },
    };
    expect(validateObject(sm)).toEqual(['ServiceMonitor/m: .spec.endpoints[0].intervall: unknown field']);
  });

  it('refuses kinds it has no schema for', () => {
    expect(validateObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })[0]).toMatch(/no schema known/);
  });
});
