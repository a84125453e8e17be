/**
 * The resume-state codec: round trips, and every corruption (truncation at each length, each byte
 * flipped, trailing bytes, semantically wrong but well-checksummed records) is a StateDecodeError,
 * never a wrong state.
 */
import { createHash } from 'node:crypto';
import { Bitfield } from '@msd/common';
import { decodeState, encodeState, ResumeState, STATE_MAGIC, StateDecodeError } from './resume-state';

function state(size: number, pieceSize: number, donePieces: number[], partial: Array<[number, number]> = []): ResumeState {
  const pieceCount = Math.ceil(size / pieceSize);
  const done = new Bitfield(pieceCount);
  for (const p of donePieces) done.set(p);
  return { size, pieceSize, pieceCount, contentId: createHash('sha256').update(`content-${size}`).digest(), done, partial: new Map(partial) };
}

function expectSame(a: ResumeState, b: ResumeState): void {
  expect(a.size).toBe(b.size);
  expect(a.pieceSize).toBe(b.pieceSize);
  expect(a.pieceCount).toBe(b.pieceCount);
  expect(a.contentId).toEqual(b.contentId);
  expect(Buffer.from(a.done.bytes)).toEqual(Buffer.from(b.done.bytes));
  expect(a.done.count).toBe(b.done.count);
  expect([...a.partial].sort((x, y) => x[0] - y[0])).toEqual([...b.partial].sort((x, y) => x[0] - y[0]));
}

