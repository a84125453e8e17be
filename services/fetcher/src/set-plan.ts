/**
 * What of a directory download is already done, before a byte is fetched: files complete under
 * their names (checked locally against the servers' digests, on every core), files to resume from
 * their part file and the set's state (matched by name, size and content identity, so a changed
 * listing keeps every unchanged file's progress), and what changed since the last run, said in
 * one line. Files no longer listed are never deleted. Part files the state does not vouch for are
 * handled as --on-bad-state says, never silently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Bitfield, formatBytes, Logger, MsdError, PieceGrid, PieceHasher } from '@msd/common';
import type { ResumePolicy } from './resume-plan';
import { SetLayout } from './set-layout';
import { PART_SUFFIX, SET_FILE_BASE } from './set-names';
import { checkSetPaths } from './set-paths';
import { decodeSetState, encodeSetState, type SetState, type SetStateEntry, type SetStateSource } from './set-state';
import { SetStore } from './set-store';
import { StateStore } from './state-store';

export interface SetPlanInput {
  dir: string;
  layout: SetLayout;
  resume: boolean;
  policy: ResumePolicy;
  force: boolean;
  fsync: boolean;
  log: Logger;
  signal?: AbortSignal;
}

export interface SetPlan {
  store: SetStore;
  done: Bitfield;
  partial: Map<number, number>;
  /** Pieces counted as done on the earlier run's word: checked again before their file is renamed. */
  unchecked: number[];
  /** Files found complete in place. */
  placed: boolean[];
}

const SET_STATE = { encode: encodeSetState, decode: decodeSetState };
/** Names a log line lists before it says "and N more". */
const NAMES_SHOWN = 5;

export function setStateStore(dir: string): StateStore<SetStateSource, SetState> {
  return new StateStore(path.join(dir, SET_FILE_BASE), SET_STATE);
}

export async function planSet(i: SetPlanInput): Promise<SetPlan> {
  const { layout, dir } = i;
  const files = layout.files;
  const presence = checkSetPaths(dir, files.map((f) => f.name));
  const placed = await findComplete(i, presence);
  const done = new Bitfield(layout.count);
  const partial = new Map<number, number>();
  const unchecked: number[] = [];
  const fresh = files.map(() => true);
  for (let f = 0; f < files.length; f++) {
    if (!placed[f]) continue;
    const { first, end } = layout.piecesOf(f);
    for (let p = first; p < end; p++) done.set(p);
    fresh[f] = false;
  }
  const state = setStateStore(dir);
  const partOf = (f: number): string => path.join(dir, files[f].name + PART_SUFFIX);
  const hasPart = (f: number): boolean => {
    try { return fs.statSync(partOf(f)).size > 0; } catch { return false; }
  };
  /** Part files with bytes that no state entry vouches for. */
  const orphans: number[] = [];

  if (!i.resume) {
    if (files.some((_, f) => !placed[f] && hasPart(f))) i.log.info('starting over (--no-resume): the earlier partial downloads are discarded', { dir });
    await state.remove();
  } else {
    const loaded = state.load();
    if (loaded.kind === 'ok' && loaded.state.pieceSize === layout.pieceSize) {
      const byName = new Map<string, SetStateEntry>(loaded.state.entries.map((e) => [e.name, e]));
      const listed = new Set(files.map((f) => f.name));
      const added: string[] = [];
      const changed: string[] = [];
      let resumedFiles = 0;
      files.forEach((file, f) => {
        const e = byName.get(file.name);
        if (!e) added.push(file.name);
        else if (e.size !== file.size || !e.contentId.equals(file.contentId)) changed.push(file.name);
        if (placed[f]) return;
        if (!e) { if (hasPart(f)) orphans.push(f); return; }
        if (changed.at(-1) === file.name) return; // other content: its part file starts over
        if (!fs.existsSync(partOf(f))) {
          if (e.done.count > 0 || e.partial.size > 0) i.log.warn(`the resume state has progress for ${file.name} but its part file is gone; fetching it from the start`, { file: file.name });
          return;
        }
        const { first } = layout.piecesOf(f);
        for (let k = 0; k < e.done.size; k++) {
          if (!e.done.has(k)) continue;
          done.set(first + k);
          unchecked.push(first + k);
        }
        for (const [k, n] of e.partial) partial.set(first + k, n);
        fresh[f] = false;
        resumedFiles++;
      });
      const removed = loaded.state.entries.filter((e) => !listed.has(e.name)).map((e) => e.name);
      if (added.length + changed.length + removed.length > 0) {
        const kept = removed.filter((n) => fs.existsSync(path.join(dir, n + PART_SUFFIX)));
        i.log.warn(`listing changed since the last run: ${counted(added, 'added')}, ${counted(removed, 'removed')}, ${counted(changed, 'changed')}. Added files are fetched, changed ones start over; files no longer listed are left as they are${kept.length ? ` (their part files stay: ${names(kept)}; delete them to free the space)` : ''}`, { added: added.length, removed: removed.length, changed: changed.length });
      }
      if (unchecked.length > 0 || partial.size > 0) {
        let bytes = 0;
        for (const p of unchecked) bytes += layout.length(p);
        i.log.info(`resuming: ${unchecked.length} of ${layout.count} pieces already verified (${formatBytes(bytes)}) in ${resumedFiles} files`, { dir });
      }
    } else {
      const problem = loaded.kind === 'damaged' ? `resume state ${state.path} is damaged (${loaded.reason})`
        : loaded.kind === 'ok' ? `resume state ${state.path} is for piece size ${loaded.state.pieceSize}, the servers now use ${layout.pieceSize}` : undefined;
      for (let f = 0; f < files.length; f++) if (!placed[f] && hasPart(f)) orphans.push(f);
      if (problem && orphans.length === 0) i.log.warn(`${problem}; no part file to keep, starting over`);
      if (problem && orphans.length > 0) i.log.warn(problem);
    }
  }

  if (orphans.length > 0) {
    const what = `${counted(orphans.map((f) => files[f].name), 'part files')} have no resume state that vouches for them`;
    if (i.policy === 'fail') throw new MsdError('E_BAD_STATE', `${what}; nothing was changed. Rerun with --on-bad-state reverify (keep the pieces that check out) or --on-bad-state restart (start those files over)`);
    if (i.policy === 'restart') {
      i.log.warn(`${what}; starting them over (--on-bad-state restart)`);
    } else {
      i.log.warn(`${what}; re-verifying them piece by piece (--on-bad-state reverify)`);
      const kept = await reverify(i, orphans, partOf);
      for (const p of kept) done.set(p);
      for (const f of orphans) fresh[f] = false;
    }
  }
  const store = new SetStore({ dir, layout, state, placed, fresh, fsync: i.fsync });
  return { store, done, partial, unchecked, placed };
}

