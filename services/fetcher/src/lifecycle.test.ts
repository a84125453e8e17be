/** The download lifecycle: every allowed transition works, every other one throws. */
import { Lifecycle, type Phase } from './lifecycle';

const PHASES: Phase[] = ['CONNECTING', 'DOWNLOADING', 'STALLED', 'PAUSED', 'COMMITTING', 'STOPPING', 'DONE', 'FAILED', 'CANCELLED'];
const ALLOWED: Array<[Phase, Phase]> = [
  ['CONNECTING', 'DOWNLOADING'], ['CONNECTING', 'COMMITTING'], ['CONNECTING', 'STOPPING'],
  ['DOWNLOADING', 'STALLED'], ['DOWNLOADING', 'PAUSED'], ['DOWNLOADING', 'COMMITTING'], ['DOWNLOADING', 'STOPPING'],
  ['STALLED', 'DOWNLOADING'], ['STALLED', 'PAUSED'], ['STALLED', 'COMMITTING'], ['STALLED', 'STOPPING'],
  ['PAUSED', 'DOWNLOADING'], ['PAUSED', 'COMMITTING'], ['PAUSED', 'STOPPING'],
  ['COMMITTING', 'DONE'], ['COMMITTING', 'STOPPING'],
  ['STOPPING', 'FAILED'], ['STOPPING', 'CANCELLED'],
];
/** The shortest way from CONNECTING to each phase, through allowed transitions. */
const PATH: Record<Phase, Phase[]> = {
  CONNECTING: [], DOWNLOADING: ['DOWNLOADING'], STALLED: ['DOWNLOADING', 'STALLED'], PAUSED: ['DOWNLOADING', 'PAUSED'],
  COMMITTING: ['COMMITTING'], STOPPING: ['STOPPING'], DONE: ['COMMITTING', 'DONE'], FAILED: ['STOPPING', 'FAILED'], CANCELLED: ['STOPPING', 'CANCELLED'],
};

function at(p: Phase): Lifecycle {
  const l = new Lifecycle();
  for (const step of PATH[p]) l.to(step);
  expect(l.phase).toBe(p);
  return l;
}

describe('Lifecycle', () => {
  const pairs = PHASES.flatMap((from) => PHASES.filter((to) => to !== from).map((to) => [from, to] as [Phase, Phase]));
  it.each(pairs)('%s → %s is allowed exactly when the table says so', (from, to) => {
    const l = at(from);
    const allowed = ALLOWED.some(([a, b]) => a === from && b === to);
    expect(l.can(to)).toBe(allowed);
    if (allowed) {
      l.to(to);
      expect(l.phase).toBe(to);
    } else {
      expect(() => l.to(to)).toThrow(/is not allowed/);
      expect(l.phase).toBe(from);
    }
  });

  it('shows the internal phases as the public state they finish', () => {
    expect(at('COMMITTING').state).toBe('DOWNLOADING');
    expect(at('STOPPING').state).toBe('DOWNLOADING');
    expect(at('DONE').state).toBe('DONE');
  });

  it('is active only while work is handed out', () => {
    expect(PHASES.filter((p) => at(p).active)).toEqual(['CONNECTING', 'DOWNLOADING', 'STALLED', 'PAUSED']);
  });

  it('tells listeners about every transition, and a transition to the same phase is no change', () => {
    const l = new Lifecycle();
    const seen: Phase[] = [];
    const off = l.onChange(() => seen.push(l.phase));
    l.to('DOWNLOADING');
    l.to('DOWNLOADING');
    l.to('PAUSED');
    off();
    l.to('DOWNLOADING');
    expect(seen).toEqual(['DOWNLOADING', 'PAUSED']);
  });
});
