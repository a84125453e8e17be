import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CHART_DIR, CI_DIR, HELM, fetcherJob, findObject, renderChart, type K8sObject } from './helm';
import { envValue, podSpecs, type Container, type JobObject, type StatefulSetObject } from './workloads';

/** What the chart promises, read off what it renders. */
const ci = (name: string): string => path.join(CI_DIR, name);

function render(file: string, set: string[] = []): K8sObject[] {
  return renderChart({ valuesFiles: [ci(file)], set, apiVersions: ['monitoring.coreos.com/v1'] });
}
const server = (objects: K8sObject[]): StatefulSetObject => findObject<StatefulSetObject>(objects, 'StatefulSet', '-segment-server');
const serverContainer = (objects: K8sObject[]): Container => server(objects).spec.template.spec.containers[0] as Container;
const job = (objects: K8sObject[]): JobObject => fetcherJob(objects);
const fetcherContainer = (objects: K8sObject[]): Container => job(objects).spec.template.spec.containers.find((c) => c.name === 'fetcher') as Container;

describe.each([
  ['one-replica-values.yaml', 1, false],
  ['default-values.yaml', 4, false],
  ['eight-replicas-port-per-replica-values.yaml', 8, true],
])('%s', (file, n, perReplica) => {
  const objects = render(file);
  const sts = server(objects);
  const c = serverContainer(objects);
  const dataPort = (i: number): number => (perReplica ? 4450 + i : 4450);

  it(`runs ${n} servers whose IDs are the ordinals 0..${n - 1}`, () => {
    expect(sts.spec.replicas).toBe(n);
    expect(envValue(c, 'MSD_NUM_SERVERS')).toBe(String(n));
    const id = c.env?.find((e) => e.name === 'MSD_SERVER_ID');
    expect(id?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['apps.kubernetes.io/pod-index']");
  });

  it('gives each server its data port: the same, or base + ordinal', () => {
    if (perReplica) {
      expect(envValue(c, 'MSD_PORT_BASE')).toBe('4450');
      expect(envValue(c, 'MSD_PORT')).toBeUndefined();
    } else {
      expect(envValue(c, 'MSD_PORT')).toBe('4450');
      expect(envValue(c, 'MSD_PORT_BASE')).toBeUndefined();
    }
    const declared = (c.ports ?? []).filter((p) => p.name?.startsWith('data')).map((p) => p.containerPort);
    expect(declared).toEqual(Array.from({ length: perReplica ? n : 1 }, (_, i) => dataPort(i)));
  });

  it('lists exactly the N server addresses, in ID order, in the Job', () => {
    const servers = envValue(fetcherContainer(objects), 'MSD_SERVERS')?.split(',');
    const svc = sts.spec.serviceName;
    expect(servers).toEqual(Array.from({ length: n }, (_, i) => `${sts.metadata.name}-${i}.${svc}.downloads.svc.cluster.local:${dataPort(i)}`));
    const headless = findObject(objects, 'Service', '-segment-server') as K8sObject & { spec: { clusterIP: string; selector: Record<string, string> } };
    expect(headless.metadata.name).toBe(svc);
    expect(headless.spec.clusterIP).toBe('None');
    expect(sts.spec.template.metadata.labels).toMatchObject(headless.spec.selector);
  });

  it('gates readiness on gRPC health, and startup and liveness on the process answering at all', () => {
    const grpcPort = Number(envValue(c, 'MSD_GRPC_PORT'));
    expect(grpcPort).toBe(9090);
    expect(envValue(c, 'MSD_METRICS_BIND')).toBe('0.0.0.0');
    // Readiness: grpc.health.v1 on the numeric port, NOT_SERVING while indexing and draining.
    expect(c.readinessProbe?.grpc?.port).toBe(grpcPort);
    // Startup and liveness: never the health service that drain turns NOT_SERVING.
    for (const probe of [c.startupProbe, c.livenessProbe]) {
      expect(probe?.grpc).toBeUndefined();
      expect(probe?.httpGet).toEqual({ path: '/metrics', port: 'metrics' });
    }
    expect(c.ports?.find((p) => p.name === 'grpc')?.containerPort).toBe(grpcPort);
    expect(c.ports?.find((p) => p.name === 'metrics')?.containerPort).toBe(Number(envValue(c, 'MSD_METRICS_PORT')));
  });

  it('lets the servers and the fetcher Job reach each other through the NetworkPolicy', () => {
    const np = findObject(objects, 'NetworkPolicy', '-segment-server') as K8sObject & {
      spec: { ingress: Array<{ from: Array<{ podSelector?: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number; endPort?: number }> }> };
    };
    const fetcherLabels = job(objects).spec.template.metadata.labels;
    const rule = np.spec.ingress.find((r) => r.from.some((p) => p.podSelector && Object.entries(p.podSelector.matchLabels).every(([k, v]) => fetcherLabels[k] === v)));
    expect(rule).toBeDefined();
    expect(rule?.ports).toEqual(expect.arrayContaining([{ protocol: 'TCP', port: 4450, ...(perReplica ? { endPort: 4450 + n - 1 } : {}) }, { protocol: 'TCP', port: 9090 }]));
  });
});

describe('every pod of every values file', () => {
  const all = ['default-values.yaml', 'eight-replicas-port-per-replica-values.yaml', 'fetcher-off-values.yaml', 'existing-claims-values.yaml', 'subchart-values.yaml'].flatMap((f) =>
    podSpecs(render(f)).map((p) => ({ ...p, file: f })),
  );

  it.each(all.map((p) => [`${p.file} ${p.owner}`, p]))('meets the restricted Pod Security Standard: %s', (_id, { spec }) => {
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    // A fixed UID unless the values hand the choice to the platform (OpenShift's UID ranges).
    expect(spec.securityContext?.runAsUser).toBe(_id.startsWith('subchart-values') ? undefined : 10001);
    expect(spec.automountServiceAccountToken).toBe(false);
    for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
      expect(c.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);
      expect(c.resources?.requests).toBeDefined();
      expect(c.resources?.limits?.memory).toBeDefined();
    }
    for (const v of spec.volumes ?? []) expect(v.hostPath).toBeUndefined();
  });

  it('labels every object with app.kubernetes.io/*', () => {
    for (const o of render('monitors-values.yaml')) {
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'multi-server-downloader',
        'app.kubernetes.io/instance': 'msd',
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/version': '0.1.0',
      });
    }
  });
});

