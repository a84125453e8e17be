/**
 * Asks every server what it serves, refuses to mix servers that disagree about the content, and
 * pages through the piece digests. The connections it opens are handed on to the download.
 */
import { DIGEST_SIZE, FileInfo, Logger, MAX_DIGESTS_PER_INFO, MsdError, Status } from '@msd/common';
import { BodySink, ConnectionError, ConnectionOptions, RemoteError, ServerConnection } from './connection';
import type { ServerAddress } from './server-address';

export interface Probe<T> {
  addr: ServerAddress;
  conn?: ServerConnection<T>;
  info?: FileInfo;
  error?: Error;
}

export interface Discovered<T> {
  info: FileInfo; // with all digests
  probes: Probe<T>[];
}

/**
 * Probes until every server answered, or at least one did and a last round for the others is done,
 * or `giveUpAfterMs` passed with none (servers may still be starting or indexing: a Job and its
 * StatefulSet start together).
 */
export async function discover<T>(servers: ServerAddress[], name: string, sink: BodySink<T>, opts: ConnectionOptions, log: Logger, giveUpAfterMs: number): Promise<Discovered<T>> {
  const probes: Probe<T>[] = servers.map((addr) => ({ addr }));
  const started = performance.now();
  let lastWarn = started;
  for (let attempt = 1; ; attempt++) {
    await Promise.all(probes.filter((p) => !p.info && !(p.error instanceof MsdError)).map((p) => probe(p, name, sink, opts)));
    if (probes.every((p) => p.info || p.error instanceof MsdError)) break;
    if (probes.some((p) => p.error instanceof MsdError)) break;
    const anyUp = probes.some((p) => p.info);
    if (anyUp && attempt >= 2) break; // the rest are retried during the download
    const now = performance.now();
    if (!anyUp && now - started >= giveUpAfterMs) break;
    if (!anyUp && now - lastWarn >= 5000) {
      lastWarn = now;
      log.warn('waiting for servers', { seconds: Math.round((now - started) / 1000), giveUpAfterSeconds: Math.round(giveUpAfterMs / 1000), errors: probes.map((p) => p.error?.message ?? p.addr.label) });
    }
    await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** Math.min(attempt, 4))));
  }
  const fatal = probes.find((p) => p.error instanceof MsdError);
  if (fatal) {
    for (const p of probes) p.conn?.destroy();
    throw fatal.error;
  }
  const ok = probes.filter((p) => p.info);
  if (ok.length === 0) {
    throw new MsdError('E_UNREACHABLE', `no server reachable within ${Math.round(giveUpAfterMs / 1000)} s: ${probes.map((p) => p.error?.message ?? p.addr.label).join('; ')}; check the addresses and that the servers run`);
  }
  for (const p of probes) if (!p.info) log.warn('server unreachable for now; will retry it during the download', { server: p.addr.label, error: p.error?.message });

  const groups = new Map<string, Probe<T>[]>();
  for (const p of ok) {
    const key = `${p.info!.contentId.toString('hex')}/${p.info!.size}/${p.info!.pieceSize}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  if (groups.size > 1) {
    for (const p of probes) p.conn?.destroy();
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
  return { info: { ...base, digests, firstDigest: 0 }, probes };
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
    p.error = await classify(err, p.addr, name, sink, opts);
  }
}

async function classify<T>(err: unknown, addr: ServerAddress, name: string, sink: BodySink<T>, opts: ConnectionOptions): Promise<Error> {
  if (err instanceof RemoteError) {
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
  }
  if (err instanceof Error && /requires a token|authentication/.test(err.message)) return new MsdError('E_USAGE', `${err.message}`);
  if (err instanceof ConnectionError && err.reason === 'tls') return new MsdError('E_CONFIG', err.message);
  return err instanceof Error ? err : new Error(String(err));
}
