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
  LOCKED: 9,
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Every stable code: the exit code it ends a run with, and whether the condition can pass by
 * itself (a retry may succeed) or needs the user to change something. One table, read by
 * MsdError and by the fetcher's failure classification; docs/operations.md lists the codes.
 */
const CODES = {
  E_CONFIG: { exit: ExitCode.USAGE, retryable: false },
  E_USAGE: { exit: ExitCode.USAGE, retryable: false },
  E_AUTH: { exit: ExitCode.USAGE, retryable: false },
  E_TLS: { exit: ExitCode.USAGE, retryable: false },
  E_NOT_FOUND: { exit: ExitCode.USAGE, retryable: false },
  /** No answer (refused, reset, timed out, closed, busy): servers may be starting, restarting or full. */
  E_UNREACHABLE: { exit: ExitCode.UNREACHABLE, retryable: true },
  E_CONTENT_MISMATCH: { exit: ExitCode.CONTENT_MISMATCH, retryable: false },
  E_IO: { exit: ExitCode.IO, retryable: false },
  E_DISK_FULL: { exit: ExitCode.IO, retryable: false },
  E_BAD_STATE: { exit: ExitCode.IO, retryable: false },
  E_VERIFY: { exit: ExitCode.VERIFY, retryable: false },
  E_CANCELLED: { exit: ExitCode.CANCELLED, retryable: false },
  /** The peer is not a segment server, or speaks an incompatible protocol version. */
  E_PROTOCOL: { exit: ExitCode.PROTOCOL, retryable: false },
  /** Another fetcher holds the output's lock. */
  E_LOCKED: { exit: ExitCode.LOCKED, retryable: false },
  E_INTERNAL: { exit: ExitCode.INTERNAL, retryable: false },
} as const satisfies Record<string, { exit: ExitCodeValue; retryable: boolean }>;

export type ErrorCode = keyof typeof CODES;

/** True for codes whose condition may pass by itself (the caller retries with backoff). */
export function isRetryableCode(code: ErrorCode): boolean {
  return CODES[code].retryable;
}

export function exitCodeOf(code: ErrorCode): ExitCodeValue {
  return CODES[code].exit;
}

/**
 * The base of every error a user can meet. Subclasses add what their layer knows (a transport
 * reason, a protocol status) but keep the code, so one classification serves every boundary.
 */
export class MsdError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MsdError';
    this.code = code;
    this.exitCode = CODES[code].exit;
    this.retryable = CODES[code].retryable;
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
