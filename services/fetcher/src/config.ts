/** fetcher settings: schema, flags (original and modern spellings) and the typed result. */
import type { Schema } from 'convict';
import { FlagSpec, loadConfig, MsdError, readSettingFile, usage } from '@msd/common';

export interface FetcherConfig {
  serverIpAddress: string;
  ports: number[];
  servers: string[];
  output: string;
  file: string;
  metricInterval: number;
  resume: boolean;
  onBadState: 'reverify' | 'restart' | 'fail';
  connectionsPerServer: number;
  pipeline: number;
  stateInterval: number;
  stallTimeout: number;
  connectTimeout: number;
  giveUpAfter: number;
  steal: boolean;
  verify: boolean;
  fsync: boolean;
  force: boolean;
  verifyOutput: boolean;
  tls: boolean;
  tlsCa: string;
  tlsCert: string;
  tlsKey: string;
  tlsServername: string;
  grpcPort: number | null;
  metricsPort: number | null;
  metricsBind: string;
  pushgatewayUrl: string;
  token: string;
  tokenFile: string;
  progress: 'auto' | 'tty' | 'lines' | 'off';
  logFormat: 'auto' | 'json' | 'text';
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  config: string;
}

export const schema: Schema<FetcherConfig> = {
  serverIpAddress: { doc: 'host of the servers given by -p', format: String, default: '127.0.0.1', env: 'MSD_SERVER_IP_ADDRESS' },
  ports: { doc: 'ports of the servers on that host', format: 'port-list', default: [], env: 'MSD_PORTS' },
  servers: { doc: 'host:port,host:port,... (servers on different hosts)', format: 'string-list', default: [], env: 'MSD_SERVERS' },
  output: { doc: 'output file, or an existing directory', format: String, default: '.', env: 'MSD_OUTPUT' },
  file: { doc: 'file name, when the servers serve a directory', format: String, default: '', env: 'MSD_FILE' },
  metricInterval: { doc: 'seconds between progress lines', format: 'seconds', default: 1, env: 'MSD_METRIC_INTERVAL' },
  resume: { doc: 'resume from the state beside the part file (--no-resume: start over)', format: Boolean, default: true, env: 'MSD_RESUME' },
  onBadState: { doc: 'state for other content or damaged: reverify, restart or fail', format: ['reverify', 'restart', 'fail'], default: 'reverify', env: 'MSD_ON_BAD_STATE' },
  connectionsPerServer: { doc: 'connections to each server', format: 'positive-int', default: 1, env: 'MSD_CONNECTIONS_PER_SERVER' },
  pipeline: { doc: 'requests in flight per connection', format: 'positive-int', default: 4, env: 'MSD_PIPELINE' },
  stateInterval: { doc: 'seconds between resume-state saves', format: 'positive-seconds', default: 1, env: 'MSD_STATE_INTERVAL' },
  stallTimeout: { doc: 'seconds without data before a connection\'s work moves elsewhere', format: 'seconds', default: 10, env: 'MSD_STALL_TIMEOUT' },
  connectTimeout: { doc: 'seconds to connect and get a server\'s greeting', format: 'seconds', default: 5, env: 'MSD_CONNECT_TIMEOUT' },
  giveUpAfter: { doc: 'seconds with no server reachable before giving up (state kept)', format: 'seconds', default: 60, env: 'MSD_GIVE_UP_AFTER' },
  steal: { doc: 'work stealing and end game (--no-steal: static equal split)', format: Boolean, default: true, env: 'MSD_STEAL' },
  verify: { doc: 'SHA-256 check of every piece', format: Boolean, default: true, env: 'MSD_VERIFY' },
  fsync: { doc: 'fdatasync data before each state save and before the final rename (--no-fsync: safe against process kills, not power loss)', format: Boolean, default: true, env: 'MSD_FSYNC' },
  force: { doc: 'download again even when the output already exists and matches the servers (the old file stays until the new one is verified)', format: Boolean, default: false, env: 'MSD_FORCE' },
  verifyOutput: { doc: 'read the whole output back and check every piece once more before the final rename', format: Boolean, default: false, env: 'MSD_VERIFY_OUTPUT' },
  tls: { doc: 'connect to the servers over TLS (implied by --tls-ca)', format: Boolean, default: false, env: 'MSD_TLS' },
  tlsCa: { doc: 'CA (PEM) the servers\' certificates must chain to (default: system CAs)', format: String, default: '', env: 'MSD_TLS_CA' },
  tlsCert: { doc: 'client certificate (PEM) for mutual TLS', format: String, default: '', env: 'MSD_TLS_CERT' },
  tlsKey: { doc: 'client private key (PEM) for mutual TLS', format: String, default: '', env: 'MSD_TLS_KEY' },
  tlsServername: { doc: 'name to verify in the servers\' certificates (default: the host)', format: String, default: '', env: 'MSD_TLS_SERVERNAME' },
  grpcPort: { doc: 'gRPC health and control port (off when unset)', format: 'optional-port', default: null, env: 'MSD_GRPC_PORT' },
  metricsPort: { doc: 'Prometheus /metrics port (off when unset)', format: 'optional-port', default: null, env: 'MSD_METRICS_PORT' },
  metricsBind: { doc: 'address of the metrics and gRPC listeners', format: String, default: '127.0.0.1', env: 'MSD_METRICS_BIND' },
  pushgatewayUrl: { doc: 'Pushgateway URL for the final outcome', format: String, default: '', env: 'MSD_PUSHGATEWAY_URL' },
  token: { doc: 'shared token', format: String, default: '', env: 'MSD_TOKEN', sensitive: true },
  tokenFile: { doc: 'file holding the shared token', format: String, default: '', env: 'MSD_TOKEN_FILE' },
  progress: { doc: 'progress display: auto (live on a terminal, lines otherwise), tty, lines, off', format: ['auto', 'tty', 'lines', 'off'], default: 'auto', env: 'MSD_PROGRESS' },
  logFormat: { doc: 'log format', format: ['auto', 'json', 'text'], default: 'auto', env: 'MSD_LOG_FORMAT' },
  logLevel: { doc: 'log level', format: ['debug', 'info', 'warn', 'error'], default: 'info', env: 'MSD_LOG_LEVEL' },
  config: { doc: 'JSON config file', format: String, default: '', env: 'MSD_CONFIG' },
};

