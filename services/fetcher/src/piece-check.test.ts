/** How a whole piece is checked, and when a bad one is the sending server's fault. */
import { blameable, checkMethod, type CheckInput } from './piece-check';

const base: CheckInput = { verify: true, soleWriter: true, generation: 2, length: 100, job: { streaming: true, gen: 2, start: 0, written: 100 } };

describe('checkMethod', () => {
  it.each([
    ['the stream hash of a request that wrote it all', base, 'stream'],
    ['a resumed prefix plus the rest streamed', { ...base, job: { streaming: true, gen: 2, start: 40, written: 60 } }, 'stream'],
    ['--no-verify', { ...base, verify: false }, 'none'],
    ['no request completed it (whole on disk at resume)', { ...base, job: undefined, soleWriter: false }, 'read-back'],
    ['two requests wrote into it', { ...base, soleWriter: false }, 'read-back'],
    ['the piece was reset since the request began', { ...base, job: { streaming: true, gen: 1, start: 0, written: 100 } }, 'read-back'],
    ['the request did not write all of the rest', { ...base, job: { streaming: true, gen: 2, start: 0, written: 99 } }, 'read-back'],
    ['no stream hash ran (TLS)', { ...base, job: { streaming: false, gen: 2, start: 0, written: 100 } }, 'read-back'],
  ] as const)('%s: %s', (_what, input, want) => {
    expect(checkMethod(input)).toBe(want);
  });
});

describe('blameable', () => {
  it('blames the server only for a piece one request of it wrote from its start', () => {
    expect(blameable(base)).toBe(true);
    expect(blameable({ ...base, soleWriter: false })).toBe(false);
    expect(blameable({ ...base, job: { ...base.job!, start: 40, written: 60 } })).toBe(false); // the prefix is from an earlier run
    expect(blameable({ ...base, job: undefined })).toBe(false);
  });
});
