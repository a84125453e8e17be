import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CI_DIR, REPO_ROOT, findObject, renderChart, type K8sObject } from './helm';
import { LocalRelease } from './local-release';
import { runProbe, waitProbe } from './probes';
import type { Container, PodSpec, Probe, StatefulSetObject } from './workloads';

/**
 * Contract test: what the chart renders runs, as local processes (pod-runner.ts, local-release.ts),
 * against the built programs:
 *  - the zero-config demo: every replica generates the same file, every probe passes on its
 *    declared port, `helm test` passes, the Job fetches a verified copy and a rerun of the Job
 *    finishes without downloading; drain makes a server unready but its liveness still passes;
 *    a replica serving other bytes makes `helm test` fail;
 *  - the http source (eight servers, one port each): each replica's volume is filled once from
 *    a URL with its SHA-256, a restarted replica does not download again, a wrong digest stops
 *    the replica before its server starts, and the Job fetches the verified file;
 *  - SIGTERM stops the servers within terminationGracePeriodSeconds.
 */
const BUILT = ['segment-server', 'fetcher'].map((p) => path.join(REPO_ROOT, 'services', p, 'dist', 'main.js'));
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const SERVER_BIN = path.join(REPO_ROOT, 'services', 'segment-server', 'bin', 'segment-server.js');

function probesOf(c: Container): Record<'startup' | 'readiness' | 'liveness', Probe> {
  const { startupProbe, readinessProbe, livenessProbe } = c;
  if (!startupProbe || !readinessProbe || !livenessProbe) throw new Error('the server container must declare startup, readiness and liveness probes');
  return { startup: startupProbe, readiness: readinessProbe, liveness: livenessProbe };
}

/** The file the servers of pod `ordinal` serve (MSD_FILE, mapped to the pod's local volume). */
function servedFile(release: LocalRelease, ordinal: number, emptyDirs: Map<string, string>): Buffer {
  const file = (release.serverContainer.env?.find((e) => e.name === 'MSD_FILE')?.value ?? '').replace(/^\/data\//, '');
  const volume = release.sts.spec.template.spec.volumes?.find((v) => v.name === 'data');
  const dir = volume?.emptyDir ? emptyDirs.get('data') : release.claimDir(`data-${release.podName(ordinal)}`);
  if (!dir) throw new Error(`no local directory for the data volume of pod ${ordinal}`);
  return readFileSync(path.join(dir, file));
}

async function stopWithinGrace(release: LocalRelease): Promise<void> {
  const grace = (release.sts.spec.template.spec as PodSpec & { terminationGracePeriodSeconds?: number }).terminationGracePeriodSeconds ?? 30;
  const servers = [...release.servers.values()].filter((s) => s.child.exitCode === null);
  for (const s of servers) s.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    Promise.all(servers.map((s) => s.exited)),
    new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), grace * 1000);
    }),
  ]);
  clearTimeout(timer);
  expect(stopped).not.toBe('timeout');
}

beforeAll(() => {
  for (const built of BUILT) if (!existsSync(built)) throw new Error(`${built} is missing: run 'make build' first`);
});