export const flags: FlagSpec[] = [
  { key: 'serverIpAddress', names: ['-a', '--server_ip_address', '--host'], kind: 'value' },
  { key: 'ports', names: ['-p', '--list_of_ports', '--ports'], kind: 'list' },
  { key: 'servers', names: ['--servers'], kind: 'list' },
  { key: 'output', names: ['-o', '--output_location', '--output'], kind: 'value' },
  { key: 'file', names: ['--file'], kind: 'value' },
  { key: 'metricInterval', names: ['-i', '--metric_interval', '--metric-interval'], kind: 'value' },
  { key: 'resume', names: ['-r', '--resume'], kind: 'bool' },
  { key: 'onBadState', names: ['--on-bad-state'], kind: 'value' },
  { key: 'connectionsPerServer', names: ['--connections-per-server', '-c'], kind: 'value' },
  { key: 'pipeline', names: ['--pipeline'], kind: 'value' },
  { key: 'stateInterval', names: ['--state-interval'], kind: 'value' },
  { key: 'stallTimeout', names: ['--stall-timeout'], kind: 'value' },
  { key: 'connectTimeout', names: ['--connect-timeout'], kind: 'value' },
  { key: 'giveUpAfter', names: ['--give-up-after'], kind: 'value' },
  { key: 'steal', names: ['--steal'], kind: 'bool' },
  { key: 'verify', names: ['--verify'], kind: 'bool' },
  { key: 'fsync', names: ['--fsync'], kind: 'bool' },
  { key: 'force', names: ['--force'], kind: 'bool' },
  { key: 'verifyOutput', names: ['--verify-output'], kind: 'bool' },
  { key: 'tls', names: ['--tls'], kind: 'bool' },
  { key: 'tlsCa', names: ['--tls-ca'], kind: 'value' },
  { key: 'tlsCert', names: ['--tls-cert'], kind: 'value' },
  { key: 'tlsKey', names: ['--tls-key'], kind: 'value' },
  { key: 'tlsServername', names: ['--tls-servername'], kind: 'value' },
  { key: 'grpcPort', names: ['--grpc-port'], kind: 'value' },
  { key: 'metricsPort', names: ['--metrics-port'], kind: 'value' },
  { key: 'metricsBind', names: ['--metrics-bind'], kind: 'value' },
  { key: 'pushgatewayUrl', names: ['--pushgateway-url'], kind: 'value' },
  { key: 'token', names: ['--token'], kind: 'value' },
  { key: 'tokenFile', names: ['--token-file'], kind: 'value' },
  { key: 'progress', names: ['--progress'], kind: 'value' },
  { key: 'logFormat', names: ['--log-format'], kind: 'value' },
  { key: 'logLevel', names: ['--log-level'], kind: 'value' },
  { key: 'config', names: ['--config'], kind: 'value' },
];

export const SYNOPSIS = '[-a HOST] -p PORT... | --servers HOST:PORT,... [-o OUT] [-i SECONDS] [-r|--no-resume] [options]';

export function helpText(): string {
  return usage('fetcher', SYNOPSIS, flags, schema as never);
}

export function readConfig(argv: string[], env: NodeJS.ProcessEnv): { config: FetcherConfig; help: boolean; version: boolean } {
  const { config, args } = loadConfig<FetcherConfig>({ schema, flags, argv, env, configKey: 'config' });
  return { config, help: args.help, version: args.version };
}

/** TLS material for the connections to the servers, read once at start; undefined when TLS is off. */
export function readTls(c: FetcherConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string } | undefined {
  if (!c.tls && !c.tlsCa && !c.tlsCert && !c.tlsKey) return undefined;
  if (!!c.tlsCert !== !!c.tlsKey) throw new MsdError('E_CONFIG', 'invalid configuration: tls-cert (--tls-cert) and tls-key (--tls-key) go together for mutual TLS: give both or neither');
  const read = (setting: string, file: string): Buffer | undefined => (file ? readSettingFile(setting, file) : undefined);
  return { ca: read('tls-ca (--tls-ca)', c.tlsCa), cert: read('tls-cert (--tls-cert)', c.tlsCert), key: read('tls-key (--tls-key)', c.tlsKey), servername: c.tlsServername || undefined };
}
