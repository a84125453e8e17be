/**
 * Exponential backoff with jitter, as a value: it says how long to wait before the next try and
 * keeps no timer (the caller owns its timers, so a stop cancels everything it started). One
 * formula for every retry in the fetcher: reconnects and the first discovery of the servers.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** Spread around the base delay: 0.5 = anywhere in [0.5, 1.5) × base, so clients that failed together do not retry together. */
  jitter: number;
}

/** Reconnects during a download: 250 ms doubling to 10 s, ±50 %. */
export const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000, multiplier: 2, jitter: 0.5 };
/** Rounds of discovery while no server answers yet (they may be starting): 200 ms doubling to 1 s. */
export const DISCOVERY_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 1_000, multiplier: 2, jitter: 0 };

export class Backoff {
  private tries = 0;
  constructor(private readonly opts: BackoffOptions, private readonly random: () => number = Math.random) {
    if (!(opts.initialMs > 0 && opts.maxMs >= opts.initialMs && opts.multiplier >= 1 && opts.jitter >= 0 && opts.jitter < 1)) {
      throw new RangeError(`bad backoff options ${JSON.stringify(opts)}`);
    }
  }

  /** Tries counted since the last reset. */
  get attempts(): number {
    return this.tries;
  }

  /** The delay before the next try (grows with each call, up to maxMs before jitter). */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * this.opts.multiplier ** Math.min(this.tries, 60));
    this.tries++;
    const j = this.opts.jitter;
    return Math.round(base * (1 - j + 2 * j * this.random()));
  }

  /** A try succeeded: the next failure starts from the initial delay again. */
  reset(): void {
    this.tries = 0;
  }
}