describe('the fetcher Job', () => {
  const objects = render('eight-replicas-port-per-replica-values.yaml');
  const j = job(objects);
  const c = fetcherContainer(objects);

  it('resumes after a killed pod from state on its PVC', () => {
    expect(j.spec.backoffLimit).toBeGreaterThan(0);
    expect(j.spec.ttlSecondsAfterFinished).toBe(86400);
    expect(j.spec.template.spec.restartPolicy).toBe('Never');
    expect(envValue(c, 'MSD_OUTPUT')).toBe('/out/');
    const out = c.volumeMounts?.find((m) => m.mountPath === '/out');
    const vol = j.spec.template.spec.volumes?.find((v) => v.name === out?.name);
    const pvc = findObject(objects, 'PersistentVolumeClaim', '-output');
    expect(vol?.persistentVolumeClaim?.claimName).toBe(pvc.metadata.name);
  });

  it('does not spend backoffLimit on servers that are still filling, evictions, and fails at once on bad settings', () => {
    const rules = (j.spec as unknown as { podFailurePolicy: { rules: Array<{ action: string; onExitCodes?: { containerName: string; values: number[] }; onPodConditions?: Array<{ type: string }> }> } }).podFailurePolicy.rules;
    expect(rules).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'Ignore', onPodConditions: [expect.objectContaining({ type: 'DisruptionTarget' })] }),
      expect.objectContaining({ action: 'Ignore', onExitCodes: expect.objectContaining({ containerName: 'wait-for-servers', values: [1] }) }),
      expect.objectContaining({ action: 'FailJob', onExitCodes: expect.objectContaining({ containerName: 'fetcher', values: [2] }) }),
    ]));
    expect(j.spec.template.spec.initContainers?.map((c) => c.name)).toContain('wait-for-servers');
  });

  it('passes the Pushgateway URL and OTEL_* through', () => {
    expect(envValue(c, 'MSD_PUSHGATEWAY_URL')).toBe('http://pushgateway.monitoring.svc:9091');
    expect(envValue(c, 'OTEL_EXPORTER_OTLP_ENDPOINT')).toBe('http://otel-collector.monitoring.svc:4318');
    expect(envValue(c, 'OTEL_SERVICE_NAME')).toBe('msd-fetcher');
  });

  it('reads the shared token from the Secret the servers use', () => {
    const s = serverContainer(objects);
    for (const container of [s, c]) expect(envValue(container, 'MSD_TOKEN_FILE')).toBe('/var/run/secrets/msd/token');
    const secretNames = [server(objects).spec.template.spec, j.spec.template.spec].map((p) => p.volumes?.find((v) => v.secret)?.secret?.secretName);
    expect(secretNames[0]).toBe(findObject(objects, 'Secret', '-token').metadata.name);
    expect(secretNames[1]).toBe(secretNames[0]);
  });

  it('uses an existing output claim and token Secret when given', () => {
    const other = render('existing-claims-values.yaml');
    expect(other.filter((o) => o.kind === 'PersistentVolumeClaim' || o.kind === 'Secret')).toEqual([]);
    const spec = job(other).spec.template.spec;
    expect(spec.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName).toBe('downloads');
    expect(spec.volumes?.find((v) => v.secret)?.secret).toMatchObject({ secretName: 'msd-token', items: [{ key: 'shared-token', path: 'token' }] });
    const srvMount = serverContainer(other).volumeMounts?.find((m) => m.mountPath === '/data');
    expect(srvMount).toMatchObject({ readOnly: true, subPath: 'releases/2024' });
  });

  it('is absent when fetcher.enabled is false', () => {
    const off = render('fetcher-off-values.yaml');
    expect(off.filter((o) => o.kind === 'Job' || o.kind === 'PersistentVolumeClaim' || o.kind === 'PodMonitor')).toEqual([]);
    expect(server(off).spec.template.spec.initContainers?.[0]?.command?.slice(0, 2)).toEqual(['node', '-e']);
  });
});

