/**
 * What a set of directory servers serves, once discovery found them: each server's whole listing
 * (paged LIST), the selection (--include/--exclude), and every selected file's size and content
 * identity from every server (INFO, pipelined; from the first server with its digests). Servers
 * are compared by a fingerprint of their selected files, and only when two differ are both read
 * whole, to name the files that differ: they are never mixed. A name that could leave the output
 * directory ends the run before anything is written.
 */
import { createHash } from 'node:crypto';
import { DIGEST_SIZE, type FileInfo, MAX_DIGESTS_PER_INFO, MsdError } from '@msd/common';
import type { ServerConnection } from './connection';
import { pageDigests } from './digest-pages';
import { listAll, MAX_SET_FILES } from './listing';
import type { SetEntry } from './set-layout';
import { checkSetNames, selectNames } from './set-names';

/** INFO requests in flight on one connection: well under the server's --max-inflight (64). */
const WINDOW = 32;
/** Differing files a mismatch message names before it says "and N more". */
const SHOWN = 8;

export interface SetServer {
  label: string;
  conn: ServerConnection<never>;
}

export interface DiscoveredSet {
  files: SetEntry[];
  pieceSize: number;
  /** Files the servers list before the selection. */
  listed: number;
}

export async function discoverSet(servers: readonly SetServer[], include: readonly string[], exclude: readonly string[]): Promise<DiscoveredSet> {
  // the first server's files are kept whole (with their digests); the others are only
  // fingerprinted: four servers of 10,000 files would otherwise hold four listings of them at once
  const [base, ...others] = await Promise.all(servers.map((s, k) => viewOf(s, include, exclude, k === 0)));
  for (let k = 0; k < others.length; k++) {
    if (others[k].fingerprint.equals(base.fingerprint)) continue;
    // they differ: read that server's files whole, to say which
    compareViews(base, await viewOf(servers[k + 1], include, exclude, true));
    throw new MsdError('E_CONTENT_MISMATCH', `servers disagree about the directory: ${base.label} and ${others[k].label} served different files while they were being compared; run again`);
  }
  if (base.infos.length === 0) {
    throw base.listed === 0
      ? new MsdError('E_NOT_FOUND', `${base.label} serves an empty directory: there is nothing to fetch`)
      : new MsdError('E_USAGE', `none of the ${base.listed} files ${base.label} lists matches --include ${JSON.stringify(include)} / --exclude ${JSON.stringify(exclude)}; check the patterns (they match the relative path, "*" stays within one directory, "**" crosses them)`);
  }
  const pieceSize = base.infos[0].pieceSize;
  const odd = base.infos.find((i) => i.pieceSize !== pieceSize);
  if (odd) throw new MsdError('E_PROTOCOL', `${base.label} uses piece size ${pieceSize} for ${base.infos[0].name} but ${odd.pieceSize} for ${odd.name}; one server has one piece size`);
  // a file of more pieces than one INFO carries pages the rest of its digests
  const digests = await windowed(base.infos, (i) => (i.digests.length === i.pieceCount * DIGEST_SIZE ? Promise.resolve(i.digests) : pageDigests(servers[0].conn, base.label, i.name, i)));
  const files = base.infos.map((i, k) => ({ name: i.name, size: i.size, contentId: i.contentId, digests: digests[k] }));
  return { files, pieceSize, listed: base.listed };
}

interface View {
  label: string;
  listed: number;
  /** The selected files, in listing order, with size, piece size, identity and their first digests; empty when not kept. */
  infos: FileInfo[];
  /** What the selected files are, whatever their order: the XOR of SHA-256(name, size, piece size, identity) of each, and their count. */
  fingerprint: Buffer;
}

async function viewOf(s: SetServer, include: readonly string[], exclude: readonly string[], keep: boolean): Promise<View> {
  const entries = await listAll(s.conn, s.label, MAX_SET_FILES);
  checkSetNames(entries.map((e) => e.name), s.label);
  const names = selectNames(entries, include, exclude).map((e) => e.name);
  const fingerprint = Buffer.alloc(32 + 4);
  fingerprint.writeUInt32BE(names.length, 32);
  const infos = await windowed(names, async (name) => {
    const info = await s.conn.info(name, 0, keep ? MAX_DIGESTS_PER_INFO : 0);
    // the catalog's own name for the file, so a request names exactly what was listed
    info.name = name;
    const h = createHash('sha256').update(`${name}\0${info.size}/${info.pieceSize}/`).update(info.contentId).digest();
    for (let k = 0; k < 32; k++) fingerprint[k] ^= h[k];
    return keep ? info : undefined;
  });
  return { label: s.label, listed: entries.length, infos: keep ? (infos as FileInfo[]) : [], fingerprint };
}

function compareViews(a: View, b: View): void {
  const key = (i: FileInfo): string => `${i.size}/${i.pieceSize}/${i.contentId.toString('hex')}`;
  const inB = new Map(b.infos.map((i) => [i.name, key(i)]));
  const inA = new Set(a.infos.map((i) => i.name));
  const diffs: string[] = [];
  for (const i of a.infos) {
    const other = inB.get(i.name);
    if (other === undefined) diffs.push(`${i.name} (only on ${a.label})`);
    else if (other !== key(i)) diffs.push(`${i.name} (other content)`);
  }
  for (const i of b.infos) if (!inA.has(i.name)) diffs.push(`${i.name} (only on ${b.label})`);
  if (diffs.length === 0) return;
  const shown = diffs.slice(0, SHOWN).join(', ') + (diffs.length > SHOWN ? `, and ${diffs.length - SHOWN} more` : '');
  throw new MsdError('E_CONTENT_MISMATCH', `servers disagree about the directory: ${a.label} and ${b.label} differ on ${diffs.length} files: ${shown}. Point the fetcher at servers of one directory only`);
}

/** f over every item, at most WINDOW at a time (requests pipeline on one connection), results in order. */
async function windowed<T, R>(items: readonly T[], f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const k = next++;
      out[k] = await f(items[k]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, items.length) }, lane));
  return out;
}
