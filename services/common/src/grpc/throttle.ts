/**
 * Runs `fn` at most once per `intervalMs`: a trigger inside the interval is
 * deferred to its end (one trailing run, however many triggers came in).
 */
export class Throttle {
  private lastRun = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly fn: () => void,
    private readonly intervalMs: number,
  ) {}

  trigger(): void {
    if (this.timer !== undefined) return;
    const wait = this.lastRun + this.intervalMs - Date.now();
    if (wait <= 0) this.run();
    else this.timer = setTimeout(() => this.run(), wait);
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    this.timer = undefined;
    this.lastRun = Date.now();
    this.fn();
  }
}
