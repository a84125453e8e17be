import {
  ControlError,
  SEGMENT_SERVER_CONTROL,
  serviceDefinition,
  startGrpcServer,
  unaryHandler,
  type GrpcRegistration,
  type SegmentServerControlMessages as M,
  type SegmentServerControlTarget,
  type ServerStatus,
  type ServerTlsMaterial,
  type UnaryHandlers,
} from '@msd/common';

export interface SegmentServerControlOptions {
  /** address of the gRPC listener (the metrics/gRPC bind address) */
  bind: string;
  /** --grpc-port; 0 = any free port */
  port: number;
  /** mutating calls (Drain, SetRateLimit) need it when set */
  token?: string;
  /** counts refused calls (metrics) */
  onAuthFailure?: (method: string) => void;
  /** TLS for the gRPC port (the data port's certificate) */
  tls?: ServerTlsMaterial;
  target: SegmentServerControlTarget;
}

export interface SegmentServerControl {
  readonly port: number;
  /**
   * Re-reads target.status() and publishes health: SERVING when indexed and
   * not draining. Call it when indexing finishes and when a drain starts
   * outside gRPC (e.g. on SIGTERM); Drain calls it itself.
   */
  refreshHealth(): void;
  close(graceMs?: number): Promise<void>;
}

/**
 * gRPC listener of a segment-server: grpc.health.v1, reflection and
 * msd.segmentserver.v1.SegmentServerControl. Health starts NOT_SERVING.
 */
export async function startSegmentServerControl(options: SegmentServerControlOptions): Promise<SegmentServerControl> {
  const { target } = options;
  let drainRequested = false;
  let health: GrpcRegistration['health'] | undefined;
  const refreshHealth = (): void => {
    const status = target.status();
    const serving = status.indexed && !status.draining && !drainRequested;
    health?.setServing('', serving);
    health?.setServing(SEGMENT_SERVER_CONTROL.service, serving);
  };

  const handle = await startGrpcServer({
    bind: options.bind,
    port: options.port,
    token: options.token,
    tls: options.tls,
    onAuthFailure: options.onAuthFailure,
    services: [SEGMENT_SERVER_CONTROL],
    register(registration) {
      health = registration.health;
      const handlers: UnaryHandlers<M.SegmentServerControlMethods> = {
        GetStatus: unaryHandler(() => ({ status: toStatusMessage(target.status()) })),
        Drain: registration.auth.guard(
          'Drain',
          unaryHandler((request) => {
            const active = activeTransfers(target.status());
            target.drain(request.exit_when_idle);
            drainRequested = true;
            refreshHealth();
            return { active_transfers: active };
          }),
        ),
        SetRateLimit: registration.auth.guard(
          'SetRateLimit',
          unaryHandler((request) => setRateLimit(target, request)),
        ),
        ListFiles: unaryHandler(() => ({
          files: target.listFiles().map((f) => ({ name: f.name, size: f.size, content_id: f.contentId })),
        })),
      };
      registration.server.addService(serviceDefinition(registration.packageDefinition, SEGMENT_SERVER_CONTROL.service), handlers);
    },
  });
  refreshHealth();
  return { port: handle.port, refreshHealth, close: (graceMs) => handle.close(graceMs) };
}

function setRateLimit(target: SegmentServerControlTarget, request: M.SetRateLimitRequest): M.SetRateLimitResponse {
  if (!Number.isSafeInteger(request.bytes_per_second)) {
    throw new ControlError('INVALID_ARGUMENT', `bytes_per_second ${request.bytes_per_second} is out of range`);
  }
  const known = target.status().listeners.map((l) => l.serverId);
  if (request.server_id !== undefined && !known.includes(request.server_id)) {
    throw new ControlError('NOT_FOUND', `no listener with server ID ${request.server_id} in this process (it has ${known.join(', ')})`);
  }
  target.setRateLimit(request.server_id, request.bytes_per_second);
  return {
    listeners: target.status().listeners.map((l) => ({ server_id: l.serverId, rate_limit: l.rateLimit })),
  };
}

function activeTransfers(status: ServerStatus): number {
  return status.listeners.reduce((sum, l) => sum + l.transfers.length, 0);
}

export function toStatusMessage(status: ServerStatus): M.ServerStatusMessage {
  return {
    file: status.file,
    size: status.size,
    piece_size: status.pieceSize,
    pieces: status.pieces,
    content_id: status.contentId,
    num_servers: status.numServers,
    indexed: status.indexed,
    draining: status.draining,
    listeners: status.listeners.map((l) => ({
      server_id: l.serverId,
      port: l.port,
      connections: l.connections,
      bytes_sent: l.bytesSent,
      requests: l.requests,
      rate_limit: l.rateLimit,
      draining: l.draining,
      transfers: l.transfers.map((t) => ({ client: t.client, file: t.file, offset: t.offset, length: t.length, sent: t.sent })),
    })),
  };
}
