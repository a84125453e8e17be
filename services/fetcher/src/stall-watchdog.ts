/**
 * Which connections are stalled: they have work in flight and nothing arrived (nor was asked)
 * for longer than the timeout. Pure: the caller passes the clock and acts on the answer.
 */
export interface Activity {
  id: number;
  busy: boolean;
  /** ms timestamp of the last byte received or request sent, whichever is later */
  lastActivityAt: number;
}

export function stalled(now: number, conns: Iterable<Activity>, timeoutMs: number): Array<{ id: number; quietMs: number }> {
  const out: Array<{ id: number; quietMs: number }> = [];
  for (const c of conns) {
    const quietMs = now - c.lastActivityAt;
    if (c.busy && quietMs > timeoutMs) out.push({ id: c.id, quietMs });
  }
  return out;
}

/**
 * A connection that is quiet for this long while it has work counts as stalled in the progress
 * view, before the watchdog acts (the stall timeout): 2 s, or the timeout when that is shorter.
 */
export function looksStalled(now: number, c: Activity, timeoutMs: number): boolean {
  return c.busy && now - c.lastActivityAt > Math.min(2000, timeoutMs);
}
