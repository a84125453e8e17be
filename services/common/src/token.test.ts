/** The shared token from a value or a mounted file. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MsdError } from './errors';
import { resolveToken } from './token';

describe('resolveToken', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'msd-token-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function configError(fn: () => unknown): MsdError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(MsdError);
      expect((err as MsdError).code).toBe('E_CONFIG');
      return err as MsdError;
    }
    throw new Error('expected an E_CONFIG error');
  }

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
    expect(configError(() => resolveToken('a', '/x')).message).toMatch(/--token.*--token-file.*both/);
    expect(configError(() => resolveToken('', join(dir, 'missing'))).message).toMatch(/token-file.*cannot read/);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n\n');
    expect(configError(() => resolveToken('', empty)).message).toMatch(/token-file.*is empty/);
  });
});
