/**
 * Receive speeds: bytes counted as they arrive (O(1), on the data path), turned into smoothed
 * rates once per tick. Pure: the caller passes the elapsed time.
 */
export class RateMeter {
  private readonly window: Float64Array;
  private readonly speeds: Float64Array;
  private total = 0;

  constructor(readonly count: number, private readonly weight = 0.4, private readonly totalWeight = 0.3) {
    this.window = new Float64Array(count);
    this.speeds = new Float64Array(count);
  }

  add(i: number, bytes: number): void {
    this.window[i] += bytes;
  }

  /** Closes the window of `seconds`: each speed moves toward what the window measured. */
  tick(seconds: number): void {
    if (seconds <= 0) return;
    let sum = 0;
    for (let i = 0; i < this.count; i++) {
      const inst = this.window[i] / seconds;
      this.window[i] = 0;
      this.speeds[i] = this.speeds[i] === 0 ? inst : (1 - this.weight) * this.speeds[i] + this.weight * inst;
      sum += inst;
    }
    this.total = this.total === 0 ? sum : (1 - this.totalWeight) * this.total + this.totalWeight * sum;
  }

  speed(i: number): number {
    return this.speeds[i];
  }

  /** All connections together, bytes per second. */
  get rate(): number {
    return this.total;
  }
}
