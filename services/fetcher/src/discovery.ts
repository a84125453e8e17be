/**
 * Asks every server what it serves, refuses to mix servers that disagree about the content, and
 * pages through the piece digests. Its connections only ask for INFO, and are closed when it
 * returns: the download opens its own (each with its receive ring).
 *
 * Each probe's failure is classified once (failure.ts): a retryable one (refused, reset, silent,
 * busy) is tried again with backoff while no server answers (servers may be starting or indexing:
 * a Job and its StatefulSet start together); a peer that is not a segment server is left out when
 * others answer, and ends the run at once (exit 8) when every server is one; any other
 * non-retryable failure (wrong --file, token, TLS) ends it at once.
 */
import { FileInfo, Logger, MsdError, Status } from '@msd/common';
import { Backoff, DISCOVERY_BACKOFF } from './backoff';
import { BodySink, ConnectionOptions, ServerConnection } from './connection';
import { pageDigests } from './digest-pages';
import { classify, RemoteError } from './failure';
import type { ServerAddress } from './server-address';
import { DiscoveredSet, discoverSet } from './set-discovery';

interface Probe {
  addr: ServerAddress;
  conn?: ServerConnection<never>;
  info?: FileInfo;
  /** Asked for no file by name, the server said it serves a directory: a set download. */
  directory?: boolean;
  error?: MsdError;
}

/** What the servers serve: one file (with all its digests), or the selected files of a directory. */
export type Source = { kind: 'file'; info: FileInfo } | ({ kind: 'set' } & DiscoveredSet);

export interface Discovered {
  source: Source;
  /** Servers that answered, with what they said. */
  answered: number;
  /** Servers that are not segment servers: the download leaves them out. */
  excluded: Set<ServerAddress>;
}

/** --include / --exclude: which files of a directory; only with no --file. */
export interface Selection {
  include: readonly string[];
  exclude: readonly string[];
}

/** Probe connections only ask for INFO and LIST: no body ever reaches this sink. */
const NO_BODIES: BodySink<never> = { onBody: () => undefined, onDone: () => undefined, onFailed: () => undefined };

export async function discover(servers: ServerAddress[], name: string, selection: Selection, opts: ConnectionOptions, log: Logger, giveUpAfterMs: number, signal?: AbortSignal): Promise<Discovered> {
  const probes: Probe[] = servers.map((addr) => ({ addr }));
  try {
    return await discoverWith(probes, name, selection, opts, log, giveUpAfterMs, signal);
  } finally {
    for (const p of probes) p.conn?.destroy();
  }
}

