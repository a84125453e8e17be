/**
 * LIST is paged: a real segment-server serving a directory whose listing is larger than one LIST
 * body (12,000 names of ~120 bytes, ~1.6 MB of listing) is read whole by the fetcher's own client
 * (ServerConnection.listPage, paged by listAll): every name exactly once, in byte order, with its size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareListNames, MAX_LIST_BODY } from '@msd/common';
import { BodySink, ServerConnection } from '../../services/fetcher/src/connection';
import { listAll, MAX_SET_FILES } from '../../services/fetcher/src/listing';
import { removeDir, tempDir } from '../helpers/files';
import { killAll, ServerSet, startServerSet } from '../helpers/processes';

const FILES = 12_000;
/** Mixed case first letters: byte order (B < a) is not the order of a locale (a < B). */
const PREFIXES = ['B', 'a', 'C', 'd'];
const nameOf = (i: number): string => `${PREFIXES[i % PREFIXES.length]}-${String(i).padStart(5, '0')}-${'n'.repeat(100)}.bin`;

let dir: string;
let server: ServerSet;
let conn: ServerConnection<undefined>;

const noBodies: BodySink<undefined> = {
  onBody: () => { throw new Error('no GET was sent'); },
  onDone: () => undefined,
  onFailed: () => undefined,
};

beforeAll(async () => {
  dir = tempDir();
  const served = path.join(dir, 'served');
  fs.mkdirSync(served);
  for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(served, nameOf(i)), Buffer.alloc(i % 7, i % 251));
  server = await startServerSet(served, 1, ['--piece-size', '64KiB', '--no-index-cache']);
  conn = new ServerConnection({ host: '127.0.0.1', port: server.ports[0], label: `127.0.0.1:${server.ports[0]}` }, noBodies, { connectTimeoutMs: 10_000, readBufferSize: 1 << 16 });
  await conn.connect();
}, 180_000);

afterAll(async () => {
  conn?.destroy();
  await server?.stop();
  killAll();
  removeDir(dir);
});

test('the listing needs more than one LIST body', () => {
  const bytes = 4 + Array.from({ length: FILES }, (_, i) => 2 + Buffer.byteLength(nameOf(i)) + 8).reduce((a, b) => a + b, 0);
  expect(bytes).toBeGreaterThan(MAX_LIST_BODY);
});

test('the first page carries the total, and is not the whole listing', async () => {
  const first = await conn.listPage(0);
  expect(first.total).toBe(FILES);
  expect(first.entries.length).toBeGreaterThan(0);
  expect(first.entries.length).toBeLessThan(FILES);
  // the old call still answers with the first page
  expect(await conn.list()).toEqual(first.entries);
});

test('listAll reads every name exactly once, in byte order, with its size', async () => {
  const all = await listAll(conn, conn.addr.label, MAX_SET_FILES);
  expect(all).toHaveLength(FILES);
  const want = Array.from({ length: FILES }, (_, i) => ({ name: nameOf(i), size: i % 7 }))
    .sort((x, y) => Buffer.compare(Buffer.from(x.name), Buffer.from(y.name)));
  expect(all).toEqual(want);
  for (let i = 1; i < all.length; i++) expect(compareListNames(all[i - 1].name, all[i].name)).toBeLessThan(0);
});

test('a start index past the end is an empty page, not an error, and the connection stays', async () => {
  expect(await conn.listPage(FILES)).toEqual({ entries: [], total: FILES });
  expect(await conn.listPage(FILES + 1000)).toEqual({ entries: [], total: FILES });
  expect((await conn.listPage(FILES - 1)).entries).toHaveLength(1);
});

test('a bound below the total is refused before the listing is read', async () => {
  await expect(listAll(conn, conn.addr.label, FILES - 1)).rejects.toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/more than the limit of 11999/) });
});
