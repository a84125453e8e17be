/** The byte-rate token bucket, with an explicit clock. */
import { TokenBucket } from './token-bucket';

const MB = 1_000_000;

describe('TokenBucket', () => {
  it('rate 0 is unlimited', () => {
    const b = new TokenBucket(0, 0.05, 0);
    expect(b.take(10 * MB, 0)).toBe(0);
    expect(b.take(10 * MB, 0)).toBe(0);
  });

  it('lets a burst through at once, then paces at the rate', () => {
    const b = new TokenBucket(10 * MB, 0.05, 0); // burst = 0.5 MB
    expect(b.take(500_000, 0)).toBe(0);
    expect(b.take(1 * MB, 0)).toBeCloseTo(100, 6); // 1 MB at 10 MB/s
    // having waited those 100 ms, the next MB waits another 100 ms
    expect(b.take(1 * MB, 100)).toBeCloseTo(100, 6);
  });

  it('sustains the rate over many chunks: total wait = (bytes - burst) / rate', () => {
    const rate = 4 * MB;
    const b = new TokenBucket(rate, 0.05, 0);
    const chunk = 512 * 1024;
    let now = 0;
    let sent = 0;
    for (let i = 0; i < 200; i++) {
      now += b.take(chunk, now); // the sender waits as told, then sends
      sent += chunk;
    }
    const burst = Math.max(64 * 1024, rate * 0.05);
    // the last chunk is sent at `now`; by then at most the burst was sent ahead of the rate
    expect(now).toBeCloseTo(((sent - chunk - burst) / rate) * 1000 + (chunk / rate) * 1000, 0);
    expect(sent / (now / 1000)).toBeLessThan(rate * 1.1);
  });

  it('does not bank unused time beyond the burst', () => {
    const b = new TokenBucket(1 * MB, 0.05, 0); // burst = max(64 KiB, 50 KB) = 64 KiB
    b.take(0, 0);
    // an hour idle still allows only one burst at full speed
    expect(b.take(64 * 1024, 3_600_000)).toBe(0);
    expect(b.take(1000, 3_600_000)).toBeCloseTo(1, 6);
  });

  it('has a floor burst of 64 KiB so small rates still send whole chunks', () => {
    const b = new TokenBucket(1000, 0.05, 0);
    expect(b.take(64 * 1024, 0)).toBe(0);
    expect(b.take(1000, 0)).toBeCloseTo(1000, 6);
  });

  it('changing the rate applies from now on, and to 0 lifts the limit', () => {
    const b = new TokenBucket(1 * MB, 0.05, 0);
    b.take(64 * 1024, 0);
    b.setRate(2 * MB, 0);
    expect(b.bytesPerSecond).toBe(2 * MB);
    expect(b.take(200_000, 0)).toBeCloseTo(100, 6);
    b.setRate(0, 0);
    expect(b.take(100 * MB, 0)).toBe(0);
  });
});
