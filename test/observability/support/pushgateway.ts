import { freePort, spawnProcess, type Proc } from '../../helpers/processes';
import { ready } from './prometheus';

export interface RunningPushgateway {
  readonly url: string;
  /** host:port, for a Prometheus scrape target. */
  readonly address: string;
  stop(): Promise<void>;
}

/**
 * Real Pushgateway (Debian package) on 127.0.0.1 and a free port, memory only: Debian's default
 * `--persistence.file=/var/lib/prometheus/pushgateway.data` would carry groups between runs.
 */
export async function startPushgateway(): Promise<RunningPushgateway> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child: Proc = spawnProcess('prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=warn']);
    const url = `http://127.0.0.1:${port}`;
    if (await ready(`${url}/-/ready`, child)) {
      return {
        url,
        address: `127.0.0.1:${port}`,
        async stop() {
          await child.stop();
        },
      };
    }
    await child.stop('SIGKILL');
  }
  throw new Error('prometheus-pushgateway did not start');
}
