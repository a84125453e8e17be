/** JobTable: requests by connection, by piece (through the scheduler's holders), and who wrote a piece. */
import { Job, JobTable } from './job-table';

function job(piece: number, worker: number): Job {
  return { piece, file: 0, gen: 0, start: 0, worker, written: 0, cancelled: false, span: undefined, req: undefined, hash: undefined };
}

describe('JobTable', () => {
  it('finds the requests for a piece on the workers that hold it, and only those', () => {
    const holders = new Map<number, number[]>([[7, [0, 2]]]);
    const t = new JobTable((p) => holders.get(p) ?? []);
    const a = job(7, 0);
    const b = job(8, 0);
    const c = job(7, 2);
    const stray = job(7, 1); // worker 1 is not a holder of 7 in the scheduler: not reported
    for (const j of [a, b, c, stray]) t.add(j);
    expect(t.ofPiece(7)).toEqual([a, c]);
    expect(t.count(0)).toBe(2);
    t.remove(a);
    expect(t.ofPiece(7)).toEqual([c]);
    expect([...t.ofWorker(0)]).toEqual([b]);
    expect(t.count(9)).toBe(0);
  });

  it('knows when one request alone wrote a piece, and forgets on clearPiece', () => {
    const t = new JobTable(() => []);
    const a = job(3, 0);
    const b = job(3, 1);
    expect(t.soleWriter(3, a)).toBe(true); // nothing written yet
    t.wrote(a);
    t.wrote(a);
    expect(t.soleWriter(3, a)).toBe(true);
    expect(t.soleWriter(3, b)).toBe(false);
    t.wrote(b);
    expect(t.soleWriter(3, a)).toBe(false); // mixed: neither alone
    expect(t.soleWriter(3, b)).toBe(false);
    t.clearPiece(3);
    expect(t.soleWriter(3, b)).toBe(true);
  });
});
