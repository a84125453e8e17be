import { randomBytes } from 'node:crypto';
import { Bitfield } from '@msd/common';
import { StateDecodeError } from './resume-state';
import { decodeSetState, encodeSetState as encodeSource, SetState, sourceOf } from './set-state';

const encodeSetState = (s: SetState): Buffer => encodeSource(sourceOf(s));

function sample(): SetState {
  const done = new Bitfield(3);
  done.set(0);
  done.set(2);
  return {
    pieceSize: 100,
    entries: [
      { name: 'a/b.bin', size: 250, contentId: randomBytes(32), done, partial: new Map([[1, 40]]) },
      { name: 'empty', size: 0, contentId: randomBytes(32), done: new Bitfield(0), partial: new Map() },
      { name: 'ünï', size: 100, contentId: randomBytes(32), done: new Bitfield(1), partial: new Map() },
    ],
  };
}

describe('set resume state codec', () => {
  test('round-trips every field', () => {
    const s = sample();
    const d = decodeSetState(encodeSetState(s));
    expect(d.pieceSize).toBe(100);
    expect(d.entries.map((e) => [e.name, e.size, e.contentId.toString('hex'), [...Array(e.done.size).keys()].filter((i) => e.done.has(i)), [...e.partial]]))
      .toEqual(s.entries.map((e) => [e.name, e.size, e.contentId.toString('hex'), [...Array(e.done.size).keys()].filter((i) => e.done.has(i)), [...e.partial]]));
  });

  test('the layout is as documented: magic, version, piece size, count, then the first entry', () => {
    const b = encodeSetState(sample());
    expect(b.subarray(0, 4).toString('latin1')).toBe('MSDT');
    expect(b.readUInt16BE(4)).toBe(1);
    expect(b.readUInt32BE(8)).toBe(100);
    expect(b.readUInt32BE(12)).toBe(3);
    expect(b.readUInt16BE(16)).toBe(7);
    expect(b.toString('utf8', 18, 25)).toBe('a/b.bin');
  });

  test('any flipped byte, a cut, or trailing bytes are refused, never half applied', () => {
    const b = encodeSetState(sample());
    for (const at of [0, 5, 9, 13, 17, 30, b.length - 40, b.length - 1]) {
      const c = Buffer.from(b);
      c[at] ^= 0x40;
      expect(() => decodeSetState(c)).toThrow(StateDecodeError);
    }
    expect(() => decodeSetState(b.subarray(0, b.length - 10))).toThrow(StateDecodeError);
    expect(() => decodeSetState(Buffer.alloc(10))).toThrow(/too short/);
  });

  test('a partial entry past its file, or for a done piece, is refused even with a good checksum', () => {
    const s = sample();
    s.entries[0].partial = new Map([[2, 10]]); // piece 2 is done
    expect(() => decodeSetState(encodeSetState(s))).toThrow(/bad partial entry/);
    const t = sample();
    t.entries[0].partial = new Map([[1, 101]]);
    expect(() => decodeSetState(encodeSetState(t))).toThrow(/bad partial entry/);
  });
});
