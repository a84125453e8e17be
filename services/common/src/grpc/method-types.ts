import type { handleServerStreamingCall, handleUnaryCall } from '@grpc/grpc-js';

/** Method name -> [request, response] wire types of one service (see *-control-messages.ts). */
export type MethodMap<M> = { [K in keyof M]: [object, object] };

/** Typed unary handlers for every method of a map; accepted by `server.addService`. */
export type UnaryHandlers<M extends MethodMap<M>> = { [K in keyof M]: handleUnaryCall<M[K][0], M[K][1]> };

/** Typed server-streaming handlers for every method of a map. */
export type StreamingHandlers<M extends MethodMap<M>> = { [K in keyof M]: handleServerStreamingCall<M[K][0], M[K][1]> };
