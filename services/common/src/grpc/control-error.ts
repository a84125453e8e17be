import type { status as GrpcStatus, StatusObject } from '@grpc/grpc-js';
import { grpcJs } from './lazy-modules';
import { MsdError, type ErrorCode } from '../errors';

/** gRPC status names a control target may raise (the rest are the transport's business). */
export type ControlErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL';

/**
 * An error a control target throws to answer with a specific gRPC status, e.g.
 * `throw new ControlError('FAILED_PRECONDITION', 'download already finished; nothing to pause')`.
 * An MsdError maps by its code (below); anything else becomes INTERNAL with its message.
 */
export class ControlError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

function statusOfMsdError(): Partial<Record<ErrorCode, GrpcStatus>> {
  const GrpcStatus = grpcJs().status;
  return {
  E_CONFIG: GrpcStatus.INVALID_ARGUMENT,
  E_USAGE: GrpcStatus.INVALID_ARGUMENT,
  E_NOT_FOUND: GrpcStatus.NOT_FOUND,
  E_BAD_STATE: GrpcStatus.FAILED_PRECONDITION,
  E_CANCELLED: GrpcStatus.CANCELLED,
  E_UNREACHABLE: GrpcStatus.UNAVAILABLE,
  };
}

/** The status a failed handler answers with. */
export function toGrpcStatus(err: unknown): Pick<StatusObject, 'code' | 'details'> {
  const GrpcStatus = grpcJs().status;
  if (err instanceof ControlError) return { code: GrpcStatus[err.code], details: err.message };
  if (err instanceof MsdError) {
    return { code: statusOfMsdError()[err.code] ?? GrpcStatus.INTERNAL, details: `${err.code}: ${err.message}` };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: GrpcStatus.INTERNAL, details: message };
}
