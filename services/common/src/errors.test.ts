/** Stable error codes, their exit codes, and file errors that say what to do. */
import { errorMessage, ExitCode, fileError, MsdError } from './errors';

function sysErr(code: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: something`);
  e.code = code;
  return e;
}

describe('MsdError', () => {
  it.each([
    ['E_CONFIG', ExitCode.USAGE], ['E_USAGE', ExitCode.USAGE], ['E_UNREACHABLE', ExitCode.UNREACHABLE],
    ['E_CONTENT_MISMATCH', ExitCode.CONTENT_MISMATCH], ['E_DISK_FULL', ExitCode.IO], ['E_VERIFY', ExitCode.VERIFY],
    ['E_CANCELLED', ExitCode.CANCELLED], ['E_PROTOCOL', ExitCode.PROTOCOL], ['E_INTERNAL', ExitCode.INTERNAL],
  ] as const)('%s exits with %d', (code, exit) => {
    const e = new MsdError(code, 'x');
    expect(e.code).toBe(code);
    expect(e.exitCode).toBe(exit);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('MsdError');
  });

  it('keeps the cause', () => {
    const cause = new Error('inner');
    expect(new MsdError('E_IO', 'outer', { cause }).cause).toBe(cause);
  });
});

describe('fileError', () => {
  it.each([
    ['ENOSPC', 'E_DISK_FULL', /no space left.*resume/],
    ['EDQUOT', 'E_DISK_FULL', /no space left/],
    ['EACCES', 'E_IO', /permission denied \(EACCES\)/],
    ['EROFS', 'E_IO', /permission denied \(EROFS\)/],
    ['ENOENT', 'E_IO', /no such file/],
    ['EISDIR', 'E_IO', /is a directory/],
    ['EIO', 'E_IO', /EIO: something/],
  ])('%s -> %s', (errno, code, msg) => {
    const e = fileError('write', '/data/out.bin.part', sysErr(errno));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(/^write \/data\/out\.bin\.part: /);
    expect(e.message).toMatch(msg);
  });

  it('handles non-errors', () => {
    expect(fileError('open', 'f', 'boom').message).toBe('open f: boom');
    expect(errorMessage(new Error('a'))).toBe('a');
    expect(errorMessage(42)).toBe('42');
  });
});
