import { findObject, renderChart, type K8sObject } from './helm';
import { validateObject } from './k8s-validation';
import type { Container, StatefulSetObject, Volume } from './workloads';

/**
 * Where the served file comes from, as the StatefulSet renders each source: the fill step (if
 * any), the volume behind /data, and per-replica claims. (chart-contract.test.ts runs the demo and
 * http sources; the OCI image volume needs a kubelet, so it is checked here as rendered.)
 */
const sha = 'b'.repeat(64);
function server(set: string[], kubeVersion?: string): { sts: StatefulSetObject; objects: K8sObject[] } {
  const objects = renderChart({ set, kubeVersion });
  return { sts: findObject<StatefulSetObject>(objects, 'StatefulSet', '-segment-server'), objects };
}
const dataVolume = (sts: StatefulSetObject): (Volume & { image?: { reference: string; pullPolicy: string } }) | undefined =>
  sts.spec.template.spec.volumes?.find((v) => v.name === 'data');
const claimTemplates = (sts: StatefulSetObject): string[] =>
  ((sts.spec as { volumeClaimTemplates?: Array<{ metadata: { name: string } }> }).volumeClaimTemplates ?? []).map((t) => t.metadata.name);
const initNames = (sts: StatefulSetObject): string[] => (sts.spec.template.spec.initContainers ?? []).map((c) => c.name);

describe('sources', () => {
  it.each([
    ['demo', [], ['generate-demo'], 'emptyDir', []],
    ['http', ['source.type=http', 'source.http.url=https://example.org/f.bin', `source.http.sha256=${sha}`], ['fetch-source'], undefined, ['data']],
    ['existingClaim', ['source.type=existingClaim', 'source.existingClaim=datasets'], [], 'persistentVolumeClaim', []],
    ['image', ['source.type=image', 'source.image.reference=registry.example/datasets/big:1'], [], 'image', []],
    ['initContainer', ['source.type=initContainer', 'source.initContainer.image=busybox:1.36', 'source.initContainer.command[0]=sh'], ['fill-data'], 'emptyDir', []],
  ])('%s: fill step, /data volume and per-replica claims', (_type, set, init, volumeKind, claims) => {
    const { sts, objects } = server(set as string[]);
    expect(objects.flatMap(validateObject)).toEqual([]);
    expect(initNames(sts)).toEqual(init);
    const volume = dataVolume(sts);
    if (volumeKind === undefined) expect(volume).toBeUndefined();
    else expect(Object.keys(volume ?? {})).toEqual(['name', volumeKind]);
    expect(claimTemplates(sts)).toEqual(claims);
    const mount = (sts.spec.template.spec.containers[0] as Container).volumeMounts?.find((m) => m.mountPath === '/data');
    expect(mount).toMatchObject({ name: 'data', readOnly: true });
  });

  it('mounts an OCI image volume read-only with its sub-directory', () => {
    const { sts } = server(['source.type=image', 'source.image.reference=registry.example/datasets/big:1', 'source.image.pullPolicy=Always', 'source.subPath=v1', 'source.file=big.iso']);
    expect(dataVolume(sts)?.image).toEqual({ reference: 'registry.example/datasets/big:1', pullPolicy: 'Always' });
    const mount = (sts.spec.template.spec.containers[0] as Container).volumeMounts?.find((m) => m.mountPath === '/data');
    expect(mount).toEqual({ name: 'data', mountPath: '/data', readOnly: true, subPath: 'v1' });
  });

  it('gives the demo\'s emptyDir room for the file and its temporary copy, and the same args to every replica', () => {
    const { sts } = server(['source.demo.size=3Gi', 'source.demo.seed=abc']);
    expect(dataVolume(sts)?.emptyDir).toEqual({ sizeLimit: '6Gi' });
    expect(sts.spec.template.spec.initContainers?.[0]?.args).toEqual(['--out=/data/demo.bin', `--size=${3 * 1024 ** 3}`, '--seed=abc']);
  });

  it('sizes the per-replica claims of the http source as asked and keeps the index cache on them', () => {
    const { sts } = server(['source.type=http', 'source.http.url=https://example.org/f.bin', `source.http.sha256=${sha.toUpperCase()}`, 'source.http.volume.size=50Gi', 'source.http.volume.storageClassName=fast']);
    const t = (sts.spec as { volumeClaimTemplates?: Array<{ spec: { storageClassName?: string; resources: { requests: { storage: string } } } }> }).volumeClaimTemplates?.[0];
    expect(t?.spec.storageClassName).toBe('fast');
    expect(t?.spec.resources.requests.storage).toBe('50Gi');
    expect(sts.spec.template.spec.initContainers?.[0]?.args).toContain(`--sha256=${sha}`);
    const c = sts.spec.template.spec.containers[0] as Container;
    expect(c.volumeMounts?.find((m) => m.mountPath === '/var/cache/msd-index')).toEqual({ name: 'data', mountPath: '/var/cache/msd-index', subPath: '.msd-index' });
    expect(c.env?.find((e) => e.name === 'MSD_INDEX_CACHE_DIR')?.value).toBe('/var/cache/msd-index');
  });
});

