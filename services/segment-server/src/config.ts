/**
 * segment-server settings: schema, flags (original and modern spellings) and the typed result.
 * Every single-setting check, ranges included, is a format in the schema; what is checked here
 * after loading concerns several settings together (planListeners, readTls).
 */
import convict, { type Schema } from 'convict';
import type { IndexSettings } from './catalog';
import {
  FlagSpec, loadConfig, MAX_PIECE_SIZE, MIN_PIECE_SIZE, MsdError, readSettingFile, ServerTlsMaterial, SHARED_FLAGS,
  sharedSchema, SharedSettings, sizeBetween, usage,
} from '@msd/common';

/** The content identity `segment-server index` prints, or empty (no expectation). */
convict.addFormat({
  name: 'content-id',
  validate: (v: unknown) => {
    if (typeof v !== 'string' || (v !== '' && !/^[0-9a-fA-F]{64}$/.test(v))) {
      throw new Error(`${JSON.stringify(v)} is not 64 hex digits; give the content identity \`segment-server index FILE\` prints`);
    }
  },
});

export interface ServerConfig extends SharedSettings {
  file: string;
  ports: number[];
  numServers: number;
  statusInterval: number;
  serverId: number;
  port: number;
  portBase: number | null;
  bind: string;
  pieceSize: number;
  indexCache: boolean;
  indexCacheDir: string;
  hashThreads: number;
  expectContentId: string;
  rateLimit: number;
  handshakeTimeout: number;
  idleTimeout: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  maxInflight: number;
  tlsCert: string;
  tlsKey: string;
  tlsClientCa: string;
  grpcTls: boolean;
  shutdownTimeout: number;
}

export const schema: Schema<ServerConfig> = {
  file: { doc: 'file to serve, or a directory of files', format: String, default: '', env: 'MSD_FILE' },
  ports: { doc: 'one listener per port (server IDs 0..n-1)', format: 'port-list', default: [], env: 'MSD_PORTS' },
  numServers: { doc: 'total number of servers (default: number of ports, else 1)', format: 'whole', default: 0, env: 'MSD_NUM_SERVERS' },
  statusInterval: { doc: 'seconds between status lines (0 = off)', format: 'seconds', default: 0, env: 'MSD_STATUS_INTERVAL' },
  serverId: { doc: 'server ID of the single listener', format: 'whole', default: 0, env: 'MSD_SERVER_ID' },
  port: { doc: 'data port of the single listener', format: 'port', default: 4450, env: 'MSD_PORT' },
  portBase: { doc: 'if set, the data port is this plus the server ID', format: 'optional-port', default: null, env: 'MSD_PORT_BASE' },
  bind: { doc: 'address to listen on', format: 'address', default: '127.0.0.1', env: 'MSD_BIND' },
  pieceSize: { doc: 'piece size (verification grid)', format: sizeBetween(MIN_PIECE_SIZE, MAX_PIECE_SIZE), default: 1024 * 1024, env: 'MSD_PIECE_SIZE' },
  indexCache: { doc: 'keep the piece index in a cache file, so a restart serves at once (--no-index-cache: hash at every start)', format: Boolean, default: true, env: 'MSD_INDEX_CACHE' },
  indexCacheDir: { doc: 'directory of index cache files (default: .msd-index beside the served file or in the served directory)', format: String, default: '', env: 'MSD_INDEX_CACHE_DIR' },
  hashThreads: { doc: 'threads that hash pieces while indexing (0 = every available core)', format: 'whole', default: 0, env: 'MSD_HASH_THREADS' },
  expectContentId: { doc: 'content identity (64 hex digits) the served file must have, else exit 2', format: 'content-id', default: '', env: 'MSD_EXPECT_CONTENT_ID' },
  rateLimit: { doc: 'bytes per second per server (0 = unlimited)', format: 'size', default: 0, env: 'MSD_RATE_LIMIT' },
  handshakeTimeout: { doc: 'seconds a client has to complete the handshake', format: 'seconds', default: 10, env: 'MSD_HANDSHAKE_TIMEOUT' },
  idleTimeout: { doc: 'seconds without any traffic before a connection is closed (0 = never)', format: 'seconds', default: 120, env: 'MSD_IDLE_TIMEOUT' },
  maxConnections: { doc: 'connections per server', format: 'positive-int', default: 256, env: 'MSD_MAX_CONNECTIONS' },
  maxConnectionsPerClient: { doc: 'connections per server from one client address', format: 'positive-int', default: 64, env: 'MSD_MAX_CONNECTIONS_PER_CLIENT' },
  maxInflight: { doc: 'pipelined requests per connection', format: 'positive-int', default: 64, env: 'MSD_MAX_INFLIGHT' },
  tlsCert: { doc: 'TLS certificate (PEM) for the data and gRPC ports', format: String, default: '', env: 'MSD_TLS_CERT' },
  tlsKey: { doc: 'TLS private key (PEM)', format: String, default: '', env: 'MSD_TLS_KEY' },
  tlsClientCa: { doc: 'CA (PEM) client certificates must chain to: mutual TLS', format: String, default: '', env: 'MSD_TLS_CLIENT_CA' },
  grpcTls: { doc: 'serve gRPC over TLS too, with the same certificate (Kubernetes gRPC probes cannot use TLS)', format: Boolean, default: false, env: 'MSD_GRPC_TLS' },
  shutdownTimeout: { doc: 'seconds running transfers get to finish on SIGTERM', format: 'seconds', default: 25, env: 'MSD_SHUTDOWN_TIMEOUT' },
  ...sharedSchema({ doc: 'address of the metrics and gRPC listeners (default: --bind)', default: '' }),
};

