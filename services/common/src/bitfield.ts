/** A fixed-size set of piece indexes, stored one bit per piece (MSB first, like BitTorrent). */
export class Bitfield {
  readonly bytes: Uint8Array;
  private setCount = 0;
  constructor(readonly size: number, bytes?: Uint8Array) {
    const n = Math.ceil(size / 8);
    this.bytes = new Uint8Array(n);
    if (bytes) {
      if (bytes.length !== n) throw new RangeError(`bitfield needs ${n} bytes, got ${bytes.length}`);
      this.bytes.set(bytes);
      // bits past `size` must be clear, else the encoding is not canonical
      const spare = n * 8 - size;
      if (spare > 0 && (this.bytes[n - 1] & ((1 << spare) - 1)) !== 0) throw new RangeError('bitfield has bits set past its size');
      for (let i = 0; i < size; i++) if (this.has(i)) this.setCount++;
    }
  }
  has(i: number): boolean {
    return (this.bytes[i >> 3] & (0x80 >> (i & 7))) !== 0;
  }
  set(i: number): void {
    if (i < 0 || i >= this.size) throw new RangeError(`bit ${i} out of range`);
    if (!this.has(i)) {
      this.bytes[i >> 3] |= 0x80 >> (i & 7);
      this.setCount++;
    }
  }
  clear(i: number): void {
    if (this.has(i)) {
      this.bytes[i >> 3] &= ~(0x80 >> (i & 7));
      this.setCount--;
    }
  }
  get count(): number {
    return this.setCount;
  }
  get complete(): boolean {
    return this.setCount === this.size;
  }
  clone(): Bitfield {
    return new Bitfield(this.size, this.bytes);
  }
}
