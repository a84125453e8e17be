/**
 * How a whole piece is checked, and whether a bad result may be blamed on the server that sent it.
 * Pure decisions; the hashing itself is the Verifier's.
 */
export type CheckMethod =
  /** --no-verify */
  | 'none'
  /** the bytes were hashed as they arrived, from the buffer that was written: finish that hash */
  | 'stream'
  /** read the piece back from the part file (resumed, or written by more than one request) */
  | 'read-back';

export interface CheckInput {
  verify: boolean;
  /** The request that completed the piece, if one did (absent: a piece whole on disk at resume). */
  job?: { streaming: boolean; gen: number; start: number; written: number };
  /** That request alone wrote the piece's bytes in this run. */
  soleWriter: boolean;
  generation: number;
  length: number;
}

export function checkMethod(i: CheckInput): CheckMethod {
  if (!i.verify) return 'none';
  const j = i.job;
  // the stream hash covers [0, start) read back from disk plus what this request wrote: valid when
  // nothing else wrote into the piece and the request delivered the whole rest of it
  if (j && j.streaming && i.soleWriter && j.gen === i.generation && j.written === i.length - j.start) return 'stream';
  return 'read-back';
}

/** One server to blame only when one request of it wrote the whole piece in this run. */
export function blameable(i: Pick<CheckInput, 'job' | 'soleWriter'>): boolean {
  return i.job !== undefined && i.soleWriter && i.job.start === 0;
}
