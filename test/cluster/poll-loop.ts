/**
 * Runs `step` again `intervalMs` after each run ends (never two at once), until stop(); a step
 * that throws hands its error to `onError` and the loop goes on (controllers retry, they do not die).
 */
export class PollLoop {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly step: () => Promise<void>,
    private readonly onError: (err: Error) => void,
  ) {}

  start(): void {
    const tick = (): void => {
      this.current = this.step()
        .catch((err: Error) => this.onError(err))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  /** Resolves when the step that may be running has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }
}