/** Files whose final name holds exactly the servers' content (not with --force). */
async function findComplete(i: SetPlanInput, presence: readonly ('none' | 'file')[]): Promise<boolean[]> {
  const { layout, dir } = i;
  const placed = layout.files.map(() => false);
  if (i.force) {
    if (presence.includes('file')) i.log.info('--force: downloading every file again; the files in place stay until their new download is verified');
    return placed;
  }
  const differs: string[] = [];
  const hasher = new PieceHasher();
  try {
    for (let f = 0; f < layout.files.length; f++) {
      if (presence[f] !== 'file') continue;
      const file = layout.files[f];
      const final = path.join(dir, file.name);
      if (fs.statSync(final).size !== file.size) { differs.push(file.name); continue; }
      const { bad } = await hasher.check(final, new PieceGrid(file.size, layout.pieceSize), file.digests, undefined, { signal: i.signal });
      if (bad.length === 0) placed[f] = true;
      else differs.push(file.name);
    }
  } finally {
    await hasher.close();
  }
  if (differs.length > 0) i.log.warn(`${counted(differs, 'files')} in ${dir} differ from what the servers serve; each stays in place until its new, verified download replaces it`, { differs: differs.length });
  return placed;
}

/** The pieces of the orphan part files that match their digests (set indices). */
async function reverify(i: SetPlanInput, orphans: number[], partOf: (f: number) => string): Promise<number[]> {
  const { layout } = i;
  const kept: number[] = [];
  const hasher = new PieceHasher();
  try {
    for (const f of orphans) {
      const file = layout.files[f];
      const grid = new PieceGrid(file.size, layout.pieceSize);
      const size = fs.statSync(partOf(f)).size;
      let within = 0;
      while (within < grid.count && grid.end(within) <= size) within++;
      const { bad } = await hasher.check(partOf(f), grid, file.digests, { first: 0, end: within }, { signal: i.signal });
      const failed = new Set(bad);
      const { first } = layout.piecesOf(f);
      for (let k = 0; k < within; k++) if (!failed.has(k)) kept.push(first + k);
    }
  } finally {
    await hasher.close();
  }
  i.log.info(`re-verified ${orphans.length} part files: ${kept.length} pieces are good and kept`);
  return kept;
}

/** "2 removed (a, b)", "0 added". */
function counted(list: readonly string[], word: string): string {
  return list.length === 0 ? `0 ${word}` : `${list.length} ${word} (${names(list)})`;
}

function names(list: readonly string[]): string {
  return list.slice(0, NAMES_SHOWN).join(', ') + (list.length > NAMES_SHOWN ? `, and ${list.length - NAMES_SHOWN} more` : '');
}
