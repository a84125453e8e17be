/** The messages between the piece hasher and its worker threads (one job = one pass over pieces). */

export interface HashJob {
  id: number;
  path: string;
  /** when set, read this descriptor (the process's own: threads share it) instead of opening path */
  fd?: number;
  size: number;
  pieceSize: number;
  /** slot i hashes piece `first + i`, or `pieces[i]` when a list is given */
  first: number;
  count: number;
  /** Float64Array over a SharedArrayBuffer: the pieces, one per slot (piece numbers exceed 2^31) */
  pieces?: SharedArrayBuffer;
  /** contiguous slots a thread takes at a time */
  batch: number;
  /** Int32Array: [next batch, stop flag, pieces hashed] shared by the job's threads */
  control: SharedArrayBuffer;
  /** count * 32 bytes: the digest of slot i at i * 32 */
  digests: SharedArrayBuffer;
  /** checks: a piece the file ends inside is hashed as far as it goes (and fails); indexing: an error */
  shortIsBad: boolean;
}

export interface HashJobResult {
  hashed: number;
  stopped?: boolean;
  shrank?: { piece: number; at: number };
  error?: { message: string; code?: string; errno?: number; syscall?: string };
}
