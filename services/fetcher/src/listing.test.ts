import { ListEntry, MsdError } from '@msd/common';
import { listAll, ListPager, MAX_SET_FILES } from './listing';

const entries = (n: number, prefix = 'f'): ListEntry[] => Array.from({ length: n }, (_, i) => ({ name: `${prefix}${String(i).padStart(6, '0')}`, size: i }));

/** A server listing `all`, `pageSize` entries a page; `asked` records each page's start index. */
function pager(all: ListEntry[], pageSize: number, total = all.length): ListPager & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    listPage: async (first) => {
      asked.push(first);
      return { entries: all.slice(first, first + pageSize), total };
    },
  };
}

async function failure(p: Promise<unknown>): Promise<MsdError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof MsdError)) throw new Error(`expected an MsdError, got ${String(err)}`);
  return err;
}

describe('listAll', () => {
  it('pages from where the last page ended until it has the total', async () => {
    const all = entries(25);
    const p = pager(all, 10);
    expect(await listAll(p, 'server 0', MAX_SET_FILES)).toEqual(all);
    expect(p.asked).toEqual([0, 10, 20]);
  });

  it('asks once for a listing that fits one page, and once for an empty listing', async () => {
    const one = pager(entries(3), 10);
    expect(await listAll(one, 'server 0', 10)).toHaveLength(3);
    expect(one.asked).toEqual([0]);
    const none = pager([], 10);
    expect(await listAll(none, 'server 0', 10)).toEqual([]);
    expect(none.asked).toEqual([0]);
  });

  it('orders names by their UTF-8 bytes, not by locale', async () => {
    const all = [{ name: 'B', size: 1 }, { name: 'a', size: 1 }, { name: 'z', size: 1 }, { name: '\u{e000}', size: 1 }, { name: '\u{1f600}', size: 1 }];
    expect(await listAll(pager(all, 2), 'server 0', 10)).toEqual(all);
  });

  it('refuses a server that sends page 0 again (an older server ignores the start index)', async () => {
    const all = entries(4);
    const old: ListPager = { listPage: async () => ({ entries: all.slice(0, 2), total: 4 }) };
    const err = await failure(listAll(old, 'server 3', 10));
    expect(err.code).toBe('E_PROTOCOL');
    expect(err.message).toMatch(/^server 3.*LIST pages out of order \(an older server that does not page LIST\?\)/);
  });

  it('refuses names out of order within a page, and a repeated name', async () => {
    const swapped = [{ name: 'b', size: 0 }, { name: 'a', size: 0 }];
    expect((await failure(listAll(pager(swapped, 10), 's', 10))).message).toMatch(/LIST pages out of order/);
    const twice = [{ name: 'a', size: 0 }, { name: 'a', size: 0 }];
    expect((await failure(listAll(pager(twice, 10), 's', 10))).code).toBe('E_PROTOCOL');
  });

  it('refuses an older server that lists entries with a total of 0 (it sends offset 0)', async () => {
    const err = await failure(listAll(pager(entries(3), 10, 0), 'server 1', 10));
    expect(err.code).toBe('E_PROTOCOL');
    expect(err.message).toMatch(/older server that does not page LIST/);
  });

  it('refuses an empty page before the total is reached', async () => {
    const short = pager(entries(5), 10, 8);
    const err = await failure(listAll(short, 'server 2', 10));
    expect(err.code).toBe('E_PROTOCOL');
    expect(err.message).toMatch(/empty LIST page at entry 5 of 8/);
  });

  it('refuses a total over the limit before reading any more, naming the limit', async () => {
    const big = pager(entries(2), 2, 11);
    const err = await failure(listAll(big, 'server 0', 10));
    expect(err.code).toBe('E_PROTOCOL');
    expect(err.message).toMatch(/lists 11 files, more than the limit of 10/);
    expect(big.asked).toEqual([0]);
  });

  it('says the listing changed when the total changes between pages', async () => {
    const all = entries(6);
    let calls = 0;
    const moving: ListPager = { listPage: async (first) => ({ entries: all.slice(first, first + 3), total: calls++ === 0 ? 6 : 7 }) };
    const err = await failure(listAll(moving, 'server 0', 10));
    expect(err.code).toBe('E_CONTENT_MISMATCH');
    expect(err.message).toMatch(/listing changed while being read.*run again/);
  });

  it('lets a connection failure through unchanged', async () => {
    const broken: ListPager = { listPage: async () => { throw new Error('connection closed by server'); } };
    await expect(listAll(broken, 's', 10)).rejects.toThrow('connection closed by server');
  });
});