export const flags: FlagSpec[] = [
  { key: 'file', names: ['-f', '--file_location', '--file'], kind: 'value' },
  { key: 'ports', names: ['-p', '--list_of_ports', '--ports'], kind: 'list' },
  { key: 'numServers', names: ['-n', '--num_servers', '--num-servers'], kind: 'value' },
  { key: 'statusInterval', names: ['-i', '--status_interval', '--status-interval'], kind: 'value' },
  { key: 'serverId', names: ['--server-id'], kind: 'value' },
  { key: 'port', names: ['--port'], kind: 'value' },
  { key: 'portBase', names: ['--port-base'], kind: 'value' },
  { key: 'bind', names: ['--bind'], kind: 'value' },
  { key: 'pieceSize', names: ['--piece-size'], kind: 'value' },
  { key: 'indexCache', names: ['--index-cache'], kind: 'bool' },
  { key: 'indexCacheDir', names: ['--index-cache-dir'], kind: 'value' },
  { key: 'hashThreads', names: ['--hash-threads'], kind: 'value' },
  { key: 'expectContentId', names: ['--expect-content-id'], kind: 'value' },
  { key: 'rateLimit', names: ['--rate-limit'], kind: 'value' },
  { key: 'handshakeTimeout', names: ['--handshake-timeout'], kind: 'value' },
  { key: 'idleTimeout', names: ['--idle-timeout'], kind: 'value' },
  { key: 'maxConnections', names: ['--max-connections'], kind: 'value' },
  { key: 'maxConnectionsPerClient', names: ['--max-connections-per-client'], kind: 'value' },
  { key: 'maxInflight', names: ['--max-inflight'], kind: 'value' },
  { key: 'tlsCert', names: ['--tls-cert'], kind: 'value' },
  { key: 'tlsKey', names: ['--tls-key'], kind: 'value' },
  { key: 'tlsClientCa', names: ['--tls-client-ca'], kind: 'value' },
  { key: 'grpcTls', names: ['--grpc-tls'], kind: 'bool' },
  { key: 'shutdownTimeout', names: ['--shutdown-timeout'], kind: 'value' },
  ...SHARED_FLAGS,
];

export const SYNOPSIS = '-f FILE|DIR [-p PORT...] [-n N] [-i SECONDS] [--port P --server-id ID] [options]';

export function helpText(): string {
  return usage('segment-server', SYNOPSIS, flags, schema as never);
}

/** Settings derived from the raw ones, checked together. */
export interface ListenerPlan { serverId: number; port: number }

export function planListeners(c: ServerConfig): { listeners: ListenerPlan[]; numServers: number } {
  if (!c.file) throw new MsdError('E_CONFIG', 'file_location (-f, --file, MSD_FILE) is required: the file or directory to serve');
  let listeners: ListenerPlan[];
  if (c.ports.length > 0) {
    if (new Set(c.ports).size !== c.ports.length) throw new MsdError('E_CONFIG', `list_of_ports (-p, MSD_PORTS): ports repeat (${c.ports.join(' ')}); give each server its own port`);
    listeners = c.ports.map((port, k) => ({ serverId: c.serverId + k, port }));
  } else {
    const port = c.portBase !== null ? c.portBase + c.serverId : c.port;
    if (port > 65535) throw new MsdError('E_CONFIG', `port-base (MSD_PORT_BASE) ${c.portBase} + server-id ${c.serverId} = ${port} is not a valid port`);
    listeners = [{ serverId: c.serverId, port }];
  }
  const highest = listeners[listeners.length - 1].serverId;
  const numServers = c.numServers || highest + 1;
  if (numServers <= highest) {
    throw new MsdError('E_CONFIG', `num_servers (-n, MSD_NUM_SERVERS) is ${numServers} but server IDs go up to ${highest}; give -n at least ${highest + 1} or fewer ports`);
  }
  return { listeners, numServers };
}

export { MIN_PIECE_SIZE, MAX_PIECE_SIZE } from '@msd/common';

export function readConfig(argv: string[], env: NodeJS.ProcessEnv): { config: ServerConfig; help: boolean; version: boolean } {
  const { config, args } = loadConfig<ServerConfig>({ schema, flags, argv, env, configKey: 'config' });
  return { config, help: args.help, version: args.version };
}

/** TLS material, read once at start; undefined when TLS is off. */
export function readTls(c: ServerConfig): ServerTlsMaterial | undefined {
  if (!c.tlsCert && !c.tlsKey && !c.tlsClientCa) return undefined;
  if (!c.tlsCert || !c.tlsKey) throw new MsdError('E_CONFIG', 'tls-cert (--tls-cert, MSD_TLS_CERT) and tls-key (--tls-key, MSD_TLS_KEY) go together: give both, or neither for plain TCP');
  return {
    cert: readSettingFile('tls-cert (--tls-cert, MSD_TLS_CERT)', c.tlsCert),
    key: readSettingFile('tls-key (--tls-key, MSD_TLS_KEY)', c.tlsKey),
    clientCa: c.tlsClientCa ? readSettingFile('tls-client-ca (--tls-client-ca, MSD_TLS_CLIENT_CA)', c.tlsClientCa) : undefined,
  };
}

/** How files are indexed: the cache, the hashing threads, the pinned identity. */
export function indexSettings(c: ServerConfig): IndexSettings {
  return { cache: { enabled: c.indexCache, dir: c.indexCacheDir }, threads: c.hashThreads, expectContentId: c.expectContentId.toLowerCase() };
}
