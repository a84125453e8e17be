/**
 * Asks every server what it serves, refuses to mix servers that disagree about the content, and
 * pages through the piece digests. The connections it opens are handed on to the download.
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

export interface Probe<T> {
  addr: ServerAddress;
  conn?: ServerConnection<T>;
  info?: FileInfo;
  error?: MsdError;
}

export interface Discovered<T> {
  info: FileInfo; // with all digests
  probes: Probe<T>[];
  /** Servers that are not segment servers: the download leaves them out. */
  excluded: Set<ServerAddress>;
}

export async function discover<T>(servers: ServerAddress[], name: string, sink: BodySink<T>, opts: ConnectionOptions, log: Logger, giveUpAfterMs: number, signal?: AbortSignal): Promise<Discovered<T>> {
  const probes: Probe<T>[] = servers.map((addr) => ({ addr }));
  const settled = (p: Probe<T>): boolean => p.info !== undefined || (p.error !== undefined && !p.error.retryable);
  const started = performance.now();
  const backoff = new Backoff(DISCOVERY_BACKOFF);
  let lastWarn = started;
  for (let round = 1; ; round++) {
    await Promise.all(probes.filter((p) => !settled(p)).map((p) => probe(p, name, sink, opts)));
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
  const closeAll = (): void => { for (const p of probes) p.conn?.destroy(); };
  if (signal?.aborted) {
    closeAll();
    throw signal.reason instanceof MsdError ? signal.reason : new MsdError('E_CANCELLED', 'cancelled while contacting the servers');
  }
  const fatal = probes.find((p) => p.error && !p.error.retryable && p.error.code !== 'E_PROTOCOL');
  if (fatal) {
    closeAll();
    throw fatal.error!;
  }
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

  const groups = new Map<string, Probe<T>[]>();
  for (const p of ok) {
    const key = `${p.info!.contentId.toString('hex')}/${p.info!.size}/${p.info!.pieceSize}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  if (groups.size > 1) {
    closeAll();
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
  return { info: { ...base, digests, firstDigest: 0 }, probes, excluded: new Set(junk.map((p) => p.addr)) };
}

async function probe<T>(p: Probe<T>, name: string, sink: BodySink<T>, opts: ConnectionOptions): Promise<void> {
  p.conn?.destroy();
  const conn = new ServerConnection<T>(p.addr, sink, opts);
  p.conn = conn;
  try {
    await conn.connect();
    p.info = await conn.info(name, 0, 0);
    p.error = undefined;
  } catch (err) {
    conn.destroy();
    p.conn = undefined;
    p.error = await explain(classify(err, p.addr.label), p.addr, name, sink, opts);
  }
}

/** Refusals of the file name get the words that tell the user what to type instead. */
async function explain<T>(err: MsdError, addr: ServerAddress, name: string, sink: BodySink<T>, opts: ConnectionOptions): Promise<MsdError> {
  if (!(err instanceof RemoteError)) return err;
  if (err.status === Status.NEEDS_NAME) {
    let names = '';
    try {
      const c = new ServerConnection<T>(addr, sink, opts);
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
