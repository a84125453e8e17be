/** Backoff: the delay sequence, its cap, its jitter bounds and reset. */
import { Backoff, DISCOVERY_BACKOFF, RECONNECT_BACKOFF } from './backoff';

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap (no jitter)', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => b.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(b.attempts).toBe(6);
  });

  it('spreads each delay within ±jitter of its base', () => {
    const lo = new Backoff(RECONNECT_BACKOFF, () => 0);
    const hi = new Backoff(RECONNECT_BACKOFF, () => 0.999999);
    expect(lo.next()).toBe(125); // 250 × 0.5
    expect(hi.next()).toBe(375); // 250 × 1.5
    for (let i = 0; i < 10; i++) { lo.next(); hi.next(); }
    expect(lo.next()).toBe(5000); // capped base 10 s × 0.5
    expect(hi.next()).toBe(15000);
  });

  it('starts again from the initial delay after reset', () => {
    const b = new Backoff(DISCOVERY_BACKOFF);
    b.next(); b.next(); b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(DISCOVERY_BACKOFF.initialMs);
  });

  it('never overflows on a long outage', () => {
    const b = new Backoff({ initialMs: 1, maxMs: 50, multiplier: 10, jitter: 0 });
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).toBe(50);
  });

  it.each([
    { initialMs: 0, maxMs: 1, multiplier: 2, jitter: 0 },
    { initialMs: 10, maxMs: 5, multiplier: 2, jitter: 0 },
    { initialMs: 10, maxMs: 50, multiplier: 0.5, jitter: 0 },
    { initialMs: 10, maxMs: 50, multiplier: 2, jitter: 1 },
  ])('refuses options that make no sense: %o', (o) => {
    expect(() => new Backoff(o)).toThrow(RangeError);
  });
});
