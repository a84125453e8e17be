/**
 * What to answer to one request: a pure function of the request, the files served and the
 * listener's state. It reads nothing from disk and writes nothing to a socket, so every answer
 * (INFO paging, LIST, ranges, segment arithmetic, the refusals) is unit-tested without either;
 * `Session` sends the plan and streams the bytes of a range.
 */
import {
  compareListNames, DIGEST_SIZE, encodeInfoBody, encodeListEntry, encodeListPage, encodeResponseHeader, errorResponse,
  MAX_DIGESTS_PER_INFO, ProtocolError, Request, RequestType, segmentRange, Status,
} from '@msd/common';
import type { CatalogEntry } from './catalog';

/** The part of the catalog a request may see: lookups by name, never by path. */
export interface ServedFiles {
  readonly directoryMode: boolean;
  get(name: string): CatalogEntry | undefined;
  list(): CatalogEntry[];
}

export interface ListenerState {
  serverId: number;
  numServers: number;
  draining: boolean;
}

/** Segment labels are bounded: only "segment i of n" with n <= this gets its own label value. */
export const MAX_SEGMENT_LABELS = 64;

export type ResponsePlan =
  /** A whole response (INFO, LIST) in one buffer. */
  | { kind: 'frame'; frame: Buffer }
  /** A response header, then `length` bytes of `entry` from `offset`; `segment` labels the bytes. */
  | { kind: 'range'; header: Buffer; entry: CatalogEntry; offset: number; length: number; segment: string }
  /** A request-level refusal: the frame was well formed, so the connection stays. */
  | { kind: 'refusal'; frame: Buffer; status: Status; message: string };

export function planResponse(req: Request, files: ServedFiles, state: ListenerState): ResponsePlan {
  try {
    return plan(req, files, state);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return { kind: 'refusal', frame: errorResponse(req.type, req.id, err.status, err.message), status: err.status, message: err.message };
  }
}

function plan(req: Request, files: ServedFiles, state: ListenerState): ResponsePlan {
  const ok = (offset: number, length: number): Buffer => encodeResponseHeader({ type: req.type, status: Status.OK, id: req.id, offset, length });
  switch (req.type) {
    case RequestType.LIST: {
      // a = first entry wanted; past the end is an empty page. The header's offset is the total.
      const entries = listing(files);
      const body = encodeListPage(entries, Math.min(req.a, entries.length));
      return { kind: 'frame', frame: Buffer.concat([ok(entries.length, body.length), body]) };
    }
    case RequestType.INFO: {
      const e = lookup(files, req.name);
      const count = e.index.grid.count;
      if (req.a > count) throw new ProtocolError(Status.OUT_OF_RANGE, `first digest ${req.a} is past the last piece (${count} pieces)`);
      const n = Math.min(req.b, MAX_DIGESTS_PER_INFO, count - req.a);
      const body = encodeInfoBody({
        size: e.index.size, pieceSize: e.index.pieceSize, pieceCount: count, serverId: state.serverId,
        numServers: state.numServers, contentId: e.index.contentId, name: e.name,
        firstDigest: req.a, digests: e.index.digests.subarray(req.a * DIGEST_SIZE, (req.a + n) * DIGEST_SIZE),
      });
      return { kind: 'frame', frame: Buffer.concat([ok(0, body.length), body]) };
    }
    case RequestType.GET:
    case RequestType.SEGMENT: {
      // INFO and LIST are still answered while draining: a fetcher needs them to move elsewhere
      if (state.draining) throw new ProtocolError(Status.BUSY, 'server is draining; fetch this range from another server');
      const e = lookup(files, req.name);
      if (req.type === RequestType.SEGMENT) {
        const { offset, length } = segmentRange(e.index.size, req.a, req.b);
        return { kind: 'range', header: ok(offset, length), entry: e, offset, length, segment: req.b <= MAX_SEGMENT_LABELS ? String(req.a) : 'other' };
      }
      if (req.a + req.b > e.index.size) {
        throw new ProtocolError(Status.OUT_OF_RANGE, `range ${req.a}+${req.b} is past the end of ${e.name} (${e.index.size} bytes)`);
      }
      return { kind: 'range', header: ok(req.a, req.b), entry: e, offset: req.a, length: req.b, segment: '' };
    }
  }
}

/**
 * The encoded, name-sorted listing of a set of files, built on the first LIST: the files are fixed
 * once indexed, so every page of every connection indexes the same sequence (paging is consistent)
 * and a page costs only its own entries.
 */
const listings = new WeakMap<ServedFiles, Buffer[]>();
function listing(files: ServedFiles): Buffer[] {
  let entries = listings.get(files);
  if (!entries) {
    entries = files.list().map((e) => ({ name: e.name, size: e.index.size }))
      .sort((x, y) => compareListNames(x.name, y.name))
      .map(encodeListEntry);
    listings.set(files, entries);
  }
  return entries;
}

function lookup(files: ServedFiles, name: string): CatalogEntry {
  const e = files.get(name);
  if (e) return e;
  if (name === '' && files.directoryMode) throw new ProtocolError(Status.NEEDS_NAME, 'this server serves a directory: name a file (fetcher --file NAME)');
  throw new ProtocolError(Status.NOT_FOUND, `no such file: ${JSON.stringify(name)}`);
}
