/** part-file's resolveOutputPath: -o as a file, or an existing directory taking the served file's name. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOutputPath } from './part-file';

describe('resolveOutputPath', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'msd-out-'));
    mkdirSync(join(dir, 'existing'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Matches the E_CONFIG MsdError a bad setting throws (an asymmetric matcher, typed as what toThrow takes). */
  const configError = (message: RegExp): Error => expect.objectContaining({ name: 'MsdError', code: 'E_CONFIG', message: expect.stringMatching(message) });

  it('a file name is used as given (absolute)', () => {
    expect(resolveOutputPath(join(dir, 'out.bin'), 'served.iso')).toBe(join(dir, 'out.bin'));
  });

  it('a relative file name resolves against the working directory', () => {
    expect(resolveOutputPath('out.bin', 'x')).toBe(join(process.cwd(), 'out.bin'));
  });

  it('an existing directory gets the served file\'s base name', () => {
    expect(resolveOutputPath(join(dir, 'existing'), 'sub/dir/served.iso')).toBe(join(dir, 'existing', 'served.iso'));
    expect(resolveOutputPath(join(dir, 'existing') + '/', 'served.iso')).toBe(join(dir, 'existing', 'served.iso'));
    expect(resolveOutputPath('.', 'served.iso')).toBe(join(process.cwd(), 'served.iso'));
  });

  it('a served name can never climb out of the output directory', () => {
    for (const name of ['../../etc/passwd', '..', '.', '', '/', 'a\\..\\..\\b', 'dir/']) {
      const out = resolveOutputPath(join(dir, 'existing'), name);
      expect(out.startsWith(join(dir, 'existing') + '/')).toBe(true);
      expect(out).not.toMatch(/\/\.\.?$/);
    }
    expect(resolveOutputPath(join(dir, 'existing'), '..')).toBe(join(dir, 'existing', 'download.bin'));
    expect(resolveOutputPath(join(dir, 'existing'), 'a\\..\\..\\b')).toBe(join(dir, 'existing', 'b'));
  });

  it('refuses a directory that does not exist, naming the setting', () => {
    expect(() => resolveOutputPath(join(dir, 'missing') + '/', 'f')).toThrow(configError(/output_location \(-o, MSD_OUTPUT\): directory .*missing\/ does not exist/));
    expect(() => resolveOutputPath(join(dir, 'missing', 'out.bin'), 'f')).toThrow(configError(/output_location \(-o, MSD_OUTPUT\): directory .*missing does not exist/));
  });
});
