import * as path from 'node:path';
import type { Options, PackageDefinition, ServiceDefinition } from '@grpc/proto-loader';
import { healthCheck, protoLoader } from './lazy-modules';

/**
 * services/common/proto: two levels above this module both as source
 * (src/grpc, under ts-jest) and compiled (dist/grpc); the package ships it ("files").
 */
export const PROTO_DIR = path.join(__dirname, '../../proto');

/** The official health proto, as shipped by grpc-health-check (…/proto/health/v1/health.proto). */
const healthProtoRoot = (): string => path.resolve(healthCheck().protoPath, '../../..');
const healthProtoFile = (): string => path.relative(healthProtoRoot(), healthCheck().protoPath);
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** A control service: its fully-qualified name and its file under PROTO_DIR. */
export interface ControlServiceSpec {
  readonly service: string;
  readonly protoFile: string;
}

export const SEGMENT_SERVER_CONTROL: ControlServiceSpec = Object.freeze({
  service: 'msd.segmentserver.v1.SegmentServerControl',
  protoFile: 'msd/segmentserver/v1/segment_server_control.proto',
});

export const FETCHER_CONTROL: ControlServiceSpec = Object.freeze({
  service: 'msd.fetcher.v1.FetcherControl',
  protoFile: 'msd/fetcher/v1/fetcher_control.proto',
});

/**
 * keepCase: field names as in the .proto (snake_case); enums as their names;
 * 64-bit integers as numbers; absent scalars as their defaults (proto3
 * `optional` fields stay undefined when unset).
 */
export const PROTO_LOADER_OPTIONS: Options = Object.freeze({
  keepCase: true,
  enums: String,
  longs: Number,
  defaults: true,
  oneofs: true,
});

/** Loads the given control protos plus the health proto into one package definition. */
export function loadControlProtos(specs: readonly ControlServiceSpec[]): PackageDefinition {
  return protoLoader().loadSync([healthProtoFile(), ...specs.map((s) => s.protoFile)], {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [PROTO_DIR, healthProtoRoot()],
  });
}

/** The service definition named `name` in `pkg`, or a clear error. */
export function serviceDefinition(pkg: PackageDefinition, name: string): ServiceDefinition {
  const entry = pkg[name];
  if (entry === undefined || !isServiceDefinition(entry)) {
    throw new Error(`gRPC service ${name} is not in the loaded protos (loaded: ${Object.keys(pkg).join(', ')})`);
  }
  return entry;
}

function isServiceDefinition(entry: PackageDefinition[string]): entry is ServiceDefinition {
  // Message and enum definitions carry a `format` field; service definitions are method maps.
  return !('format' in entry);
}
