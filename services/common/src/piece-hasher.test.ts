/** The parallel piece hasher on real files: same digests as one thread, checks, errors, cancellation. */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkPieces, hashPieces, PieceHasher } from './piece-hasher';
import { PieceGrid } from './piece-grid';
import { MsdError } from './errors';

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msd-hasher-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** The reference: SHA-256 of each piece, one at a time. */
function reference(bytes: Buffer, pieceSize: number): Buffer {
  const g = new PieceGrid(bytes.length, pieceSize);
  const out: Buffer[] = [];
  for (let p = 0; p < g.count; p++) out.push(createHash('sha256').update(bytes.subarray(g.start(p), g.end(p))).digest());
  return Buffer.concat(out);
}

describe('hashPieces', () => {
  const bytes = randomBytes(5 * 65536 + 12345); // 6 pieces of 64 KiB, the last one short
  it.each([1, 2, 3, 8])('gives the digests of one thread on %i thread(s)', async (threads) => {
    const f = file(`a${threads}`, bytes);
    expect((await hashPieces(f, bytes.length, 65536, { threads })).equals(reference(bytes, 65536))).toBe(true);
  });

  it('hashes many small pieces (runs shared between threads) and a sub-range', async () => {
    const f = file('many', bytes);
    const all = reference(bytes, 4096);
    expect((await hashPieces(f, bytes.length, 4096, { threads: 2 })).equals(all)).toBe(true);
    expect((await hashPieces(f, bytes.length, 4096, { threads: 2, first: 7, end: 30 })).equals(all.subarray(7 * 32, 30 * 32))).toBe(true);
  });

  it('gives an empty buffer for an empty file', async () => {
    const f = file('empty', Buffer.alloc(0));
    expect((await hashPieces(f, 0, 4096)).length).toBe(0);
  });

  it('rejects with E_IO when the file is shorter than the size being indexed', async () => {
    const f = file('short', bytes);
    const err = await hashPieces(f, bytes.length + 70000, 65536, { threads: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MsdError);
    expect((err as MsdError).code).toBe('E_IO');
    expect((err as MsdError).message).toMatch(/ended at byte 340025, inside piece 5/);
  });

  it('rejects a read error with its errno, never as digests', async () => {
    const err = await hashPieces(dir, 65536, 4096).catch((e: unknown) => e); // a directory: read() fails with EISDIR
    expect((err as MsdError).code).toBe('E_IO');
    expect(((err as MsdError).cause as NodeJS.ErrnoException).code).toBe('EISDIR');
    expect(((err as MsdError).cause as NodeJS.ErrnoException).syscall).toBe('read');
    const missing = await hashPieces(path.join(dir, 'nope'), 65536, 4096).catch((e: unknown) => e);
    expect(((missing as MsdError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

describe('checkPieces', () => {
  const bytes = randomBytes(16 * 65536);
  const grid = new PieceGrid(bytes.length, 65536);
  const expected = reference(bytes, 65536);

  it('names exactly the pieces whose bytes changed', async () => {
    const damaged = Buffer.from(bytes);
    damaged[3 * 65536 + 17] ^= 1;
    damaged[11 * 65536] ^= 0x80;
    const f = file('damaged', damaged);
    expect(await checkPieces(f, grid, expected, undefined, { threads: 2 })).toEqual({ bad: [3, 11] });
    expect(await checkPieces(f, grid, expected, [11, 0, 5])).toEqual({ bad: [11] });
    expect(await checkPieces(f, grid, expected, { first: 4, end: 11 })).toEqual({ bad: [] });
  });

  it('counts pieces past the end of a truncated file as bad, not as an error', async () => {
    const f = file('truncated', bytes.subarray(0, 9 * 65536 + 100));
    expect(await checkPieces(f, grid, expected, undefined, { threads: 2 })).toEqual({ bad: [9, 10, 11, 12, 13, 14, 15] });
  });

  it('rejects a read error instead of reporting bad pieces', async () => {
    const err = await checkPieces(dir, grid, expected).catch((e: unknown) => e);
    expect(((err as MsdError).cause as NodeJS.ErrnoException).code).toBe('EISDIR');
  });

  it('refuses pieces outside the grid', async () => {
    const f = file('ok', bytes);
    await expect(checkPieces(f, grid, expected, [16])).rejects.toThrow(/outside 0..15/);
  });
});

describe('PieceHasher pool', () => {
  it('stops at once when aborted, and serves the next job', async () => {
    const bytes = randomBytes(32 << 20);
    const f = file('big', bytes);
    const grid = new PieceGrid(bytes.length, 4096); // 8192 pieces: far more than are hashed before the abort lands
    const hasher = new PieceHasher(2);
    try {
      const ac = new AbortController();
      const job = hasher.hash(f, grid, { signal: ac.signal });
      setImmediate(() => ac.abort());
      await expect(job).rejects.toMatchObject({ name: 'AbortError' });
      await expect(hasher.hash(f, grid, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
      // concurrent calls queue; each gets its own answer
      const [a, b] = await Promise.all([hasher.hash(f, grid, { first: 0, end: 3 }), hasher.check(f, grid, reference(bytes, 4096), [8191])]);
      expect(a.equals(reference(bytes.subarray(0, 3 * 4096), 4096))).toBe(true);
      expect(b).toEqual({ bad: [] });
    } finally {
      await hasher.close();
    }
  });
});
