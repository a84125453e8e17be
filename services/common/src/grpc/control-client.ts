import type { Client, status as GrpcStatus, ServiceError } from '@grpc/grpc-js';
import { grpcJs } from './lazy-modules';
import type { MethodDefinition, ServiceDefinition } from '@grpc/proto-loader';
import { HEALTH_SERVICE, loadControlProtos, serviceDefinition, type ControlServiceSpec } from './proto-files';
import type { MethodMap } from './method-types';
import { tokenMetadata } from './token-auth';
import type { ClientTlsMaterial } from '../tls-material';

export type HealthServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface ControlClientOptions {
  /** sent as `authorization: Bearer <token>` on every call */
  token?: string;
  /** deadline of unary calls (default 10 s) */
  timeoutMs?: number;
  /** TLS (PEM): trust anchors (default: system CAs) and an optional client certificate (mutual TLS) */
  tls?: Omit<ClientTlsMaterial, 'servername'>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Typed client of one control service (plus grpc.health.v1 on the same address).
 * `Unary` and `Streams` map method names to [request, response] wire types.
 */
export class ControlClient<Unary extends MethodMap<Unary>, Streams extends MethodMap<Streams> = Record<never, never>> {
  private readonly client: Client;
  private readonly methods: ServiceDefinition;
  private readonly health: ServiceDefinition;
  private readonly timeoutMs: number;
  private readonly token: string | undefined;

  constructor(
    readonly address: string,
    spec: ControlServiceSpec,
    options: ControlClientOptions = {},
  ) {
    const pkg = loadControlProtos([spec]);
    this.methods = serviceDefinition(pkg, spec.service);
    this.health = serviceDefinition(pkg, HEALTH_SERVICE);
    const t = options.tls;
    const { Client: GrpcClient, credentials } = grpcJs();
    this.client = new GrpcClient(address, t ? credentials.createSsl(t.ca ?? null, t.key ?? null, t.cert ?? null) : credentials.createInsecure());
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.token = options.token;
  }

  call<K extends keyof Unary & string>(method: K, request: Unary[K][0]): Promise<Unary[K][1]> {
    return this.unary<Unary[K][0], Unary[K][1]>(method, this.method(this.methods, method), request);
  }

  /**
   * Calls a server-streaming method; resolves when the server ends the stream,
   * rejects on an error status (CANCELLED once `signal` aborts).
   */
  stream<K extends keyof Streams & string>(
    method: K,
    request: Streams[K][0],
    onMessage: (message: Streams[K][1]) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const def = this.method(this.methods, method);
    return new Promise((resolve, reject) => {
      const call = this.client.makeServerStreamRequest<Streams[K][0], Streams[K][1]>(
        def.path,
        (value) => def.requestSerialize(value),
        (bytes) => def.responseDeserialize(bytes) as Streams[K][1],
        request,
        tokenMetadata(this.token),
      );
      call.on('data', onMessage);
      call.on('error', (err: ServiceError) => reject(callError(method, err)));
      call.on('end', () => resolve());
      if (signal?.aborted) call.cancel();
      else signal?.addEventListener('abort', () => call.cancel(), { once: true });
    });
  }

  /** grpc.health.v1.Health/Check for `service` ('' = the whole server). */
  async check(service = ''): Promise<HealthServingStatus> {
    const response = await this.unary<{ service: string }, { status: HealthServingStatus }>(
      'Check',
      this.method(this.health, 'Check'),
      { service },
    );
    return response.status;
  }

  close(): void {
    this.client.close();
  }

  private method(service: ServiceDefinition, name: string): MethodDefinition<object, object> {
    const def = service[name];
    if (def === undefined) throw new Error(`gRPC method ${name} is not defined by the loaded proto`);
    return def;
  }

  private unary<Req extends object, Res extends object>(
    name: string,
    def: MethodDefinition<object, object>,
    request: Req,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<Req, Res>(
        def.path,
        (value) => def.requestSerialize(value),
        (bytes) => def.responseDeserialize(bytes) as Res,
        request,
        tokenMetadata(this.token),
        { deadline: Date.now() + this.timeoutMs },
        (err, response) => {
          if (err) reject(callError(name, err));
          else if (response === undefined) reject(new Error(`${name}: empty response`));
          else resolve(response);
        },
      );
    });
  }
}

/** A failed call: the gRPC status name and code, and the server's message. */
export class ControlCallError extends Error {
  constructor(
    readonly method: string,
    readonly code: GrpcStatus,
    readonly details: string,
  ) {
    super(`${method} failed: ${grpcJs().status[code] ?? 'UNKNOWN'} (${code}): ${details}`);
    this.name = 'ControlCallError';
  }
}

function callError(method: string, err: ServiceError): ControlCallError {
  return new ControlCallError(method, err.code, err.details || err.message);
}
