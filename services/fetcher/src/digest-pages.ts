/**
 * All piece digests of one file from one server: INFO pages of up to 32768 digests, each checked
 * to belong to the same content and to start where it was asked.
 */
import { DIGEST_SIZE, MAX_DIGESTS_PER_INFO, MsdError } from '@msd/common';
import type { ServerConnection } from './connection';

export async function pageDigests(conn: ServerConnection<never>, label: string, name: string, want: { pieceCount: number; contentId: Buffer }): Promise<Buffer> {
  const out = Buffer.alloc(want.pieceCount * DIGEST_SIZE);
  const what = name ? `"${name}"` : 'its file';
  for (let at = 0; at < want.pieceCount;) {
    const page = await conn.info(name, at, MAX_DIGESTS_PER_INFO);
    if (!page.contentId.equals(want.contentId)) throw new MsdError('E_CONTENT_MISMATCH', `${label} changed ${what} while listing digests; run again`);
    const n = page.digests.length / DIGEST_SIZE;
    if (page.firstDigest !== at || n === 0) throw new MsdError('E_PROTOCOL', `${label} returned digests of ${what} from ${page.firstDigest} (${n}) when asked from ${at}`);
    page.digests.copy(out, at * DIGEST_SIZE);
    at += n;
  }
  return out;
}
