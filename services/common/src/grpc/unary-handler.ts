import type { handleUnaryCall, ServerUnaryCall } from '@grpc/grpc-js';
import { toGrpcStatus } from './control-error';

/**
 * A unary gRPC handler from a plain (possibly async) function: its result is
 * the response, a thrown ControlError becomes its gRPC status, anything else INTERNAL.
 */
export function unaryHandler<Req, Res>(
  fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (response) => callback(null, response),
        (err: unknown) => callback(toGrpcStatus(err)),
      );
  };
}
