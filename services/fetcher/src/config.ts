/**
 * fetcher settings: schema, flags (original and modern spellings) and the typed result. Every
 * single-setting check, ranges included, is a format in the schema; readTls checks the settings
 * that go together.
 */
import type { Schema } from 'convict';
import {
  ClientTlsMaterial, FlagSpec, loadConfig, MsdError, readSettingFile, SHARED_FLAGS, sharedSchema, SharedSettings, usage,
  wholeBetween,
} from '@msd/common';

/**
 * Connections per server and requests in flight per connection: past 64 each adds only memory
 * and server load (the bench sweep flattens well before), and 64 x 64 stays within a server's
 * default --max-connections-per-client and --max-inflight.
 */
export const MAX_CONNECTIONS_PER_SERVER = 64;
export const MAX_PIPELINE = 64;

export interface FetcherConfig extends SharedSettings {
  serverIpAddress: string;
  ports: number[];
  servers: string[];
  output: string;
  file: string;
  include: string[];
  exclude: string[];
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
  pushgatewayUrl: string;
  progress: 'auto' | 'tty' | 'lines' | 'off';
}

export const schema: Schema<FetcherConfig> = {
  serverIpAddress: { doc: 'host of the servers given by -p', format: String, default: '127.0.0.1', env: 'MSD_SERVER_IP_ADDRESS' },
  ports: { doc: 'ports of the servers on that host', format: 'port-list', default: [], env: 'MSD_PORTS' },
  servers: { doc: 'host:port,host:port,... (servers on different hosts)', format: 'string-list', default: [], env: 'MSD_SERVERS' },
  output: { doc: 'output file, or a directory (created when its parent exists) to fetch a served directory into', format: String, default: '.', env: 'MSD_OUTPUT' },
  file: { doc: 'one file of a served directory (without it, the whole directory is fetched)', format: String, default: '', env: 'MSD_FILE' },
  include: { doc: 'fetch only the files of a served directory whose relative path matches one of these globs (repeatable, or comma-separated; * stays within a directory, ** crosses them)', format: 'glob-list', default: [], env: 'MSD_INCLUDE' },
  exclude: { doc: 'leave out the files whose relative path matches one of these globs (repeatable, or comma-separated)', format: 'glob-list', default: [], env: 'MSD_EXCLUDE' },
  metricInterval: { doc: 'seconds between progress lines', format: 'seconds', default: 1, env: 'MSD_METRIC_INTERVAL' },
  resume: { doc: 'resume from the state beside the part file (-r, -r 1; -r 0 or --no-resume: start over)', format: Boolean, default: true, env: 'MSD_RESUME' },
  onBadState: { doc: 'state for other content or damaged: reverify, restart or fail', format: ['reverify', 'restart', 'fail'], default: 'reverify', env: 'MSD_ON_BAD_STATE' },
  connectionsPerServer: { doc: 'connections to each server', format: wholeBetween(1, MAX_CONNECTIONS_PER_SERVER), default: 1, env: 'MSD_CONNECTIONS_PER_SERVER' },
  pipeline: { doc: 'requests in flight per connection', format: wholeBetween(1, MAX_PIPELINE), default: 4, env: 'MSD_PIPELINE' },
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
  pushgatewayUrl: { doc: 'Pushgateway URL for the final outcome', format: String, default: '', env: 'MSD_PUSHGATEWAY_URL' },
  progress: { doc: 'progress display: auto (live on a terminal, lines otherwise), tty, lines, off', format: ['auto', 'tty', 'lines', 'off'], default: 'auto', env: 'MSD_PROGRESS' },
  ...sharedSchema({ doc: 'address of the metrics and gRPC listeners', default: '127.0.0.1' }),
};

export const flags: FlagSpec[] = [
  { key: 'serverIpAddress', names: ['-a', '--server_ip_address', '--host'], kind: 'value' },
  { key: 'ports', names: ['-p', '--list_of_ports', '--ports'], kind: 'list' },
  { key: 'servers', names: ['--servers'], kind: 'list' },
  { key: 'output', names: ['-o', '--output_location', '--output'], kind: 'value' },
  { key: 'file', names: ['--file'], kind: 'value' },
  { key: 'include', names: ['--include'], kind: 'list' },
  { key: 'exclude', names: ['--exclude'], kind: 'list' },
  { key: 'metricInterval', names: ['-i', '--metric_interval', '--metric-interval'], kind: 'value' },
  // the original client documents `-r RESUME, --resume RESUME` (1 resumes) and spells it --resumebool in its code
  { key: 'resume', names: ['-r', '--resume', '--resumebool'], kind: 'bool' },
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
  { key: 'pushgatewayUrl', names: ['--pushgateway-url'], kind: 'value' },
  { key: 'progress', names: ['--progress'], kind: 'value' },
  ...SHARED_FLAGS,
];

export const SYNOPSIS = '[-a HOST] -p PORT... | --servers HOST:PORT,... [-o OUT] [-i SECONDS] [-r [1|0] | --no-resume] [options]';

export function helpText(): string {
  return usage('fetcher', SYNOPSIS, flags, schema as never);
}

export function readConfig(argv: string[], env: NodeJS.ProcessEnv): { config: FetcherConfig; help: boolean; version: boolean } {
  const { config, args } = loadConfig<FetcherConfig>({ schema, flags, argv, env, configKey: 'config' });
  if (config.file && config.include.length + config.exclude.length > 0) {
    throw new MsdError('E_USAGE', 'invalid configuration: file (--file) names one file, include/exclude (--include, --exclude) choose files of a whole directory: give one or the other');
  }
  return { config, help: args.help, version: args.version };
}

/** TLS material for the connections to the servers, read once at start; undefined when TLS is off. */
export function readTls(c: FetcherConfig): ClientTlsMaterial | undefined {
  if (!c.tls && !c.tlsCa && !c.tlsCert && !c.tlsKey) return undefined;
  if (!!c.tlsCert !== !!c.tlsKey) throw new MsdError('E_CONFIG', 'invalid configuration: tls-cert (--tls-cert) and tls-key (--tls-key) go together for mutual TLS: give both or neither');
  const read = (setting: string, file: string): Buffer | undefined => (file ? readSettingFile(setting, file) : undefined);
  return { ca: read('tls-ca (--tls-ca)', c.tlsCa), cert: read('tls-cert (--tls-cert)', c.tlsCert), key: read('tls-key (--tls-key)', c.tlsKey), servername: c.tlsServername || undefined };
}