describe('the zero-config demo (no values) runs as rendered', () => {
  jest.setTimeout(240_000);
  const scratch = mkdtempSync(path.join(tmpdir(), 'msd-contract-demo-'));
  // Small and ragged (not a whole number of pieces), so the test stays fast.
  const demoSet = ['source.demo.size=5254321', 'fetcher.waitForServersSeconds=60', 'helmTest.probeBytes=100000'];
  let release: LocalRelease;
  const emptyDirs = new Map<number, Map<string, string>>();

  beforeAll(async () => {
    release = await LocalRelease.create(renderChart({ set: demoSet }), scratch);
  });
  afterAll(async () => {
    await release?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('generates the same file on every replica and passes every probe on its declared port', async () => {
    const replicas = release.sts.spec.replicas;
    expect(replicas).toBe(4);
    for (let i = 0; i < replicas; i++) {
      const { init, emptyDirs: dirs } = await release.startServer(i);
      expect(init.map((c) => c.name)).toEqual([`${release.podName(i)}/generate-demo`]);
      emptyDirs.set(i, dirs);
    }
    const files = Array.from({ length: replicas }, (_, i) => servedFile(release, i, emptyDirs.get(i) as Map<string, string>));
    expect(files[0]?.length).toBe(5254321);
    expect(new Set(files.map(sha256)).size).toBe(1);
    const probes = probesOf(release.serverContainer);
    try {
      for (let i = 0; i < replicas; i++) {
        const pod = release.podName(i);
        for (const p of Object.values(probes)) await waitProbe(p, release.serverContainer, (port) => release.localPort(pod, port));
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- server logs ---\n${release.serverLogs()}`);
    }
  });

  it('passes helm test, whose check fails when the addresses are not in server-ID order', async () => {
    const testPod = findObject(release.objects, 'Pod', '-check-servers') as K8sObject & { spec: PodSpec };
    const container = testPod.spec.containers[0] as Container;
    const checked = await release.runOk(testPod.metadata, testPod.spec, container, new Map());
    expect(checked.output()).toMatch(/all 4 servers OK/);
    for (let i = 0; i < 4; i++) expect(checked.output()).toContain(`server ${i} of 4, file of 5254321 bytes`);

    const reversed = (container.args ?? []).map((a) => (a.startsWith('--data=') ? `--data=${a.slice(7).split(',').reverse().join(',')}` : a));
    const misordered = await release.run(testPod.metadata, testPod.spec, { ...container, args: reversed }, new Map());
    expect(misordered.code).toBe(1);
    expect(misordered.output()).toContain('expected server ID 0, the server says 3');
  });

  it('runs the Job to a verified copy, and a rerun of the Job finishes without downloading', async () => {
    const fetcher = await release.runJob();
    const outputDir = release.claimDir('msd-multi-server-downloader-fetcher-output');
    expect(readdirSync(outputDir).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(sha256(readFileSync(path.join(outputDir, 'demo.bin')))).toBe(sha256(servedFile(release, 0, emptyDirs.get(0) as Map<string, string>)));
    expect(fetcher.output()).toMatch(/"outcome":"complete"|download complete/);

    const rerun = await release.runJob();
    expect(rerun.output()).toMatch(/already complete/);
    expect(rerun.output()).toMatch(/"bytesReceived":0/);
  });

  it('drain makes a server unready, never dead: readiness fails, startup and liveness still pass', async () => {
    const pod = release.podName(1);
    const probes = probesOf(release.serverContainer);
    const local = (port: number): number => release.localPort(pod, port);
    const tokenFile = path.join(scratch, 'token');
    const secret = findObject(release.objects, 'Secret', '-token') as K8sObject & { data: Record<string, string> };
    writeFileSync(tokenFile, Buffer.from(secret.data.token as string, 'base64'));
    const grpcPort = local(Number(release.serverContainer.env?.find((e) => e.name === 'MSD_GRPC_PORT')?.value));
    execFileSync(process.execPath, [SERVER_BIN, 'ctl', 'drain', '--addr', `127.0.0.1:${grpcPort}`, '--token-file', tokenFile], { encoding: 'utf8' });
    expect(await runProbe(probes.readiness, release.serverContainer, local)).toEqual({ ok: false, saw: 'NOT_SERVING' });
    expect(await runProbe(probes.liveness, release.serverContainer, local)).toEqual({ ok: true, saw: 'HTTP 200' });
    expect(await runProbe(probes.startup, release.serverContainer, local)).toEqual({ ok: true, saw: 'HTTP 200' });
  });

  it('fails helm test when a replica serves other bytes (another seed), naming the servers that differ', async () => {
    const restart = async (ordinal: number, sts: StatefulSetObject): Promise<void> => {
      const old = release.servers.get(ordinal);
      old?.child.kill('SIGKILL');
      await old?.exited;
      const { server } = await release.startServer(ordinal, sts);
      await waitProbe(probesOf(release.serverContainer).readiness, release.serverContainer, (port) => release.localPort(release.podName(ordinal), port)).catch((err: Error) => {
        throw new Error(`${err.message}\n${server.output()}`);
      });
    };
    await restart(1, release.sts); // undo the drain above
    const other = findObject<StatefulSetObject>(renderChart({ set: [...demoSet, 'source.demo.seed=something-else'] }), 'StatefulSet', '-segment-server');
    await restart(3, other);
    const testPod = findObject(release.objects, 'Pod', '-check-servers') as K8sObject & { spec: PodSpec };
    const r = await release.run(testPod.metadata, testPod.spec, testPod.spec.containers[0] as Container, new Map());
    expect(r.code).toBe(1);
    expect(r.output()).toMatch(/servers disagree about the content \(server\(s\) 0, 1, 2: [0-9a-f]{16}; server\(s\) 3: [0-9a-f]{16}\)/);
  });

  it('stops every server within the grace period on SIGTERM', async () => {
    await stopWithinGrace(release);
  });
});

/** A file server on 127.0.0.1 (Range requests too) that counts the GETs it answers. */
async function fileServer(content: Buffer): Promise<{ url: string; gets: () => number; close: () => Promise<void> }> {
  let gets = 0;
  const server = http.createServer((req, res) => {
    if (req.url !== '/datasets/data.bin') {
      res.writeHead(404).end('not found');
      return;
    }
    gets++;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = range ? Number(range[1]) : 0;
    res.writeHead(range ? 206 : 200, { 'content-length': content.length - from, 'accept-ranges': 'bytes' });
    res.end(content.subarray(from));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/datasets/data.bin`, gets: () => gets, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('the http source (eight servers, port per replica) runs as rendered', () => {
  jest.setTimeout(240_000);
  const scratch = mkdtempSync(path.join(tmpdir(), 'msd-contract-http-'));
  const content = randomBytes(3 * 1024 * 1024 + 4321);
  let files: Awaited<ReturnType<typeof fileServer>>;
  let release: LocalRelease;
  const values = (digest: string): string[] => [`source.http.url=${files.url}`, `source.http.sha256=${digest}`, 'fetcher.waitForServersSeconds=60'];

  beforeAll(async () => {
    files = await fileServer(content);
    release = await LocalRelease.create(renderChart({ valuesFiles: [path.join(CI_DIR, 'eight-replicas-port-per-replica-values.yaml')], set: values(sha256(content)) }), scratch);
  });
  afterAll(async () => {
    await release?.stop();
    await files?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('fills each replica\'s own claim once from the URL, verified, and serves it', async () => {
    const templates = (release.sts.spec as { volumeClaimTemplates?: Array<{ metadata: { name: string }; spec: { accessModes: string[] } }> }).volumeClaimTemplates;
    expect(templates?.map((t) => [t.metadata.name, t.spec.accessModes])).toEqual([['data', ['ReadWriteOnce']]]);
    for (let i = 0; i < 8; i++) {
      const { init } = await release.startServer(i);
      expect(init[0]?.output()).toContain('sha256 verified');
    }
    expect(files.gets()).toBe(8);
    for (let i = 0; i < 8; i++) {
      expect(sha256(servedFile(release, i, new Map()))).toBe(sha256(content));
      await waitProbe(probesOf(release.serverContainer).readiness, release.serverContainer, (port) => release.localPort(release.podName(i), port));
    }
  });

  it('does not download again when a restarted replica finds the verified file on its volume', async () => {
    const old = release.servers.get(5);
    old?.child.kill('SIGKILL');
    await old?.exited;
    const { init } = await release.startServer(5);
    expect(init[0]?.output()).toMatch(/was verified against sha256 [0-9a-f]{64} before; not downloading it again/);
    expect(files.gets()).toBe(8);
    await waitProbe(probesOf(release.serverContainer).readiness, release.serverContainer, (port) => release.localPort(release.podName(5), port));
  });

  it('keeps a replica whose download does not match the digest from starting, saying which value to fix', async () => {
    const wrong = findObject<StatefulSetObject>(renderChart({ valuesFiles: [path.join(CI_DIR, 'eight-replicas-port-per-replica-values.yaml')], set: values('ab'.repeat(32)) }), 'StatefulSet', '-segment-server');
    const spec = { ...wrong.spec.template.spec, volumes: [...(wrong.spec.template.spec.volumes ?? []), { name: 'data', persistentVolumeClaim: { claimName: 'data-fresh-replica' } }] };
    const fill = spec.initContainers?.[0] as Container;
    expect(fill.name).toBe('fetch-source');
    expect((fill as Container & { terminationMessagePolicy?: string }).terminationMessagePolicy).toBe('FallbackToLogsOnError');
    const r = await release.run({ name: 'fresh-replica' }, spec, fill, new Map());
    expect(r.code).toBe(1);
    expect(r.output()).toContain(`has SHA-256 ${sha256(content)}, but source.http.sha256 is ${'ab'.repeat(32)}: the replica stays unready; fix source.http.sha256 or source.http.url`);
    // nothing but the (empty) index-cache directory: no file, no marker, no half download
    expect(readdirSync(release.claimDir('data-fresh-replica'))).toEqual(['.msd-index']);
  });

  it('runs the Job to a verified copy from all eight servers', async () => {
    await release.runJob();
    const out = release.claimDir('msd-multi-server-downloader-fetcher-output');
    expect(sha256(readFileSync(path.join(out, 'data.bin')))).toBe(sha256(content));
    await stopWithinGrace(release);
  });
});
