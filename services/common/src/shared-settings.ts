/**
 * The settings both programs have, declared once: gRPC and metrics ports, the address they bind
 * to, the shared token, logging and the config file. Each program spreads these into its schema
 * and flags; env variables, config-file keys and flags are the same in both.
 */
import type { Schema } from 'convict';
import type { FlagSpec } from './argv-parser';
import type { LogFormat, LogLevel } from './logger';

export interface SharedSettings {
  grpcPort: number | null;
  metricsPort: number | null;
  metricsBind: string;
  token: string;
  tokenFile: string;
  logFormat: LogFormat;
  logLevel: LogLevel;
  config: string;
}

/**
 * `metricsBind` differs by what the program otherwise listens on: the server defaults to its
 * data address (--bind, given as ''), the fetcher, which has none, to loopback.
 */
export function sharedSchema(metricsBind: { doc: string; default: string }): Schema<SharedSettings> {
  return {
    grpcPort: { doc: 'gRPC health and control port (off when unset)', format: 'optional-port', default: null, env: 'MSD_GRPC_PORT' },
    metricsPort: { doc: 'Prometheus /metrics port (off when unset)', format: 'optional-port', default: null, env: 'MSD_METRICS_PORT' },
    metricsBind: { doc: metricsBind.doc, format: String, default: metricsBind.default, env: 'MSD_METRICS_BIND' },
    token: { doc: 'shared token', format: String, default: '', env: 'MSD_TOKEN', sensitive: true },
    tokenFile: { doc: 'file holding the shared token', format: String, default: '', env: 'MSD_TOKEN_FILE' },
    logFormat: { doc: 'log format', format: ['auto', 'json', 'text'], default: 'auto', env: 'MSD_LOG_FORMAT' },
    logLevel: { doc: 'log level', format: ['debug', 'info', 'warn', 'error'], default: 'info', env: 'MSD_LOG_LEVEL' },
    config: { doc: 'JSON config file', format: String, default: '', env: 'MSD_CONFIG' },
  };
}

export const SHARED_FLAGS: readonly FlagSpec[] = [
  { key: 'grpcPort', names: ['--grpc-port'], kind: 'value' },
  { key: 'metricsPort', names: ['--metrics-port'], kind: 'value' },
  { key: 'metricsBind', names: ['--metrics-bind'], kind: 'value' },
  { key: 'token', names: ['--token'], kind: 'value' },
  { key: 'tokenFile', names: ['--token-file'], kind: 'value' },
  { key: 'logFormat', names: ['--log-format'], kind: 'value' },
  { key: 'logLevel', names: ['--log-level'], kind: 'value' },
  { key: 'config', names: ['--config'], kind: 'value' },
];
