/** The verifier's receive rings: their size by connection count, within the memory budget. */
import { RING_BUDGET, RING_MAX, RING_MIN, ringSizeFor } from './verifier';

describe('ringSizeFor', () => {
  test('few connections get the largest ring', () => {
    for (const n of [1, 2, 4, 8]) expect(ringSizeFor(n)).toBe(RING_MAX);
  });

  test('all rings together stay within the budget up to 128 connections', () => {
    for (let n = 1; n <= 128; n++) {
      const size = ringSizeFor(n);
      expect(size * n).toBeLessThanOrEqual(RING_BUDGET);
      expect(size & (size - 1)).toBe(0); // a power of two: byte counters wrap at 2^32
    }
    expect(ringSizeFor(64)).toBe(512 << 10);
  });

  test('never below the minimum, however many connections', () => {
    expect(ringSizeFor(1000)).toBe(RING_MIN);
    expect(ringSizeFor(129)).toBe(RING_MIN);
  });
});
