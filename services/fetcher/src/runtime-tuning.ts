/**
 * The runtime settings a long download needs for flat memory, which only take effect when the
 * process starts: V8's young generation capped at 1 MiB per semi-space (it otherwise grows to
 * 16 MiB during a long steady run), and glibc's malloc kept from growing per-thread arenas and
 * from moving its mmap threshold up (which leaves freed large blocks inside the heap).
 * Measured in docs/decisions.md, "Memory".
 *
 * The launcher (bin/fetcher.js) asks `relaunchPlan` what is missing and, when something is,
 * replaces the process with a tuned one (`process.execve`: same PID, same stdio). Whatever the user
 * set (NODE_OPTIONS, the node command line, the environment) wins; MSD_RUNTIME_TUNING=off turns it
 * off. No I/O here: the plan is a pure function of the process's settings.
 */

export interface RuntimeTuning {
  /** node options, each `--name=value`; skipped when the user gave the same option */
  nodeFlags: string[];
  /** environment variables; skipped when already set */
  env: Record<string, string>;
}

export const FETCHER_TUNING: RuntimeTuning = {
  nodeFlags: ['--max-semi-space-size=1'],
  env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' },
};

/** Set in the relaunched process, so that it never relaunches again. */
export const TUNED_MARKER = 'MSD_RUNTIME_TUNED';

export interface ProcessSettings {
  execPath: string;
  execArgv: string[];
  /** process.argv: [node, script, ...args] */
  argv: string[];
  env: Record<string, string | undefined>;
}

export interface RelaunchPlan {
  file: string;
  args: string[];
  env: Record<string, string>;
}

function optionName(flag: string): string {
  return flag.split('=')[0].replace(/_/g, '-');
}

/** The exec that gives this process the tuning, or undefined when it has it (or must not get it). */
export function relaunchPlan(p: ProcessSettings, tuning: RuntimeTuning = FETCHER_TUNING): RelaunchPlan | undefined {
  if (p.env[TUNED_MARKER] !== undefined) return undefined;
  const off = (p.env.MSD_RUNTIME_TUNING ?? '').toLowerCase();
  if (off === 'off' || off === '0' || off === 'false') return undefined;
  const given = new Set([...p.execArgv, ...(p.env.NODE_OPTIONS ?? '').split(/\s+/)].filter((a) => a.startsWith('--')).map(optionName));
  const flags = tuning.nodeFlags.filter((f) => !given.has(optionName(f)));
  const envAdd = Object.entries(tuning.env).filter(([k]) => p.env[k] === undefined);
  if (flags.length === 0 && envAdd.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of envAdd) env[k] = v;
  env[TUNED_MARKER] = '1';
  return { file: p.execPath, args: [p.execPath, ...p.execArgv, ...flags, ...p.argv.slice(1)], env };
}

type Execve = (file: string, args: string[], env: Record<string, string>) => never;

/**
 * Replaces this process with a tuned one when the plan says so and the runtime can (Node ≥ 22.15
 * on POSIX has process.execve). Returns only when it does not relaunch: then the process runs
 * as it is, which is correct, with a flatter memory profile lost.
 */
export function relaunchTuned(tuning: RuntimeTuning = FETCHER_TUNING): void {
  const execve = (process as unknown as { execve?: Execve }).execve;
  if (typeof execve !== 'function') return;
  const plan = relaunchPlan({ execPath: process.execPath, execArgv: process.execArgv, argv: process.argv, env: process.env }, tuning);
  if (!plan) return;
  try {
    execve.call(process, plan.file, plan.args, plan.env);
  } catch {
    // e.g. the node binary cannot be executed again (a sandbox): run untuned
  }
}
