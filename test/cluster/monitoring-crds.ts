import type { KubeClient } from './kube-client';

/**
 * The Prometheus Operator kinds the chart renders when monitoring.coreos.com/v1 is served
 * (ServiceMonitor, PodMonitor, PrometheusRule), registered as CustomResourceDefinitions so helm's
 * Capabilities see the API and the API server stores the objects. The schemas are open below
 * `spec` (the operator's full CRDs are not available offline); the fields inside are checked offline
 * against the operator's published types by test/chart/crd-fields.ts.
 */
const KINDS = [
  { kind: 'ServiceMonitor', plural: 'servicemonitors' },
  { kind: 'PodMonitor', plural: 'podmonitors' },
  { kind: 'PrometheusRule', plural: 'prometheusrules' },
];

export async function installMonitoringCrds(client: KubeClient): Promise<void> {
  for (const { kind, plural } of KINDS) {
    await client.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.monitoring.coreos.com` },
      spec: {
        group: 'monitoring.coreos.com',
        scope: 'Namespaced',
        names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                required: ['spec'],
                properties: {
                  apiVersion: { type: 'string' },
                  kind: { type: 'string' },
                  metadata: { type: 'object' },
                  spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
            },
          },
        ],
      },
    });
  }
  await client.waitFor('monitoring.coreos.com/v1 served', async () => {
    const list = await client.find<{ metadata: { name: string }; resources?: Array<{ name: string }> }>('/apis/monitoring.coreos.com/v1');
    return list?.resources && list.resources.length >= KINDS.length ? true : undefined;
  });
}
