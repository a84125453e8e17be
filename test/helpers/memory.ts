/**
 * Memory of a running process, sampled from /proc/<pid>/status while it runs: the largest VmRSS
 * seen and the last VmHWM (the kernel's own peak, read as late as the process allowed).
 */
import * as fs from 'node:fs';

export interface MemorySample { maxRssKiB: number; lastHwmKiB: number; samples: number }

function readStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM', status: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : undefined;
}

/** Samples every `everyMs` until stop() (or until the process is gone). */
export function sampleMemory(pid: number, everyMs = 10): { stop: () => MemorySample } {
  const s: MemorySample = { maxRssKiB: 0, lastHwmKiB: 0, samples: 0 };
  const take = (): void => {
    let status: string;
    try {
      status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return; // exited
    }
    const rss = readStatusKiB(pid, 'VmRSS', status);
    const hwm = readStatusKiB(pid, 'VmHWM', status);
    if (rss === undefined) return; // a zombie has no memory lines
    s.samples++;
    s.maxRssKiB = Math.max(s.maxRssKiB, rss);
    if (hwm !== undefined) s.lastHwmKiB = Math.max(s.lastHwmKiB, hwm);
  };
  take();
  const t = setInterval(take, everyMs);
  return { stop: () => { clearInterval(t); take(); return s; } };
}
