/**
 * What is already under the output's final name: nothing, the complete file (checked locally,
 * every piece against the servers' digests, on every core), or a file that differs. A rerun on a
 * complete output then finishes without a byte received; one that differs is left in place until
 * a new, verified download replaces it atomically (rename over it).
 */
import * as fs from 'node:fs';
import { checkPieces, FileInfo, fileError, MsdError, PieceGrid } from '@msd/common';

export type ExistingOutput =
  | { kind: 'none' }
  | { kind: 'complete' }
  | { kind: 'differs'; why: string };

export async function inspectOutput(outPath: string, info: FileInfo, grid: PieceGrid, signal?: AbortSignal): Promise<ExistingOutput> {
  let st: fs.Stats;
  try {
    st = fs.statSync(outPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    throw fileError('cannot inspect', outPath, err);
  }
  if (!st.isFile()) throw new MsdError('E_CONFIG', `output_location (-o, MSD_OUTPUT): ${outPath} exists and is not a regular file; choose another output`);
  if (st.size !== info.size) {
    return { kind: 'differs', why: `it has ${st.size} bytes and the servers' file ${info.size}: the servers now serve other content` };
  }
  const { bad } = await checkPieces(outPath, grid, info.digests, undefined, { signal });
  if (bad.length === 0) return { kind: 'complete' };
  if (bad.length === grid.count) return { kind: 'differs', why: `none of its ${grid.count} pieces matches the servers' digests: the servers now serve other content` };
  return { kind: 'differs', why: `${bad.length} of its ${grid.count} pieces do not match the servers' digests (first: piece ${bad[0]}): it is damaged` };
}
