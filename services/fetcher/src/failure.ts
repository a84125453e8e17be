/**
 * The fetcher's errors and their one classification. Every failure that crosses a boundary
 * (socket → connection → discovery or download → exit code) is an MsdError whose code says what
 * it means and whether trying again can help; nothing downstream re-derives that from a message.
 */
import { ErrorCode, MsdError, ProtocolError, Status } from '@msd/common';
import type { RetryReason } from './model';

/**
 * How a connection failed. `refused`, `error`, `timeout`, `closed` and `busy` may pass (servers
 * start, restart, stall, fill up); `protocol` (not a segment server, other version), `auth` and
 * `tls` need the user.
 */
export type TransportReason = 'refused' | 'error' | 'timeout' | 'closed' | 'busy' | 'protocol' | 'auth' | 'tls';

const CODE_OF_REASON: Record<TransportReason, ErrorCode> = {
  refused: 'E_UNREACHABLE',
  error: 'E_UNREACHABLE',
  timeout: 'E_UNREACHABLE',
  closed: 'E_UNREACHABLE',
  busy: 'E_UNREACHABLE',
  protocol: 'E_PROTOCOL',
  auth: 'E_AUTH',
  tls: 'E_TLS',
};

/** The metric label of a retry caused by this reason. */
const RETRY_OF_REASON: Record<TransportReason, RetryReason> = {
  refused: 'refused',
  busy: 'refused',
  error: 'error',
  closed: 'error',
  timeout: 'timeout',
  protocol: 'protocol',
  auth: 'auth',
  tls: 'auth',
};

/** A connection-level failure: the connection is unusable. */
export class ConnectionError extends MsdError {
  constructor(message: string, readonly reason: TransportReason, options?: { cause?: unknown }) {
    super(CODE_OF_REASON[reason], message, options);
    this.name = 'ConnectionError';
  }
}

/** Request-level statuses and what they mean for the run (the connection stays usable). */
const CODE_OF_STATUS: Partial<Record<Status, ErrorCode>> = {
  [Status.NOT_FOUND]: 'E_NOT_FOUND',
  [Status.NEEDS_NAME]: 'E_USAGE',
  [Status.UNSUPPORTED_VERSION]: 'E_PROTOCOL',
  [Status.AUTH_FAILED]: 'E_AUTH',
  [Status.BAD_REQUEST]: 'E_PROTOCOL',
};

/** A server refused one request (draining, out of range, not found...). */
export class RemoteError extends MsdError {
  constructor(readonly status: Status, message: string) {
    super(CODE_OF_STATUS[status] ?? 'E_UNREACHABLE', message);
    this.name = 'RemoteError';
  }
}

/**
 * The one classification: any thrown value → an MsdError with a stable code (and so an exit code
 * and a retryable flag). Codec errors mean the peer does not speak our protocol.
 */
export function classify(err: unknown, where = ''): MsdError {
  if (err instanceof MsdError) return err;
  const at = where ? `${where}: ` : '';
  if (err instanceof ProtocolError) return new ConnectionError(`${at}protocol error: ${err.message}`, 'protocol', { cause: err });
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return new ConnectionError(`${at}connection refused`, 'refused', { cause: err });
    case 'ECONNRESET': case 'EPIPE': case 'ETIMEDOUT': case 'EHOSTUNREACH': case 'ENETUNREACH': case 'EHOSTDOWN':
    // a Service name resolves only once its pods are ready: a lookup failure may pass
    case 'ENOTFOUND': case 'EAI_AGAIN':
      return new ConnectionError(`${at}${e.code}`, 'error', { cause: err });
    default:
      return new MsdError('E_INTERNAL', `${at}${e instanceof Error ? e.message : String(err)}`, { cause: err });
  }
}

export function retryReasonOf(err: unknown): RetryReason {
  return err instanceof ConnectionError ? RETRY_OF_REASON[err.reason] : 'error';
}
