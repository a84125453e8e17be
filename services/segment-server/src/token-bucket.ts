/**
 * A token bucket for a byte rate: `delayFor(n)` says how long to wait before sending n bytes.
 * Pure (the caller passes the clock), so it is unit-tested without timers.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private rate: number, private readonly burstSeconds = 0.05, now = performance.now()) {
    this.tokens = this.burst;
    this.last = now;
  }
  get bytesPerSecond(): number {
    return this.rate;
  }
  private get burst(): number {
    return Math.max(64 * 1024, this.rate * this.burstSeconds);
  }
  setRate(rate: number, now = performance.now()): void {
    this.refill(now);
    this.rate = rate;
    this.tokens = Math.min(this.tokens, this.burst);
  }
  /** Takes n bytes' worth of tokens (may go negative) and returns the milliseconds to wait first. */
  take(n: number, now = performance.now()): number {
    if (this.rate <= 0) return 0;
    this.refill(now);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000;
  }
  private refill(now: number): void {
    if (this.rate > 0) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}
