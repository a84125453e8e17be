/** Bitfield: MSB-first canonical encoding, counts, bounds. */
import { Bitfield } from './bitfield';

describe('Bitfield', () => {
  it('is MSB first, like BitTorrent', () => {
    const b = new Bitfield(10);
    b.set(0);
    b.set(7);
    b.set(9);
    expect(Buffer.from(b.bytes).toString('hex')).toBe('8140');
  });

  it.each([0, 1, 7, 8, 9, 15, 16, 17, 1000])('has ceil(%d / 8) bytes and round-trips every pattern', (size) => {
    const b = new Bitfield(size);
    expect(b.bytes.length).toBe(Math.ceil(size / 8));
    for (let i = 0; i < size; i += 3) b.set(i);
    const copy = new Bitfield(size, b.bytes);
    for (let i = 0; i < size; i++) expect(copy.has(i)).toBe(i % 3 === 0);
    expect(copy.count).toBe(Math.ceil(size / 3));
  });

  it('counts set bits once, and clear undoes set', () => {
    const b = new Bitfield(20);
    expect(b.count).toBe(0);
    b.set(3);
    b.set(3);
    expect(b.count).toBe(1);
    b.clear(3);
    b.clear(3);
    expect(b.count).toBe(0);
    expect(b.has(3)).toBe(false);
  });

  it('is complete exactly when every bit is set; empty is complete', () => {
    expect(new Bitfield(0).complete).toBe(true);
    const b = new Bitfield(9);
    for (let i = 0; i < 9; i++) {
      expect(b.complete).toBe(false);
      b.set(i);
    }
    expect(b.complete).toBe(true);
    expect(Buffer.from(b.bytes).toString('hex')).toBe('ff80');
  });

  it('refuses bits out of range', () => {
    const b = new Bitfield(9);
    expect(() => b.set(9)).toThrow(RangeError);
    expect(() => b.set(-1)).toThrow(RangeError);
    expect(b.has(9)).toBe(false);
    expect(b.has(100)).toBe(false);
    b.clear(100); // harmless
    expect(b.count).toBe(0);
  });

  it('refuses non-canonical encodings: wrong length, or spare bits set', () => {
    expect(() => new Bitfield(9, new Uint8Array(1))).toThrow(/needs 2 bytes/);
    expect(() => new Bitfield(9, new Uint8Array(3))).toThrow(/needs 2 bytes/);
    for (let bit = 0; bit < 7; bit++) expect(() => new Bitfield(9, Uint8Array.from([0, 1 << bit]))).toThrow(/past its size/);
    expect(new Bitfield(9, Uint8Array.from([0, 0x80])).has(8)).toBe(true);
    expect(new Bitfield(8, Uint8Array.from([0xff])).complete).toBe(true);
  });

  it('copies: neither the source bytes nor a clone alias the original', () => {
    const src = Uint8Array.from([0xf0]);
    const b = new Bitfield(8, src);
    src[0] = 0;
    expect(b.count).toBe(4);
    const c = b.clone();
    c.set(7);
    expect(b.has(7)).toBe(false);
    expect(c.count).toBe(5);
  });
});
