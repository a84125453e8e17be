/** The one classification: every failure gets a stable code, an exit code and a retryable flag. */
import { ExitCode, MsdError, ProtocolError, Status } from '@msd/common';
import { classify, ConnectionError, RemoteError, retryReasonOf } from './failure';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

describe('classify', () => {
  it.each([
    ['ECONNREFUSED', 'E_UNREACHABLE', true, 'refused'],
    ['ECONNRESET', 'E_UNREACHABLE', true, 'error'],
    ['EPIPE', 'E_UNREACHABLE', true, 'error'],
    ['ENOTFOUND', 'E_UNREACHABLE', true, 'error'],
    ['EAI_AGAIN', 'E_UNREACHABLE', true, 'error'],
  ] as const)('%s → %s, retryable %s', (code, want, retryable, reason) => {
    const e = classify(errno(code), 'h:1');
    expect(e.code).toBe(want);
    expect(e.retryable).toBe(retryable);
    expect(e.message).toMatch(/^h:1: /);
    expect((e as ConnectionError).reason).toBe(reason);
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('a codec error means the peer does not speak the protocol: exit 8, not retried', () => {
    const e = classify(new ProtocolError(Status.BAD_REQUEST, 'bad frame'));
    expect(e.code).toBe('E_PROTOCOL');
    expect(e.exitCode).toBe(ExitCode.PROTOCOL);
    expect(e.retryable).toBe(false);
  });

  it('keeps an MsdError as it is, and calls anything unknown internal', () => {
    const mine = new MsdError('E_DISK_FULL', 'full');
    expect(classify(mine)).toBe(mine);
    expect(classify(new TypeError('oops')).code).toBe('E_INTERNAL');
  });

  it.each([
    ['refused', 'E_UNREACHABLE', true, ExitCode.UNREACHABLE, 'refused'],
    ['timeout', 'E_UNREACHABLE', true, ExitCode.UNREACHABLE, 'timeout'],
    ['busy', 'E_UNREACHABLE', true, ExitCode.UNREACHABLE, 'refused'],
    ['closed', 'E_UNREACHABLE', true, ExitCode.UNREACHABLE, 'error'],
    ['protocol', 'E_PROTOCOL', false, ExitCode.PROTOCOL, 'protocol'],
    ['auth', 'E_AUTH', false, ExitCode.USAGE, 'auth'],
    ['tls', 'E_TLS', false, ExitCode.USAGE, 'auth'],
  ] as const)('a connection failure "%s" is %s (retryable %s, exit %d, metric %s)', (reason, code, retryable, exit, metric) => {
    const e = new ConnectionError('x', reason);
    expect([e.code, e.retryable, e.exitCode, retryReasonOf(e)]).toEqual([code, retryable, exit, metric]);
  });

  it.each([
    [Status.NOT_FOUND, 'E_NOT_FOUND', false],
    [Status.NEEDS_NAME, 'E_USAGE', false],
    [Status.UNSUPPORTED_VERSION, 'E_PROTOCOL', false],
    [Status.BUSY, 'E_UNREACHABLE', true],
    [Status.OUT_OF_RANGE, 'E_UNREACHABLE', true],
  ] as const)('a refused request with status %s is %s', (status, code, retryable) => {
    const e = new RemoteError(status, 'x');
    expect([e.code, e.retryable]).toEqual([code, retryable]);
  });
});
