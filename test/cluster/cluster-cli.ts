import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../chart/helm';
import { LocalCluster } from './local-cluster';
import { isAlive as alive } from './process-group';

/**
 * `make cluster-up` / `make cluster-down`: one local cluster (control plane, volume provisioner,
 * local kubelet) kept running by a detached daemon process, so a user can try the chart with helm
 * and kubectl. State lives in .tools/cluster/ (or $MSD_CLUSTER_STATE_DIR): state.json (PIDs,
 * directory), kubeconfig, daemon.log.
 *   up      starts the daemon (or finds it running) and prints the KUBECONFIG line
 *   down    stops the daemon by PID (it stops every process of the cluster), then SIGKILLs any
 *           recorded PID still alive
 *   serve   the daemon itself (started by `up`)
 */
// MSD_CLUSTER_STATE_DIR: another state directory (the tests use their own, beside a user's cluster).
const STATE_DIR = process.env.MSD_CLUSTER_STATE_DIR ?? path.join(REPO_ROOT, '.tools', 'cluster');
const STATE = path.join(STATE_DIR, 'state.json');
const KUBECONFIG = path.join(STATE_DIR, 'kubeconfig');
const LOG = path.join(STATE_DIR, 'daemon.log');

interface State {
  daemonPid: number;
  pids: number[];
  dir: string;
  server: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const readState = (): State | undefined => (existsSync(STATE) ? (JSON.parse(readFileSync(STATE, 'utf8')) as State) : undefined);

function printUsage(state: State): void {
  console.log(`cluster: Kubernetes API at ${state.server} (daemon pid ${state.daemonPid}; logs in ${state.dir}/logs)`);
  console.log(`export KUBECONFIG=${KUBECONFIG}`);
}

async function up(): Promise<number> {
  const running = readState();
  if (running && alive(running.daemonPid)) {
    printUsage(running);
    return 0;
  }
  mkdirSync(STATE_DIR, { recursive: true });
  rmSync(STATE, { force: true });
  const log = openSync(LOG, 'w');
  const daemon = spawn(process.execPath, [path.join(__dirname, 'cluster-cli.js'), 'serve'], { detached: true, stdio: ['ignore', log, log], env: { ...process.env, MSD_CLUSTER_STATE_DIR: STATE_DIR } });
  closeSync(log);
  daemon.unref();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const state = readState();
    if (state) {
      printUsage(state);
      return 0;
    }
    if (daemon.exitCode !== null || !alive(daemon.pid as number)) break;
    await sleep(250);
  }
  console.error(`CLUSTER_UP_FAILED: the cluster did not start; ${LOG}:\n${existsSync(LOG) ? readFileSync(LOG, 'utf8').slice(-4000) : ''}`);
  if (daemon.pid && alive(daemon.pid)) process.kill(daemon.pid, 'SIGTERM');
  return 1;
}

async function serve(): Promise<number> {
  const cluster = await LocalCluster.start({ handleSignals: false });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('cluster: stopping');
    await cluster.stop();
    rmSync(STATE, { force: true });
    rmSync(KUBECONFIG, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  copyFileSync(cluster.kubeconfig, KUBECONFIG);
  const state: State = { daemonPid: process.pid, pids: cluster.plane.pids(), dir: cluster.plane.dir, server: cluster.plane.server };
  writeFileSync(`${STATE}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  writeFileSync(STATE, readFileSync(`${STATE}.tmp`));
  rmSync(`${STATE}.tmp`);
  console.log(`cluster: up at ${cluster.plane.server}`);
  // Stay up until `make cluster-down` (SIGTERM).
  await new Promise<never>(() => setInterval(() => undefined, 1 << 30));
  return 0;
}

async function down(): Promise<number> {
  const state = readState();
  if (!state) {
    console.log('cluster: not running (no .tools/cluster/state.json)');
    return 0;
  }
  if (alive(state.daemonPid)) process.kill(state.daemonPid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive(state.daemonPid) && Date.now() < deadline) await sleep(200);
  if (alive(state.daemonPid)) process.kill(state.daemonPid, 'SIGKILL');
  // The daemon's reaper SIGKILLs its processes when it dies; these are the ones recorded at start.
  for (const pid of state.pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await sleep(500);
  const left = state.pids.filter(alive);
  rmSync(STATE, { force: true });
  rmSync(KUBECONFIG, { force: true });
  if (left.length) {
    console.error(`CLUSTER_DOWN_LEFTOVER: processes ${left.join(', ')} are still running`);
    return 1;
  }
  if (existsSync(state.dir)) rmSync(state.dir, { recursive: true, force: true });
  console.log('cluster: stopped');
  return 0;
}

const commands: Record<string, () => Promise<number>> = { up, down, serve };
const command = commands[process.argv[2] ?? ''];
if (!command) {
  console.error('usage: node test/cluster/cluster-cli.js up|down');
  process.exit(2);
}
command().then(
  (code) => {
    if (process.argv[2] !== 'serve') process.exit(code);
  },
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
