/** The stall watchdog: only busy connections quiet past the timeout are stalled. */
import { looksStalled, stalled } from './stall-watchdog';

describe('stalled', () => {
  it('names busy connections quiet for longer than the timeout, with how long', () => {
    const now = 100_000;
    const conns = [
      { id: 0, busy: true, lastActivityAt: now - 10_001 },
      { id: 1, busy: true, lastActivityAt: now - 10_000 }, // exactly at the timeout: not yet
      { id: 2, busy: false, lastActivityAt: now - 60_000 }, // idle, nothing asked: not stalled
      { id: 3, busy: true, lastActivityAt: now - 5 },
    ];
    expect(stalled(now, conns, 10_000)).toEqual([{ id: 0, quietMs: 10_001 }]);
  });

  it('shows a quiet busy connection as stalled after 2 s, before the watchdog acts', () => {
    expect(looksStalled(10_000, { id: 0, busy: true, lastActivityAt: 7_999 }, 10_000)).toBe(true);
    expect(looksStalled(10_000, { id: 0, busy: true, lastActivityAt: 8_500 }, 10_000)).toBe(false);
    expect(looksStalled(10_000, { id: 0, busy: false, lastActivityAt: 0 }, 10_000)).toBe(false);
    expect(looksStalled(10_000, { id: 0, busy: true, lastActivityAt: 9_000 }, 500)).toBe(true); // a shorter timeout wins
  });
});
