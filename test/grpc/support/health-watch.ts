/** A grpc-js client for grpc.health.v1 Watch: collects the statuses the server streams. */
import { Client, credentials, type ClientReadableStream } from '@grpc/grpc-js';
import { HEALTH_SERVICE, loadControlProtos, serviceDefinition } from '@msd/common';

export interface HealthWatch {
  readonly statuses: string[];
  /** resolves once `count` statuses have arrived */
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
  readonly ended: Promise<void>;
  cancel(): void;
}

export function watchHealth(address: string, service: string): HealthWatch {
  const def = serviceDefinition(loadControlProtos([]), HEALTH_SERVICE)['Watch'];
  if (def === undefined) throw new Error('health proto has no Watch');
  const client = new Client(address, credentials.createInsecure());
  const call: ClientReadableStream<{ status: string }> = client.makeServerStreamRequest(
    def.path,
    (v: { service: string }) => def.requestSerialize(v),
    (b) => def.responseDeserialize(b) as { status: string },
    { service },
  );
  const statuses: string[] = [];
  const waiters: (() => void)[] = [];
  call.on('data', (m: { status: string }) => {
    statuses.push(m.status);
    for (const w of waiters.splice(0)) w();
  });
  const ended = new Promise<void>((resolve) => {
    call.on('end', () => resolve());
    call.on('error', () => resolve());
  });
  ended.finally(() => client.close());
  return {
    statuses,
    ended,
    cancel: () => call.cancel(),
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (statuses.length < count) {
        if (Date.now() > deadline) throw new Error(`health Watch: got [${statuses.join(', ')}], waited for ${count}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return statuses.slice();
    },
  };
}
