/**
 * Deciding what of an earlier attempt can be used: matching state resumes; state for other
 * content, damaged state, or a part file without state is reported in one line and handled as
 * the policy says (re-verify the part file piece by piece, start over, or stop). Never silent.
 */
import * as fs from 'node:fs';
import { Bitfield, checkPieces, FileInfo, formatBytes, Logger, MsdError, PieceGrid, sameContent } from '@msd/common';
import { PartFile } from './part-file';
import type { ResumeState } from './resume-state';
import { FILE_STATE, StateStore } from './state-store';

export type ResumePolicy = 'reverify' | 'restart' | 'fail';

export interface ResumeInput {
  outPath: string;
  info: FileInfo;
  grid: PieceGrid;
  resume: boolean;
  policy: ResumePolicy;
  log: Logger;
  /** A stop during a re-verification of a large part file ends it at once. */
  signal?: AbortSignal;
}

export interface ResumePlan {
  part: PartFile;
  store: StateStore<ResumeState>;
  done: Bitfield;
  partial: Map<number, number>;
  /**
   * The done pieces were hashed on disk in this run (a re-verification). When false they are the
   * earlier run's word, and the download checks them again before the rename.
   */
  checked: boolean;
}

export async function planResume(i: ResumeInput): Promise<ResumePlan> {
  const partPath = `${i.outPath}.part`;
  const store = new StateStore(partPath, FILE_STATE);
  const partExists = fs.existsSync(partPath);
  const partSize = partExists ? fs.statSync(partPath).size : 0;
  const fresh = async (): Promise<ResumePlan> => {
    await store.remove();
    return { part: PartFile.open(i.outPath, i.info.size, true), store, done: new Bitfield(i.grid.count), partial: new Map(), checked: true };
  };
  if (!i.resume) {
    if (partExists) i.log.info('starting over (--no-resume): the earlier partial download is discarded', { part: partPath });
    return fresh();
  }
  const loaded = store.load();
  let problem: string | undefined;
  if (loaded.kind === 'ok') {
    const s = loaded.state;
    if (sameContent(s, i.info)) {
      if (!partExists) {
        i.log.warn('resume state found but the part file is gone; starting over', { state: store.path });
        return fresh();
      }
      const part = PartFile.open(i.outPath, i.info.size, false);
      i.log.info(`resuming: ${s.done.count} of ${i.grid.count} pieces already verified (${formatBytes(doneBytes(i.grid, s.done))})`, { part: partPath });
      return { part, store, done: s.done, partial: s.partial, checked: false };
    }
    problem = `resume state ${store.path} is for other content (${s.size} bytes, piece ${s.pieceSize}, content ${s.contentId.toString('hex').slice(0, 16)}) than the servers offer (${i.info.size} bytes, piece ${i.info.pieceSize}, content ${i.info.contentId.toString('hex').slice(0, 16)})`;
  } else if (loaded.kind === 'damaged') {
    problem = `resume state ${store.path} is damaged (${loaded.reason})`;
  } else if (partExists && partSize > 0) {
    problem = `part file ${partPath} has no resume state`;
  }
  if (!problem) return fresh();
  if (i.policy === 'fail') {
    throw new MsdError('E_BAD_STATE', `${problem}; nothing was changed. Rerun with --on-bad-state reverify (keep the pieces that check out) or --on-bad-state restart (start over)`);
  }
  if (i.policy === 'restart' || !partExists) {
    i.log.warn(`${problem}; starting over (--on-bad-state ${i.policy})`);
    return fresh();
  }
  i.log.warn(`${problem}; re-verifying the part file piece by piece (--on-bad-state reverify)`);
  const part = PartFile.open(i.outPath, i.info.size, false);
  const done = new Bitfield(i.grid.count);
  let within = 0; // pieces the old file reached
  while (within < i.grid.count && i.grid.end(within) <= partSize) within++;
  let bad: number[];
  try {
    ({ bad } = await checkPieces(part.path, i.grid, i.info.digests, { first: 0, end: within }, { signal: i.signal }));
  } catch (err) {
    part.close();
    throw err;
  }
  const failed = new Set(bad);
  for (let p = 0; p < within; p++) if (!failed.has(p)) done.set(p);
  i.log.info(`re-verified the part file: ${done.count} of ${i.grid.count} pieces are good and kept`, { part: partPath });
  return { part, store, done, partial: new Map(), checked: true };
}

function doneBytes(grid: PieceGrid, done: Bitfield): number {
  let n = 0;
  for (let p = 0; p < grid.count; p++) if (done.has(p)) n += grid.length(p);
  return n;
}