describe('the index cache, the pinned identity and the hashing threads (issue 15)', () => {
  const env = (sts: StatefulSetObject): Record<string, string | undefined> =>
    Object.fromEntries(((sts.spec.template.spec.containers[0] as Container).env ?? []).map((e) => [e.name, e.value]));
  const cacheMount = (sts: StatefulSetObject) => (sts.spec.template.spec.containers[0] as Container).volumeMounts?.find((m) => m.mountPath === '/var/cache/msd-index');
  const cacheVolume = (sts: StatefulSetObject) => sts.spec.template.spec.volumes?.find((v) => v.name === 'index-cache') as (Volume & Record<string, unknown>) | undefined;

  it('a read-only source gets a writable cache volume (emptyDir by default, or a claim), named in the settings', () => {
    const byDefault = server([]).sts;
    expect(env(byDefault).MSD_INDEX_CACHE_DIR).toBe('/var/cache/msd-index');
    expect(cacheMount(byDefault)).toMatchObject({ name: 'index-cache' });
    expect(cacheMount(byDefault)?.readOnly).toBeUndefined();
    expect(cacheVolume(byDefault)).toEqual({ name: 'index-cache', emptyDir: { sizeLimit: '256Mi' } });
    const claimed = server(['source.type=existingClaim', 'source.existingClaim=datasets', 'segmentServer.indexCache.existingClaim=msd-index']).sts;
    expect(cacheVolume(claimed)).toEqual({ name: 'index-cache', persistentVolumeClaim: { claimName: 'msd-index' } });
  });

  it('the http source keeps its cache beside the file on the replica\'s own volume, not on another volume', () => {
    const { sts } = server(['source.type=http', 'source.http.url=https://example.org/f.bin', `source.http.sha256=${sha}`]);
    expect(cacheMount(sts)).toMatchObject({ name: 'data', subPath: '.msd-index' });
    expect(cacheVolume(sts)).toBeUndefined();
  });

  it('off: no cache volume, and the server is told not to cache', () => {
    const { sts } = server(['segmentServer.indexCache.enabled=false']);
    expect(env(sts).MSD_INDEX_CACHE).toBe('false');
    expect(env(sts).MSD_INDEX_CACHE_DIR).toBeUndefined();
    expect(cacheMount(sts)).toBeUndefined();
    expect(cacheVolume(sts)).toBeUndefined();
  });

  it('expectContentId and hashThreads reach the server; a malformed identity is refused at install', () => {
    const { sts } = server([`segmentServer.expectContentId=${'AB'.repeat(32)}`, 'segmentServer.hashThreads=2']);
    expect(env(sts).MSD_EXPECT_CONTENT_ID).toBe('ab'.repeat(32));
    expect(env(sts).MSD_HASH_THREADS).toBe('2');
    expect(env(server([]).sts).MSD_EXPECT_CONTENT_ID).toBeUndefined();
    expect(() => server(['segmentServer.expectContentId=xyz'])).toThrow(/segmentServer\/expectContentId/);
  });
});
