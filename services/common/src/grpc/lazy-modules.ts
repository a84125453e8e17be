/**
 * The gRPC packages, loaded on first use: requiring them costs ~0.2 s at start-up, which every
 * fetcher run would pay even with no --grpc-port.
 */
import type * as GrpcJs from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import type * as Reflection from '@grpc/reflection';
import type * as HealthCheck from 'grpc-health-check';

let grpc: typeof GrpcJs | undefined;
let loader: typeof ProtoLoader | undefined;
let reflection: typeof Reflection | undefined;
let health: typeof HealthCheck | undefined;

/* eslint-disable @typescript-eslint/no-require-imports */
export const grpcJs = (): typeof GrpcJs => (grpc ??= require('@grpc/grpc-js') as typeof GrpcJs);
export const protoLoader = (): typeof ProtoLoader => (loader ??= require('@grpc/proto-loader') as typeof ProtoLoader);
export const grpcReflection = (): typeof Reflection => (reflection ??= require('@grpc/reflection') as typeof Reflection);
export const healthCheck = (): typeof HealthCheck => (health ??= require('grpc-health-check') as typeof HealthCheck);
