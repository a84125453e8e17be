/** The shared token from a value or a mounted file. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveToken } from './token';

describe('resolveToken', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'msd-token-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Matches the E_CONFIG MsdError a bad setting throws (an asymmetric matcher, typed as what toThrow takes). */
  const configError = (message: RegExp): Error => expect.objectContaining({ name: 'MsdError', code: 'E_CONFIG', message: expect.stringMatching(message) });

  it('is undefined when neither is set, the value when given', () => {
    expect(resolveToken('', '')).toBeUndefined();
    expect(resolveToken('abc', '')).toBe('abc');
  });

  it('reads a file and trims the newline a Secret usually has', () => {
    const f = join(dir, 'token');
    writeFileSync(f, '  s3cret\n');
    expect(resolveToken('', f)).toBe('s3cret');
  });

  it('refuses both at once, an unreadable file, and an empty file, naming the setting', () => {
    expect(() => resolveToken('a', '/x')).toThrow(configError(/--token.*--token-file.*both/));
    expect(() => resolveToken('', join(dir, 'missing'))).toThrow(configError(/token-file.*cannot read/));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n\n');
    expect(() => resolveToken('', empty)).toThrow(configError(/token-file.*is empty/));
  });
});