async function discoverWith(probes: Probe[], name: string, selection: Selection, opts: ConnectionOptions, log: Logger, giveUpAfterMs: number, signal?: AbortSignal): Promise<Discovered> {
  const up = (p: Probe): boolean => p.info !== undefined || p.directory === true;
  const settled = (p: Probe): boolean => up(p) || (p.error !== undefined && !p.error.retryable);
  const started = performance.now();
  const backoff = new Backoff(DISCOVERY_BACKOFF);
  let lastWarn = started;
  for (let round = 1; ; round++) {
    await Promise.all(probes.filter((p) => !settled(p)).map((p) => probe(p, name, opts)));
    if (signal?.aborted) break;
    if (probes.every(settled)) break;
    if (probes.some((p) => p.error && !p.error.retryable && p.error.code !== 'E_PROTOCOL')) break;
    const anyUp = probes.some(up);
    if (anyUp && round >= 2) break; // the rest are retried during the download
    const now = performance.now();
    if (!anyUp && now - started >= giveUpAfterMs) break;
    if (!anyUp && now - lastWarn >= 5000) {
      lastWarn = now;
      log.warn('waiting for servers', { seconds: Math.round((now - started) / 1000), giveUpAfterSeconds: Math.round(giveUpAfterMs / 1000), errors: probes.map((p) => p.error?.message ?? p.addr.label) });
    }
    await sleep(backoff.next(), signal);
  }
  if (signal?.aborted) {
    throw signal.reason instanceof MsdError ? signal.reason : new MsdError('E_CANCELLED', 'cancelled while contacting the servers');
  }
  const fatal = probes.find((p) => p.error && !p.error.retryable && p.error.code !== 'E_PROTOCOL');
  if (fatal) throw fatal.error!;
  const ok = probes.filter(up);
  const junk = probes.filter((p) => p.error?.code === 'E_PROTOCOL');
  if (ok.length === 0) {
    if (junk.length === probes.length) {
      throw new MsdError('E_PROTOCOL', `no segment server among the servers given: ${junk.map((p) => p.error!.message).join('; ')}`);
    }
    throw new MsdError('E_UNREACHABLE', `no server reachable within ${Math.round(giveUpAfterMs / 1000)} s: ${probes.map((p) => p.error?.message ?? p.addr.label).join('; ')}; check the addresses and that the servers run`);
  }
  for (const p of junk) log.warn(`${p.error!.message}; leaving it out and continuing with the others`, { server: p.addr.label, code: p.error!.code });
  for (const p of probes) if (!up(p) && !junk.includes(p)) log.warn('server unreachable for now; will retry it during the download', { server: p.addr.label, error: p.error?.message });

  const excluded = new Set(junk.map((p) => p.addr));
  const dirs = ok.filter((p) => p.directory);
  if (dirs.length > 0 && dirs.length < ok.length) {
    const file = ok.find((p) => p.info)!;
    throw new MsdError('E_CONTENT_MISMATCH', `servers disagree about what they serve: ${dirs.map((p) => p.addr.label).join(', ')} serve a directory, ${file.addr.label} serves one file ("${file.info!.name}"). Point the fetcher at servers of one source only`);
  }
  if (dirs.length > 0) {
    const set = await discoverSet(dirs.map((p) => ({ label: p.addr.label, conn: p.conn! })), selection.include, selection.exclude);
    return { source: { kind: 'set', ...set }, answered: ok.length, excluded };
  }
  if (selection.include.length + selection.exclude.length > 0) {
    throw new MsdError('E_USAGE', `${ok[0].addr.label} serves one file ("${ok[0].info!.name}"), not a directory: --include and --exclude choose files of a directory; leave them out`);
  }
  const groups = new Map<string, Probe[]>();
  for (const p of ok) {
    const key = `${p.info!.contentId.toString('hex')}/${p.info!.size}/${p.info!.pieceSize}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  if (groups.size > 1) {
    const desc = [...groups.values()].map((g) => `${g.map((p) => p.addr.label).join(', ')} serve "${g[0].info!.name}" (${g[0].info!.size} bytes, piece ${g[0].info!.pieceSize}, content ${g[0].info!.contentId.toString('hex').slice(0, 16)})`);
    throw new MsdError('E_CONTENT_MISMATCH', `servers disagree about the content: ${desc.join('; ')}. Point the fetcher at servers of one file only`);
  }
  const first = ok[0];
  const base = first.info!;
  const digests = await pageDigests(first.conn!, first.addr.label, name, base);
  return { source: { kind: 'file', info: { ...base, digests, firstDigest: 0 } }, answered: ok.length, excluded };
}

async function probe(p: Probe, name: string, opts: ConnectionOptions): Promise<void> {
  p.conn?.destroy();
  const conn = new ServerConnection<never>(p.addr, NO_BODIES, opts);
  p.conn = conn;
  try {
    await conn.connect();
    p.info = await conn.info(name, 0, 0);
    p.error = undefined;
  } catch (err) {
    if (name === '' && err instanceof RemoteError && err.status === Status.NEEDS_NAME) {
      // no --file, and the server serves a directory: the whole directory (or --include's part)
      p.directory = true;
      p.error = undefined;
      return;
    }
    conn.destroy();
    p.conn = undefined;
    p.error = explain(classify(err, p.addr.label), p.addr, name);
  }
}

/** A refusal of the file name gets the words that tell the user what to type instead. */
function explain(err: MsdError, addr: ServerAddress, name: string): MsdError {
  if (err instanceof RemoteError && err.status === Status.NOT_FOUND) return new MsdError('E_NOT_FOUND', `${addr.label} has no file named "${name}"; check --file (the name is relative to the served directory; leave --file out to fetch the whole directory)`);
  return err;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) { resolve(); return; }
    const t = setTimeout(done, ms);
    function done(): void { clearTimeout(t); signal?.removeEventListener('abort', done); resolve(); }
    signal?.addEventListener('abort', done, { once: true });
  });
}
