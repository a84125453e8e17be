import { createHash } from 'node:crypto';
import {
  contentIdentity, decodeInfoBody, decodeListBody, decodeResponseHeader, DIGEST_SIZE, MAX_DIGESTS_PER_INFO, MAX_LIST_BODY, PieceGrid,
  Request, RequestType, RESPONSE_HEADER_SIZE, Status,
} from '@msd/common';
import type { CatalogEntry } from './catalog';
import { ListenerState, planResponse, ResponsePlan, ServedFiles } from './request-handler';

const PIECE = 4096;

/** A catalog entry over bytes in memory: the handler never reads the file, so fd is unused. */
function entry(name: string, size: number): CatalogEntry {
  const grid = new PieceGrid(size, PIECE);
  const digests = Buffer.alloc(grid.count * DIGEST_SIZE);
  for (let p = 0; p < grid.count; p++) createHash('sha256').update(`${name}:${p}`).digest().copy(digests, p * DIGEST_SIZE);
  return { name, path: `/nowhere/${name}`, fd: -1, index: { size, pieceSize: PIECE, grid, digests, contentId: contentIdentity(size, PIECE, digests) } };
}

function files(entries: CatalogEntry[], directoryMode: boolean): ServedFiles {
  return {
    directoryMode,
    get: (name) => (directoryMode ? entries.find((e) => e.name === name) : name === '' || name === entries[0].name ? entries[0] : undefined),
    list: () => entries,
  };
}

const one = entry('one.bin', 10 * PIECE + 5);
const single = files([one], false);
const dir = files([entry('a/x.bin', 100), entry('b.bin', 3 * PIECE)], true);
const state: ListenerState = { serverId: 2, numServers: 4, draining: false };
const req = (type: RequestType, a: number, b: number, name = '', id = 7): Request => ({ type, id, a, b, name });

function refusal(p: ResponsePlan): { status: Status; message: string } {
  if (p.kind !== 'refusal') throw new Error(`expected a refusal, got ${p.kind}`);
  const h = decodeResponseHeader(p.frame);
  expect(h.status).toBe(p.status);
  expect(p.frame.subarray(RESPONSE_HEADER_SIZE).toString('utf8')).toBe(p.message);
  return { status: p.status, message: p.message };
}

/** The body of a whole-frame answer; `offset` is what the header must carry (LIST: the total). */
function frameBody(p: ResponsePlan, type: RequestType, offset = 0): Buffer {
  if (p.kind !== 'frame') throw new Error(`expected a frame, got ${p.kind}`);
  const h = decodeResponseHeader(p.frame);
  expect(h).toEqual({ type, status: Status.OK, id: 7, offset, length: p.frame.length - RESPONSE_HEADER_SIZE });
  return p.frame.subarray(RESPONSE_HEADER_SIZE);
}

