import { relaunchPlan, TUNED_MARKER, type ProcessSettings } from './runtime-tuning';

const base = (over: Partial<ProcessSettings> = {}): ProcessSettings => ({
  execPath: '/usr/bin/node',
  execArgv: [],
  argv: ['/usr/bin/node', '/app/bin/fetcher.js', '-a', 'host', '-p', '4450', '-o', 'out'],
  env: { PATH: '/usr/bin', HOME: '/home/u' },
  ...over,
});

describe('relaunchPlan', () => {
  test('a plain start is relaunched with every flag and variable, the same script and arguments', () => {
    const plan = relaunchPlan(base());
    expect(plan).toEqual({
      file: '/usr/bin/node',
      args: ['/usr/bin/node', '--max-semi-space-size=1', '/app/bin/fetcher.js', '-a', 'host', '-p', '4450', '-o', 'out'],
      env: { PATH: '/usr/bin', HOME: '/home/u', MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', [TUNED_MARKER]: '1' },
    });
  });

  test('node options given on the command line are kept, before the added ones', () => {
    const plan = relaunchPlan(base({ execArgv: ['--enable-source-maps', '-r', '/x/preload.js'] }));
    expect(plan!.args).toEqual(['/usr/bin/node', '--enable-source-maps', '-r', '/x/preload.js', '--max-semi-space-size=1', '/app/bin/fetcher.js', '-a', 'host', '-p', '4450', '-o', 'out']);
  });

  test("the user's own semi-space size wins, from the command line or NODE_OPTIONS, in either spelling", () => {
    for (const over of [
      { execArgv: ['--max-semi-space-size=8'] },
      { execArgv: ['--max_semi_space_size=8'] },
      { env: { NODE_OPTIONS: '--enable-source-maps  --max-semi-space-size=8' } },
    ]) {
      const plan = relaunchPlan(base(over));
      expect(plan).toBeDefined();
      expect(plan!.args.filter((a) => a.includes('semi'))).toEqual(over.execArgv ?? []);
    }
  });

  test("the user's own malloc settings win", () => {
    const plan = relaunchPlan(base({ env: { MALLOC_ARENA_MAX: '8' } }));
    expect(plan!.env.MALLOC_ARENA_MAX).toBe('8');
    expect(plan!.env.MALLOC_MMAP_THRESHOLD_).toBe('131072');
  });

  test('nothing to do when everything is set already', () => {
    expect(relaunchPlan(base({ execArgv: ['--max-semi-space-size=1'], env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536' } }))).toBeUndefined();
  });

  test('never twice: a relaunched process carries the marker', () => {
    const plan = relaunchPlan(base())!;
    expect(relaunchPlan(base({ execArgv: [], env: plan.env }))).toBeUndefined();
  });

  test('MSD_RUNTIME_TUNING=off (or 0, false) turns it off', () => {
    for (const v of ['off', 'OFF', '0', 'false']) expect(relaunchPlan(base({ env: { MSD_RUNTIME_TUNING: v } }))).toBeUndefined();
    expect(relaunchPlan(base({ env: { MSD_RUNTIME_TUNING: 'on' } }))).toBeDefined();
  });

  test('undefined variables are not passed on as the string "undefined"', () => {
    const plan = relaunchPlan(base({ env: { A: undefined, B: 'b' } }))!;
    expect(Object.keys(plan.env)).not.toContain('A');
    expect(plan.env.B).toBe('b');
  });
});
