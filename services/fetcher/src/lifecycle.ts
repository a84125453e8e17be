/**
 * The download's lifecycle as one guarded state machine. Public states are the control API's;
 * two internal ones mark the way out: COMMITTING (every piece verified, the file being renamed
 * into place) and STOPPING (a failure or a cancel, the state being saved). Any transition not in
 * the table is a bug and throws.
 */
import { MsdError } from '@msd/common';
import type { DownloadState } from './model';

export type Phase = DownloadState | 'COMMITTING' | 'STOPPING';

const ALLOWED: Record<Phase, readonly Phase[]> = {
  CONNECTING: ['DOWNLOADING', 'COMMITTING', 'STOPPING'],
  DOWNLOADING: ['STALLED', 'PAUSED', 'COMMITTING', 'STOPPING'],
  STALLED: ['DOWNLOADING', 'PAUSED', 'COMMITTING', 'STOPPING'],
  PAUSED: ['DOWNLOADING', 'COMMITTING', 'STOPPING'],
  COMMITTING: ['DONE', 'STOPPING'],
  STOPPING: ['FAILED', 'CANCELLED'],
  DONE: [],
  FAILED: [],
  CANCELLED: [],
};

export class Lifecycle {
  private current: Phase = 'CONNECTING';
  private readonly listeners = new Set<() => void>();

  get phase(): Phase {
    return this.current;
  }

  /** What the control API, metrics and display show: the internal phases read as the work they finish. */
  get state(): DownloadState {
    if (this.current === 'COMMITTING') return 'DOWNLOADING';
    if (this.current === 'STOPPING') return 'DOWNLOADING';
    return this.current;
  }

  /** Work is still being handed out: not committing, stopping or ended. */
  get active(): boolean {
    return this.current === 'CONNECTING' || this.current === 'DOWNLOADING' || this.current === 'STALLED' || this.current === 'PAUSED';
  }

  can(next: Phase): boolean {
    return ALLOWED[this.current].includes(next);
  }

  to(next: Phase): void {
    if (next === this.current) return;
    if (!this.can(next)) throw new MsdError('E_INTERNAL', `download lifecycle: ${this.current} → ${next} is not allowed`);
    this.current = next;
    this.changed();
  }

  onChange(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  /** Tells listeners about progress too (not only transitions). */
  changed(): void {
    for (const f of this.listeners) f();
  }
}
