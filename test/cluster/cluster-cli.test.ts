import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { KUBECTL } from '../chart/helm';
import { isAlive as alive } from './process-group';

/**
 * `make cluster-up` / `make cluster-down` (test/cluster/cluster-cli.js) as a user runs them, with a
 * state directory of the test's own: up prints the KUBECONFIG line and kubectl works with it, pods
 * run; down stops every process by PID; and when the daemon is killed outright (SIGKILL: no handler
 * runs), its reaper still stops every process it started, containers included.
 */
jest.setTimeout(180_000);

const CLI = path.join(__dirname, 'cluster-cli.js');
let stateDir: string;

beforeEach(() => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'msd-cluster-cli-'));
});

afterEach(async () => {
  // Whatever a failed test left running: stop it the documented way.
  if (existsSync(path.join(stateDir, 'state.json'))) await cli('down');
  rmSync(stateDir, { recursive: true, force: true });
});

function cli(command: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, command], { env: { ...process.env, MSD_CLUSTER_STATE_DIR: stateDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

const childrenOf = (pid: number): number[] =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
const kubectl = (kubeconfig: string, args: string[]): string => execFileSync(KUBECTL, args, { encoding: 'utf8', env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig, HOME: stateDir } });

async function upWithAPod(): Promise<{ daemonPid: number; children: number[]; kubeconfig: string; dir: string }> {
  const up = await cli('up');
  expect(up.code).toBe(0);
  const line = /^export KUBECONFIG=(.+)$/m.exec(up.out);
  expect(line).not.toBeNull();
  const kubeconfig = (line as RegExpExecArray)[1] as string;
  const nodes = JSON.parse(kubectl(kubeconfig, ['get', 'nodes', '-o', 'json'])) as { items: Array<{ status: { conditions: Array<{ type: string; status: string }> } }> };
  expect(nodes.items.length).toBeGreaterThan(0);
  expect(nodes.items.every((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'))).toBe(true);
  // A pod whose container is a long-running local process (with the service-account token volume
  // the API server adds: the local kubelet fills it from the TokenRequest API).
  const pod = path.join(stateDir, 'sleeper.json');
  writeFileSync(pod, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sleeper', namespace: 'default' }, spec: { containers: [{ name: 'sleeper', image: 'msd/fetcher:0.1.0', command: ['node', '-e', 'require("fs").readFileSync(process.env.TOKEN); setInterval(() => {}, 1000)'], env: [{ name: 'TOKEN', value: '/var/run/secrets/kubernetes.io/serviceaccount/token' }] }] } }));
  kubectl(kubeconfig, ['apply', '-f', pod]);
  const deadline = Date.now() + 60_000;
  while (kubectl(kubeconfig, ['get', 'pod', 'sleeper', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']) !== 'True') {
    if (Date.now() > deadline) throw new Error(`pod sleeper not Running: ${kubectl(kubeconfig, ['get', 'pod', 'sleeper', '-o', 'yaml'])}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const state = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as { daemonPid: number; dir: string };
  const children = childrenOf(state.daemonPid);
  // etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, the reaper, the pod's process.
  expect(children.length).toBeGreaterThanOrEqual(7);
  return { daemonPid: state.daemonPid, children, kubeconfig, dir: state.dir };
}

async function waitAllGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}

it('up prints the KUBECONFIG line and pods run; down stops every process it started', async () => {
  const { daemonPid, children, dir } = await upWithAPod();
  const down = await cli('down');
  expect(down).toMatchObject({ code: 0, out: expect.stringContaining('cluster: stopped') });
  expect(await waitAllGone([daemonPid, ...children], 5_000)).toEqual([]);
  expect(existsSync(path.join(stateDir, 'state.json'))).toBe(false);
  expect(existsSync(dir)).toBe(false);
});

it('a daemon killed with SIGKILL leaves nothing behind: its reaper stops the control plane and the containers', async () => {
  const { daemonPid, children, dir } = await upWithAPod();
  process.kill(daemonPid, 'SIGKILL');
  expect(await waitAllGone([daemonPid, ...children], 10_000)).toEqual([]);
  // No handler ran, so its files are still there: `make cluster-down` cleans them up.
  expect(existsSync(dir)).toBe(true);
  expect(await cli('down')).toMatchObject({ code: 0 });
  expect(existsSync(dir)).toBe(false);
});
