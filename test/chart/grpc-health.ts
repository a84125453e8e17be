import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

/** grpc.health.v1 client calls, as the kubelet's native grpc probe makes them. */
type HealthClient = grpc.Client & {
  check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string | number }) => void): void;
};
const HealthClientCtor = grpc.makeGenericClientConstructor(healthService, 'Health') as unknown as new (address: string, creds: grpc.ChannelCredentials) => HealthClient;

export async function healthStatus(address: string, service = '', timeoutMs = 2000): Promise<string> {
  const client = new HealthClientCtor(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) => {
      client.check({ service }, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
        if (err) reject(err);
        else resolve(typeof res?.status === 'number' ? (['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'][res.status] ?? String(res.status)) : String(res?.status));
      });
    });
  } finally {
    client.close();
  }
}

/** Polls until the status is SERVING; throws with the last answer after timeoutMs. */
export async function waitServing(address: string, service = '', timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      last = await healthStatus(address, service);
      if (last === 'SERVING') return;
    } catch (err) {
      last = (err as grpc.ServiceError).details || (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${address} (service "${service}") not SERVING after ${timeoutMs} ms; last: ${last}`);
}
