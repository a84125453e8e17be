import * as http from 'node:http';
import * as net from 'node:net';
import { healthStatus } from './grpc-health';
import type { Container, Probe } from './workloads';

/**
 * One probe as the kubelet runs it, against a local process: `localPort` maps the container's
 * declared port (by number or by name) to where the process listens. Resolves to the kubelet's
 * verdict and what it saw.
 */
export async function runProbe(probe: Probe, container: Container, localPort: (port: number) => number): Promise<{ ok: boolean; saw: string }> {
  const portOf = (p: number | string): number => {
    if (typeof p === 'number') return localPort(p);
    const declared = container.ports?.find((d) => d.name === p);
    if (!declared) throw new Error(`${container.name}: probe names port ${p}, which the container does not declare`);
    return localPort(declared.containerPort);
  };
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.grpc) {
      const status = await healthStatus(`127.0.0.1:${portOf(probe.grpc.port)}`, probe.grpc.service ?? '', timeoutMs);
      return { ok: status === 'SERVING', saw: status };
    }
    if (probe.httpGet) {
      const { path, port } = probe.httpGet;
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: portOf(port), path, timeout: timeoutMs }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
      });
      return { ok: status >= 200 && status < 400, saw: `HTTP ${status}` };
    }
    if (probe.tcpSocket) {
      const port = portOf(probe.tcpSocket.port);
      await new Promise<void>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(); });
        s.setTimeout(timeoutMs, () => s.destroy(new Error('timed out')));
        s.on('error', reject);
      });
      return { ok: true, saw: 'connected' };
    }
  } catch (err) {
    return { ok: false, saw: (err as Error).message };
  }
  throw new Error(`${container.name}: probe has no grpc, httpGet or tcpSocket handler`);
}

/** Polls a probe until it passes; throws with the last answer after timeoutMs. */
export async function waitProbe(probe: Probe, container: Container, localPort: (port: number) => number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await runProbe(probe, container, localPort);
    if (r.ok) return;
    last = r.saw;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${container.name}: probe did not pass within ${timeoutMs} ms (last: ${last})`);
}