describe('planResponse', () => {
  it('answers INFO with the index, this server ID and the requested page of digests', () => {
    const info = decodeInfoBody(frameBody(planResponse(req(RequestType.INFO, 3, 4), single, state), RequestType.INFO));
    expect(info).toMatchObject({ size: one.index.size, pieceSize: PIECE, pieceCount: 11, serverId: 2, numServers: 4, name: 'one.bin', firstDigest: 3 });
    expect(info.digests).toEqual(one.index.digests.subarray(3 * DIGEST_SIZE, 7 * DIGEST_SIZE));
    expect(info.contentId).toEqual(one.index.contentId);
  });

  it('cuts an INFO page at the last piece and at the per-response maximum', () => {
    expect(decodeInfoBody(frameBody(planResponse(req(RequestType.INFO, 9, 100), single, state), RequestType.INFO)).digests.length).toBe(2 * DIGEST_SIZE);
    expect(decodeInfoBody(frameBody(planResponse(req(RequestType.INFO, 11, 5), single, state), RequestType.INFO)).digests.length).toBe(0);
    const big = entry('big', (MAX_DIGESTS_PER_INFO + 10) * PIECE);
    const page = decodeInfoBody(frameBody(planResponse(req(RequestType.INFO, 0, MAX_DIGESTS_PER_INFO + 10), files([big], false), state), RequestType.INFO));
    expect(page.digests.length).toBe(MAX_DIGESTS_PER_INFO * DIGEST_SIZE);
  });

  it('refuses an INFO page that starts past the last piece, keeping the connection', () => {
    expect(refusal(planResponse(req(RequestType.INFO, 12, 1), single, state))).toEqual({ status: Status.OUT_OF_RANGE, message: 'first digest 12 is past the last piece (11 pieces)' });
  });

  it('plans a GET as its header and the byte range of the entry', () => {
    const p = planResponse(req(RequestType.GET, 100, 5000), single, state);
    if (p.kind !== 'range') throw new Error(p.kind);
    expect({ offset: p.offset, length: p.length, segment: p.segment, entry: p.entry.name }).toEqual({ offset: 100, length: 5000, segment: '', entry: 'one.bin' });
    expect(decodeResponseHeader(p.header)).toEqual({ type: RequestType.GET, status: Status.OK, id: 7, offset: 100, length: 5000 });
  });

  it('allows a GET that ends exactly at the end, refuses one byte more', () => {
    expect(planResponse(req(RequestType.GET, 0, one.index.size), single, state).kind).toBe('range');
    expect(refusal(planResponse(req(RequestType.GET, 1, one.index.size), single, state)).status).toBe(Status.OUT_OF_RANGE);
  });

  it('maps SEGMENT i of n to its range and labels it by i, bounded', () => {
    const p = planResponse(req(RequestType.SEGMENT, 3, 4), single, state);
    if (p.kind !== 'range') throw new Error(p.kind);
    const size = one.index.size;
    expect({ offset: p.offset, length: p.length, segment: p.segment }).toEqual({ offset: Math.floor((size * 3) / 4), length: size - Math.floor((size * 3) / 4), segment: '3' });
    const many = planResponse(req(RequestType.SEGMENT, 3, 65), single, state);
    expect(many.kind === 'range' && many.segment).toBe('other');
    expect(refusal(planResponse(req(RequestType.SEGMENT, 4, 4), single, state)).status).toBe(Status.OUT_OF_RANGE);
  });

  it('refuses ranges while draining but still answers INFO and LIST', () => {
    const draining = { ...state, draining: true };
    expect(refusal(planResponse(req(RequestType.GET, 0, 1), single, draining)).status).toBe(Status.BUSY);
    expect(refusal(planResponse(req(RequestType.SEGMENT, 0, 1), single, draining)).status).toBe(Status.BUSY);
    expect(planResponse(req(RequestType.INFO, 0, 0), single, draining).kind).toBe('frame');
    expect(planResponse(req(RequestType.LIST, 0, 0), single, draining).kind).toBe('frame');
  });

  it('lists the files with their sizes, the total in the header', () => {
    expect(decodeListBody(frameBody(planResponse(req(RequestType.LIST, 0, 0), dir, state), RequestType.LIST, 2))).toEqual([{ name: 'a/x.bin', size: 100 }, { name: 'b.bin', size: 3 * PIECE }]);
  });

  it('lists from the start index, and answers a start past the end with an empty page', () => {
    expect(decodeListBody(frameBody(planResponse(req(RequestType.LIST, 1, 0), dir, state), RequestType.LIST, 2))).toEqual([{ name: 'b.bin', size: 3 * PIECE }]);
    expect(decodeListBody(frameBody(planResponse(req(RequestType.LIST, 2, 0), dir, state), RequestType.LIST, 2))).toEqual([]);
    expect(decodeListBody(frameBody(planResponse(req(RequestType.LIST, 2 ** 53 - 1, 0), dir, state), RequestType.LIST, 2))).toEqual([]);
  });

  it('sorts the listing by the bytes of the names, whatever order the catalog gives', () => {
    const mixed = files([entry('b', 1), entry('B', 1), entry('a', 1), entry('\u00e9', 1), entry('A/z', 1)], true);
    const names = decodeListBody(frameBody(planResponse(req(RequestType.LIST, 0, 0), mixed, state), RequestType.LIST, 5)).map((e) => e.name);
    expect(names).toEqual(['A/z', 'B', 'a', 'b', '\u00e9']);
  });

  it('pages a listing larger than one LIST body: every entry exactly once, in order', () => {
    // names of ~200 bytes: 20,000 entries are ~4 MiB of listing, 4+ pages of at most 1 MiB
    const many = Array.from({ length: 20_000 }, (_, i) => entry(`dir-${'d'.repeat(180)}/file-${String(19_999 - i).padStart(5, '0')}.bin`, i));
    const served = files(many, true);
    const got: string[] = [];
    let pages = 0;
    while (got.length < many.length) {
      const body = frameBody(planResponse(req(RequestType.LIST, got.length, 0), served, state), RequestType.LIST, many.length);
      expect(body.length).toBeLessThanOrEqual(MAX_LIST_BODY);
      const page = decodeListBody(body);
      expect(page.length).toBeGreaterThan(0);
      got.push(...page.map((e) => e.name));
      pages++;
    }
    expect(pages).toBeGreaterThan(1);
    expect(got).toEqual(many.map((e) => e.name).sort());
    expect(new Set(got).size).toBe(many.length);
  });

  it('asks a directory server\'s client for a name, and names an unknown file', () => {
    expect(refusal(planResponse(req(RequestType.GET, 0, 1), dir, state)).status).toBe(Status.NEEDS_NAME);
    expect(refusal(planResponse(req(RequestType.INFO, 0, 0, 'nope'), dir, state))).toEqual({ status: Status.NOT_FOUND, message: 'no such file: "nope"' });
    expect(planResponse(req(RequestType.GET, 0, 100, 'a/x.bin'), dir, state).kind).toBe('range');
  });

  it('serves a single file by its name or the empty name only', () => {
    expect(planResponse(req(RequestType.GET, 0, 1, 'one.bin'), single, state).kind).toBe('range');
    expect(refusal(planResponse(req(RequestType.GET, 0, 1, '../one.bin'), single, state)).status).toBe(Status.NOT_FOUND);
  });
});
