import type { Server, handleServerStreamingCall, ServerWritableStream } from '@grpc/grpc-js';
import { grpcJs, grpcReflection } from './lazy-modules';
import type { PackageDefinition, ServiceDefinition } from '@grpc/proto-loader';
import type { ServingStatus } from 'grpc-health-check';
import { PublishedHealth, type HealthStatus } from './health-status';
import { loadControlProtos, type ControlServiceSpec } from './proto-files';
import { TokenCheck } from './token-auth';
import type { ServerTlsMaterial } from '../tls-material';

/** Handed to `register`: what a control service needs to add itself. */
export interface GrpcRegistration {
  readonly server: Server;
  readonly packageDefinition: PackageDefinition;
  /** Guards mutating calls: `auth.guard('Drain', handler)`. */
  readonly auth: TokenCheck;
  readonly health: HealthStatus;
  /**
   * Registers what ends a long-lived stream when the server closes (e.g.
   * unsubscribe and `call.end()`); returns the function that unregisters it.
   */
  onClose(stop: () => void): () => void;
}

export interface GrpcServerOptions {
  /** address to listen on (IPv4, IPv6 or host name) */
  bind: string;
  /** 0 = any free port (read it back from the handle) */
  port: number;
  /** when set, mutating calls need `authorization: Bearer <token>` */
  token?: string;
  /** called with the method name on every refused call (metrics count these) */
  onAuthFailure?: (method: string) => void;
  /** TLS (PEM): key and certificate; with clientCa, clients must present a certificate chaining to it */
  tls?: ServerTlsMaterial;
  /** control services to load: reflection describes them, health reports each by name */
  services: readonly ControlServiceSpec[];
  register(registration: GrpcRegistration): void;
}

export interface GrpcServerHandle {
  readonly port: number;
  /** service '' = the whole process; every name starts NOT_SERVING */
  setServing(service: string, serving: boolean): void;
  /** NOT_SERVING everywhere, ends open streams, waits up to graceMs for calls in flight. */
  close(graceMs?: number): Promise<void>;
}

const DEFAULT_CLOSE_GRACE_MS = 2000;

/**
 * gRPC server with grpc.health.v1 (official implementation), server reflection
 * and the given control services. Everything starts NOT_SERVING; the program
 * says when it can serve.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const packageDefinition = loadControlProtos(options.services);
  const server = new (grpcJs().Server)();
  const health = new PublishedHealth(['', ...options.services.map((s) => s.service)]);
  const closers = new Set<() => void>();
  const onClose = (stop: () => void): (() => void) => {
    closers.add(stop);
    return () => closers.delete(stop);
  };

  addHealthService(server, health, onClose);
  new (grpcReflection().ReflectionService)(packageDefinition).addToServer(server);
  options.register({
    server,
    packageDefinition,
    auth: new TokenCheck(options.token, options.onAuthFailure),
    health,
    onClose,
  });

  const port = await bind(server, options.bind, options.port, options.tls);
  let closing: Promise<void> | undefined;
  return {
    port,
    setServing: (service, serving) => health.setServing(service, serving),
    close(graceMs = DEFAULT_CLOSE_GRACE_MS) {
      closing ??= shutdown(server, health, closers, graceMs);
      return closing;
    },
  };
}

interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status: ServingStatus | 'SERVICE_UNKNOWN';
}

/** Adds the official health service, keeping track of Watch streams so close() can end them. */
function addHealthService(server: Server, health: PublishedHealth, onClose: GrpcRegistration['onClose']): void {
  health.implementation.addToServer({
    addService(definition: ServiceDefinition, implementation) {
      // grpc-health-check types its handlers loosely; Watch is server-streaming.
      const watch = implementation['watch'] as unknown as handleServerStreamingCall<HealthCheckRequest, HealthCheckResponse>;
      server.addService(definition, {
        ...implementation,
        watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
          const forget = onClose(() => call.end());
          call.on('cancelled', forget);
          watch(call);
        },
      });
    },
  });
}

function bind(server: Server, host: string, port: number, tls: GrpcServerOptions['tls']): Promise<number> {
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const creds = tls
      ? grpcJs().ServerCredentials.createSsl(tls.clientCa ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], !!tls.clientCa)
      : grpcJs().ServerCredentials.createInsecure();
    server.bindAsync(address, creds, (err, boundPort) => {
      if (err) reject(new Error(`gRPC: cannot listen on ${address}: ${err.message}`));
      else resolve(boundPort);
    });
  });
}

function shutdown(server: Server, health: PublishedHealth, closers: Set<() => void>, graceMs: number): Promise<void> {
  for (const service of health.services()) health.setServing(service, false);
  for (const stop of [...closers]) stop();
  closers.clear();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