/** Re-seals a hand-edited record so only the semantic checks can catch it. */
function reseal(b: Buffer): Buffer {
  const body = b.subarray(0, b.length - 32);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

function decodeError(b: Buffer): StateDecodeError {
  try {
    decodeState(b);
  } catch (err) {
    expect(err).toBeInstanceOf(StateDecodeError);
    return err as StateDecodeError;
  }
  throw new Error('a damaged state decoded without error');
}

const samples: Array<[string, ResumeState]> = [
  ['empty file', state(0, 1 << 20, [])],
  ['one byte, not done', state(1, 1 << 20, [])],
  ['one byte, done', state(1, 1 << 20, [0])],
  ['9 pieces, some done, partials', state(9 * 16384 - 5, 16384, [0, 3, 8], [[1, 100], [4, 16384], [7, 1]])],
  ['above 4 GiB', state(5 * 2 ** 32 + 3, 1 << 20, [0, 20480], [[20479, 65536]])],
  ['all done', state(64 * 1024, 1024, Array.from({ length: 64 }, (_, i) => i))],
];

describe('resume state codec', () => {
  it.each(samples)('round-trips: %s', (_name, s) => {
    const b = encodeState(s);
    expectSame(decodeState(b), s);
    // deterministic: the same state always encodes to the same bytes (partials sorted)
    const shuffled = { ...s, partial: new Map([...s.partial].reverse()) };
    expect(encodeState(shuffled)).toEqual(b);
  });

  it('has the documented layout', () => {
    const s = state(3 * 1024 + 1, 1024, [1], [[2, 7]]);
    const b = encodeState(s);
    expect(b.length).toBe(60 + 1 + 4 + 8 + 32);
    expect(b.readUInt32BE(0)).toBe(STATE_MAGIC);
    expect(b.toString('latin1', 0, 4)).toBe('MSDR');
    expect(b.subarray(4, 24).toString('hex')).toBe('0001' + '0000' + '0000000000000c01' + '00000400' + '00000004');
    expect(b.subarray(24, 56)).toEqual(s.contentId);
    expect(b.subarray(56, 73).toString('hex')).toBe('00000001' + '40' + '00000001' + '00000002' + '00000007');
    expect(b.subarray(73)).toEqual(createHash('sha256').update(b.subarray(0, 73)).digest());
  });

  // every position of the small records; in the 2.6 KB one, the header, the tail and every 7th byte
  const positions = (len: number): number[] => Array.from({ length: len }, (_, i) => i).filter((i) => len < 1000 || i < 100 || i > len - 100 || i % 7 === 0);

  it.each(samples)('every truncation is refused: %s', (_name, s) => {
    const b = encodeState(s);
    for (const n of positions(b.length)) decodeError(b.subarray(0, n));
  });

  it.each(samples)('every single-bit flip is refused: %s', (_name, s) => {
    const b = encodeState(s);
    for (const i of positions(b.length)) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(b);
        bad[i] ^= bit;
        decodeError(bad);
      }
    }
  });

  it('trailing bytes, zero-filled and random files are refused', () => {
    const b = encodeState(samples[3][1]);
    decodeError(Buffer.concat([b, Buffer.alloc(1)]));
    decodeError(Buffer.alloc(b.length)); // the classic power-cut result: a zero-filled file
    decodeError(Buffer.alloc(4096));
    expect(decodeError(Buffer.from('{"not":"a state"}')).message).toMatch(/too short|magic/);
  });

  it('says what is wrong', () => {
    const b = encodeState(samples[3][1]);
    expect(decodeError(b.subarray(0, 10)).message).toMatch(/too short/);
    const magic = Buffer.from(b);
    magic.write('XXXX', 0, 'latin1');
    expect(decodeError(magic).message).toMatch(/bad magic/);
    const version = Buffer.from(b);
    version.writeUInt16BE(2, 4);
    expect(decodeError(version).message).toMatch(/version 2/);
    const flipped = Buffer.from(b);
    flipped[30] ^= 1;
    expect(decodeError(flipped).message).toMatch(/checksum/);
  });

  describe('well-checksummed but inconsistent records are refused', () => {
    const base = (): Buffer => encodeState(state(9 * 16384 - 5, 16384, [0, 3, 8], [[1, 100], [4, 16384]]));

    it('size >= 2^53', () => {
      const b = base();
      b.writeUInt32BE(0xffff_ffff, 8);
      expect(decodeError(reseal(b)).message).toMatch(/size/);
    });

    it('piece size 0, or a piece count that does not match', () => {
      const zero = base();
      zero.writeUInt32BE(0, 16);
      expect(decodeError(reseal(zero)).message).toMatch(/piece count/);
      const count = base();
      count.writeUInt32BE(10, 20);
      expect(decodeError(reseal(count)).message).toMatch(/piece count|bitfield/);
      const size = base();
      size.writeUInt32BE(9 * 16384 + 1, 12); // 10 pieces by size, 9 in the record
      expect(decodeError(reseal(size)).message).toMatch(/piece count/);
    });

    it('a bitfield of the wrong length or with spare bits set', () => {
      const len = base();
      len.writeUInt32BE(3, 56);
      expect(decodeError(reseal(len)).message).toMatch(/bitfield|partial/);
      const spare = base();
      spare[61] |= 0x01; // piece 15 of a 9-piece file
      expect(decodeError(reseal(spare)).message).toMatch(/past its size/);
    });

    it('a partial-piece list whose count does not match', () => {
      const b = base();
      const at = 60 + 2;
      b.writeUInt32BE(3, at);
      expect(decodeError(reseal(b)).message).toMatch(/partial-piece list/);
      b.writeUInt32BE(0xffff_ffff, at);
      expect(decodeError(reseal(b)).message).toMatch(/partial-piece list/);
    });

    it('a partial entry past the last piece, larger than its piece, or for a done piece', () => {
      const at = 60 + 2 + 4;
      const past = base();
      past.writeUInt32BE(9, at);
      expect(decodeError(reseal(past)).message).toMatch(/partial entry for piece 9/);
      const big = base();
      big.writeUInt32BE(16385, at + 4);
      expect(decodeError(reseal(big)).message).toMatch(/partial entry for piece 1/);
      const done = base();
      done.writeUInt32BE(3, at);
      expect(decodeError(reseal(done)).message).toMatch(/partial entry for piece 3/);
    });

    it('a partial entry larger than the short last piece', () => {
      const s = state(9 * 16384 - 5, 16384, [], [[8, 16384 - 5]]);
      expectSame(decodeState(encodeState(s)), s);
      const b = encodeState(s);
      b.writeUInt32BE(16384 - 4, 60 + 2 + 4 + 4);
      expect(decodeError(reseal(b)).message).toMatch(/partial entry for piece 8/);
    });
  });
});
