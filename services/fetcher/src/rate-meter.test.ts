/** RateMeter: per-connection and total speeds from bytes counted per window. */
import { RateMeter } from './rate-meter';

describe('RateMeter', () => {
  it('takes the first window as it is, then moves toward each new window', () => {
    const m = new RateMeter(2);
    m.add(0, 1000);
    m.add(1, 500);
    m.tick(0.5);
    expect(m.speed(0)).toBe(2000);
    expect(m.speed(1)).toBe(1000);
    expect(m.rate).toBe(3000);
    m.tick(1); // nothing arrived
    expect(m.speed(0)).toBeCloseTo(2000 * 0.6);
    expect(m.rate).toBeCloseTo(3000 * 0.7);
  });

  it('ignores an empty interval', () => {
    const m = new RateMeter(1);
    m.add(0, 100);
    m.tick(0);
    expect(m.speed(0)).toBe(0);
    m.tick(1);
    expect(m.speed(0)).toBe(100);
  });
});
