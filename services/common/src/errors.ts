/**
 * Errors with stable codes. Every error a user can meet carries a code (stable, for scripts and
 * docs), a message that says what is wrong and what to do, and the process exit code it maps to.
 */
export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  UNREACHABLE: 3,
  CONTENT_MISMATCH: 4,
  IO: 5,
  VERIFY: 6,
  CANCELLED: 7,
  PROTOCOL: 8,
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'E_CONFIG'
  | 'E_USAGE'
  | 'E_UNREACHABLE'
  | 'E_CONTENT_MISMATCH'
  | 'E_IO'
  | 'E_DISK_FULL'
  | 'E_VERIFY'
  | 'E_CANCELLED'
  | 'E_PROTOCOL'
  | 'E_REMOTE'
  | 'E_NOT_FOUND'
  | 'E_BAD_STATE'
  | 'E_INTERNAL';

const exitFor: Record<ErrorCode, ExitCodeValue> = {
  E_CONFIG: ExitCode.USAGE,
  E_USAGE: ExitCode.USAGE,
  E_UNREACHABLE: ExitCode.UNREACHABLE,
  E_CONTENT_MISMATCH: ExitCode.CONTENT_MISMATCH,
  E_IO: ExitCode.IO,
  E_DISK_FULL: ExitCode.IO,
  E_VERIFY: ExitCode.VERIFY,
  E_CANCELLED: ExitCode.CANCELLED,
  E_PROTOCOL: ExitCode.PROTOCOL,
  E_REMOTE: ExitCode.PROTOCOL,
  E_NOT_FOUND: ExitCode.USAGE,
  E_BAD_STATE: ExitCode.IO,
  E_INTERNAL: ExitCode.INTERNAL,
};

export class MsdError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MsdError';
    this.code = code;
    this.exitCode = exitFor[code];
  }
}

/** Maps a Node system error from a file operation to a clear MsdError. */
export function fileError(op: string, path: string, err: unknown): MsdError {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new MsdError('E_DISK_FULL', `${op} ${path}: no space left on device; free some space and run the same command again to resume`, { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new MsdError('E_IO', `${op} ${path}: permission denied (${e.code}); choose a writable location or fix the permissions`, { cause: err });
    case 'ENOENT':
      return new MsdError('E_IO', `${op} ${path}: no such file or directory`, { cause: err });
    case 'EISDIR':
      return new MsdError('E_IO', `${op} ${path}: is a directory`, { cause: err });
    default:
      return new MsdError('E_IO', `${op} ${path}: ${e?.message ?? String(err)}`, { cause: err });
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
