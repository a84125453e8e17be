/** gRPC health, reflection and control plumbing shared by segment-server and fetcher. */
export * from './control-types';
export { ControlError, toGrpcStatus, type ControlErrorCode } from './control-error';
export {
  PROTO_DIR,
  HEALTH_SERVICE,
  SEGMENT_SERVER_CONTROL,
  FETCHER_CONTROL,
  PROTO_LOADER_OPTIONS,
  loadControlProtos,
  serviceDefinition,
  type ControlServiceSpec,
} from './proto-files';
export { startGrpcServer, type GrpcServerOptions, type GrpcServerHandle, type GrpcRegistration } from './grpc-server';
export type { HealthStatus } from './health-status';
export { TokenCheck, tokenMetadata, AUTHORIZATION_METADATA_KEY } from './token-auth';
export { unaryHandler } from './unary-handler';
export { Throttle } from './throttle';
export type { MethodMap, UnaryHandlers, StreamingHandlers } from './method-types';
export { ControlClient, ControlCallError, type ControlClientOptions, type HealthServingStatus } from './control-client';
export {
  runCtlProgram,
  ctlUsageError,
  processIo,
  CTL_EXIT,
  type CtlIo,
  type CtlCommand,
  type CtlContext,
  type CtlClient,
  type CtlProgram,
} from './ctl-runner';
export { formatRateLimit, formatPercent, formatTable } from './ctl-format';
export type * as SegmentServerControlMessages from './segment-server-control-messages';
export type * as FetcherControlMessages from './fetcher-control-messages';
