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
import { DIGEST_SIZE, FileInfo, Logger, MAX_DIGESTS_PER_INFO, MsdError, Status } from '@msd/common';
import { Backoff, DISCOVERY_BACKOFF } from './backoff';
import { BodySink, ConnectionOptions, ServerConnection } from './connection';
import { classify, RemoteError } from './failure';
import type { ServerAddress } from './server-address';

interface Probe {
  addr: ServerAddress;
  conn?: ServerConnection<never>;
  info?: FileInfo;
  error?: MsdError;
}

export interface Discovered {
  info: FileInfo; // with all digests
  /** Servers that answered, with what they said. */
  answered: number;
  /** Servers that are not segment servers: the download leaves them out. */
  excluded: Set<ServerAddress>;
}

/** Probe connections only ask for INFO and LIST: no body ever reaches this sink. */
const NO_BODIES: BodySink<never> = { onBody: () => undefined, onDone: () => undefined, onFailed: () => undefined };

export async function discover(servers: ServerAddress[], name: string, opts: ConnectionOptions, log: Logger, giveUpAfterMs: number, signal?: AbortSignal): Promise<Discovered> {
  const probes: Probe[] = servers.map((addr) => ({ addr }));
  try {
    return await discoverWith(probes, name, opts, log, giveUpAfterMs, signal);
  } finally {
    for (const p of probes) p.conn?.destroy();
  }
}

async function discoverWith(probes: Probe[], name: string, opts: ConnectionOptions, log: Logger, giveUpAfterMs: number, signal?: AbortSignal): Promise<Discovered> {
  const settled = (p: Probe): boolean => p.info !== undefined || (p.error !== undefined && !p.error.retryable);
  const started = performance.now();
  const backoff = new Backoff(DISCOVERY_BACKOFF);
  let lastWarn = started;
  for (let round = 1; ; round++) {
    await Promise.all(probes.filter((p) => !settled(p)).map((p) => probe(p, name, opts)));
    if (signal?.aborted) break;
    if (probes.every(settled)) break;
    if (probes.some((p) => p.error && !p.error.retryable && p.error.code !== 'E_PROTOCOL')) break;
    const anyUp = probes.some((p) => p.info);
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
  const ok = probes.filter((p) => p.info);
  const junk = probes.filter((p) => p.error?.code === 'E_PROTOCOL');
  if (ok.length === 0) {
    if (junk.length === probes.length) {
      throw new MsdError('E_PROTOCOL', `no segment server among the servers given: ${junk.map((p) => p.error!.message).join('; ')}`);
    }
    throw new MsdError('E_UNREACHABLE', `no server reachable within ${Math.round(giveUpAfterMs / 1000)} s: ${probes.map((p) => p.error?.message ?? p.addr.label).join('; ')}; check the addresses and that the servers run`);
  }
  for (const p of junk) log.warn(`${p.error!.message}; leaving it out and continuing with the others`, { server: p.addr.label, code: p.error!.code });
  for (const p of probes) if (!p.info && !junk.includes(p)) log.warn('server unreachable for now; will retry it during the download', { server: p.addr.label, error: p.error?.message });

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
  const digests = Buffer.alloc(base.pieceCount * DIGEST_SIZE);
  for (let at = 0; at < base.pieceCount;) {
    const page = await first.conn!.info(name, at, MAX_DIGESTS_PER_INFO);
    if (!page.contentId.equals(base.contentId)) throw new MsdError('E_CONTENT_MISMATCH', `${first.addr.label} changed its content while listing digests`);
    const n = page.digests.length / DIGEST_SIZE;
    if (page.firstDigest !== at || n === 0) throw new MsdError('E_PROTOCOL', `${first.addr.label} returned digests from ${page.firstDigest} (${n}) when asked from ${at}`);
    page.digests.copy(digests, at * DIGEST_SIZE);
    at += n;
  }
  return { info: { ...base, digests, firstDigest: 0 }, answered: ok.length, excluded: new Set(junk.map((p) => p.addr)) };
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
    conn.destroy();
    p.conn = undefined;
    p.error = await explain(classify(err, p.addr.label), p.addr, name, opts);
  }
}

/** Refusals of the file name get the words that tell the user what to type instead. */
async function explain(err: MsdError, addr: ServerAddress, name: string, opts: ConnectionOptions): Promise<MsdError> {
  if (!(err instanceof RemoteError)) return err;
  if (err.status === Status.NEEDS_NAME) {
    let names = '';
    try {
      const c = new ServerConnection<never>(addr, NO_BODIES, opts);
      await c.connect();
      names = (await c.list()).map((e) => e.name).join(', ');
      c.destroy();
    } catch { /* listing is a courtesy */ }
    return new MsdError('E_USAGE', `${addr.label} serves a directory: choose a file with --file NAME${names ? ` (available: ${names})` : ''}`);
  }
  if (err.status === Status.NOT_FOUND) return new MsdError('E_NOT_FOUND', `${addr.label} has no file named "${name}"; check --file (the name is relative to the served directory)`);
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
