/**
 * A server's whole listing, read page by page (protocol LIST with a start index; the response
 * header's offset carries the total). Pure paging logic over anything that can fetch a page, so it
 * is tested without a socket; `ServerConnection.listPage` is the real pager.
 */
import { compareListNames, ListEntry, MsdError } from '@msd/common';

/** The most files one set may have: the listing is held whole (names and sizes) while it is checked. */
export const MAX_SET_FILES = 1_000_000;

/** What listAll needs of a connection. */
export interface ListPager {
  listPage(first: number): Promise<{ entries: ListEntry[]; total: number }>;
}

/**
 * Every entry the server lists, in its order. Checks that the pages fit together: names strictly
 * increasing within and across pages (an older server ignores the start index and sends page 0
 * again), no empty page before the total is reached, no more entries than the total, the same total
 * on every page, and a total within `maxEntries`. `label` names the server in messages.
 */
export async function listAll(conn: ListPager, label: string, maxEntries: number): Promise<ListEntry[]> {
  const out: ListEntry[] = [];
  let total: number | undefined;
  do {
    const page = await conn.listPage(out.length);
    if (total === undefined) {
      total = page.total;
      if (total > maxEntries) {
        throw new MsdError('E_PROTOCOL', `${label} lists ${total} files, more than the limit of ${maxEntries} files in one set; serve a smaller directory, or fetch files one at a time with --file`);
      }
    } else if (page.total !== total) {
      throw new MsdError('E_CONTENT_MISMATCH', `${label}: listing changed while being read (${total} files, then ${page.total}); run again`);
    }
    if (page.entries.length === 0 && out.length < total) {
      throw new MsdError('E_PROTOCOL', `${label} sent an empty LIST page at entry ${out.length} of ${total}; the server's listing is broken: check that all servers run the same version`);
    }
    if (out.length + page.entries.length > total) {
      throw new MsdError('E_PROTOCOL', `${label} sent ${out.length + page.entries.length} LIST entries but says it lists ${total} (an older server that does not page LIST?); upgrade the server`);
    }
    for (const e of page.entries) {
      const prev = out[out.length - 1];
      if (prev && compareListNames(prev.name, e.name) >= 0) {
        throw new MsdError('E_PROTOCOL', `${label}: LIST pages out of order (an older server that does not page LIST?): ${JSON.stringify(e.name)} at entry ${out.length} does not come after ${JSON.stringify(prev.name)}; upgrade the server`);
      }
      out.push(e);
    }
  } while (out.length < total);
  return out;
}