describe('optional objects', () => {
  it('renders ServiceMonitor and PodMonitor only when the API exists or a value forces it', () => {
    const file = [ci('monitors-values.yaml')];
    const kinds = (objs: K8sObject[]): string[] => objs.map((o) => o.kind).filter((k) => k.endsWith('Monitor')).sort();
    expect(kinds(renderChart({ valuesFiles: file, apiVersions: ['monitoring.coreos.com/v1'] }))).toEqual(['PodMonitor', 'ServiceMonitor']);
    expect(kinds(renderChart({ apiVersions: ['monitoring.coreos.com/v1'] }))).toEqual(['PodMonitor', 'ServiceMonitor']);
    expect(kinds(renderChart({ valuesFiles: file }))).toEqual([]);
    expect(kinds(renderChart({ valuesFiles: file, set: ['serviceMonitor.force=true'] }))).toEqual(['ServiceMonitor']);
    const sm = findObject(renderChart({ valuesFiles: file, apiVersions: ['monitoring.coreos.com/v1'] }), 'ServiceMonitor') as K8sObject & { spec: { endpoints: Array<{ port: string; path: string }> } };
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
  });

  it('ships the dashboard ConfigMap with the grafana_dashboard label', () => {
    const cm = findObject(render('default-values.yaml'), 'ConfigMap', '-dashboard') as K8sObject & { data: Record<string, string> };
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(() => JSON.parse(cm.data['multi-server-downloader.json'] ?? '')).not.toThrow();
  });

  it('has a helm test hook that checks each server and reads data', () => {
    const objects = render('default-values.yaml');
    const pod = findObject(objects, 'Pod', '-check-servers') as K8sObject & { spec: { containers: Container[] } };
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const args = pod.spec.containers[0]?.args ?? [];
    expect(args.find((a) => a.startsWith('--grpc='))?.split(',')).toHaveLength(4);
    expect(args.find((a) => a.startsWith('--data='))).toBe(`--data=${envValue(fetcherContainer(objects), 'MSD_SERVERS')}`);
  });

  it('creates a PodDisruptionBudget selecting the servers', () => {
    const objects = render('default-values.yaml');
    const pdb = findObject(objects, 'PodDisruptionBudget') as K8sObject & { spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } };
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(server(objects).spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
  });
});

describe('NOTES.txt', () => {
  it('tells how to watch the Job, run the checks and open the dashboard', () => {
    const out = execFileSync(HELM, ['install', 'msd', CHART_DIR, '--dry-run=client', '-n', 'downloads'], { encoding: 'utf8' });
    const notes = out.slice(out.indexOf('NOTES:'));
    const dashboard = JSON.parse(readFileSync(path.join(CHART_DIR, 'files', 'dashboard.json'), 'utf8')) as { title: string; uid: string };
    const jobName = job(renderChart({})).metadata.name;
    expect(notes).toContain(`kubectl -n downloads logs -f job/${jobName} -c fetcher`);
    expect(notes).toContain(`kubectl -n downloads wait --for=condition=complete --timeout=1h job/${jobName}`);
    // what happened, how to use it, how to serve a real file, why the dashboard may be empty
    expect(notes).toContain('a generated demo file, /data/demo.bin (64Mi from the seed "multi-server-downloader"');
    expect(notes).toContain('mount the claim msd-multi-server-downloader-fetcher-output in your pod');
    expect(notes).toContain('--set source.type=http --set source.file=big.iso');
    expect(notes).toContain('the monitoring.coreos.com/v1 API (Prometheus Operator) was not found');
    expect(notes).toContain('make images REGISTRY=registry.example/msd PUSH=1');
    const pushed = execFileSync(HELM, ['install', 'msd', CHART_DIR, '--dry-run=client', '-n', 'downloads', '--set', 'global.imageRegistry=r.example/msd'], { encoding: 'utf8' });
    expect(pushed.slice(pushed.indexOf('NOTES:'))).not.toContain('make images');
    expect(notes).toContain('helm test -n downloads msd');
    expect(notes).toContain(`"${dashboard.title}"`);
    expect(notes).toContain(`/d/${dashboard.uid}`);
  });
});
