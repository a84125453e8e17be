import { checkSetNames, selectNames, unsafeReason } from './set-names';

describe('unsafeReason: what a server may not make the fetcher write', () => {
  test.each([
    ['/etc/passwd', /absolute/],
    ['../x', /"\.\."/],
    ['a/../../x', /"\.\."/],
    ['a/..', /"\.\."/],
    ['./x', /"\."/],
    ['a/./x', /"\."/],
    ['a//b', /empty path component/],
    ['a/', /empty path component/],
    ['', /empty/],
    ['a\\..\\b', /backslash/],
    ['a\u0000b', /control character/],
    ['a\nb', /control character/],
    ['a\u007fb', /control character/],
    ['.msd-set.state', /own \.msd-set/],
    ['.msd-set.lock', /own \.msd-set/],
  ])('%j is refused', (name, why) => {
    expect(unsafeReason(name)).toMatch(why);
  });

  test.each(['a.bin', 'sub/x.safetensors', 'model-00001-of-00030.safetensors', '..a', 'a..b/c', '.hidden', 'dir/.msd-set.state', 'ünï/çødé'])('%j is fine', (name) => {
    expect(unsafeReason(name)).toBeUndefined();
  });
});

describe('checkSetNames', () => {
  test('names the server and the name, exit code 8 (E_PROTOCOL)', () => {
    expect(() => checkSetNames(['ok', '../evil'], 'srv:1')).toThrow(expect.objectContaining({ code: 'E_PROTOCOL', message: expect.stringMatching(/srv:1 lists an unsafe name "\.\.\/evil"/) }));
  });
  test('X.part beside X would be overwritten by the part file', () => {
    expect(() => checkSetNames(['x.bin', 'x.bin.part'], 's')).toThrow(/unsafe name "x\.bin\.part": the fetcher writes x\.bin\.part while it downloads x\.bin/);
    expect(() => checkSetNames(['x.bin.part'], 's')).not.toThrow();
  });
  test('a name that is also a directory of another name', () => {
    expect(() => checkSetNames(['a', 'a/b'], 's')).toThrow(/unsafe name "a": it is listed both as a file and as a directory/);
    expect(() => checkSetNames(['a/b/c', 'a/b'], 's')).toThrow(/"a\/b"/);
    expect(() => checkSetNames(['a/b', 'a/c', 'ab'], 's')).not.toThrow();
  });
});

describe('selectNames', () => {
  const e = ['config.json', 'tokenizer/vocab.json', 'model-00001.safetensors', 'model-00002.safetensors', 'model-00003.safetensors', 'README.md'].map((name) => ({ name, size: 1 }));
  const pick = (inc: string[], exc: string[] = []): string[] => selectNames(e, inc, exc).map((x) => x.name);
  test('no include: all; * stays within a directory, ** crosses', () => {
    expect(pick([])).toHaveLength(6);
    expect(pick(['*.json'])).toEqual(['config.json']);
    expect(pick(['**/*.json'])).toEqual(['config.json', 'tokenizer/vocab.json']);
  });
  test('includes add up, excludes take away', () => {
    expect(pick(['*.json', 'model-*'], ['model-0000[2-3]*'])).toEqual(['config.json', 'model-00001.safetensors']);
    expect(pick([], ['**/*.json', '*.md'])).toEqual(['model-00001.safetensors', 'model-00002.safetensors', 'model-00003.safetensors']);
  });
});
