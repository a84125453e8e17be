import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata, handleUnaryCall } from '@grpc/grpc-js';
import { grpcJs } from './lazy-modules';

/** Metadata key carrying `Bearer <token>` on calls that change state. */
export const AUTHORIZATION_METADATA_KEY = 'authorization';

/** Metadata for a client call: `authorization: Bearer <token>` when a token is given. */
export function tokenMetadata(token: string | undefined): Metadata {
  const metadata = new (grpcJs().Metadata)();
  if (token !== undefined && token !== '') metadata.set(AUTHORIZATION_METADATA_KEY, `Bearer ${token}`);
  return metadata;
}

/**
 * Checks `authorization: Bearer <token>` against the configured token. Both sides
 * are hashed first so the comparison takes the same time whatever the length.
 */
export class TokenCheck {
  private readonly expected: Buffer | undefined;

  constructor(
    token: string | undefined,
    private readonly onFailure: (method: string) => void = () => {},
  ) {
    this.expected = token === undefined || token === '' ? undefined : digest(token);
  }

  get required(): boolean {
    return this.expected !== undefined;
  }

  /** true when no token is configured or the metadata carries the right one. */
  accepts(metadata: Metadata): boolean {
    if (this.expected === undefined) return true;
    const presented = bearerToken(metadata);
    // Compare even when absent, so a missing header costs the same as a wrong one.
    return timingSafeEqual(digest(presented ?? ''), this.expected) && presented !== undefined;
  }

  /** Wraps a unary handler: refuses with UNAUTHENTICATED (and counts it) unless the token matches. */
  guard<Req, Res>(method: string, handler: handleUnaryCall<Req, Res>): handleUnaryCall<Req, Res> {
    return (call, callback) => {
      if (this.accepts(call.metadata)) {
        handler(call, callback);
        return;
      }
      this.onFailure(method);
      const presented = bearerToken(call.metadata) !== undefined;
      callback({
        code: grpcJs().status.UNAUTHENTICATED,
        details: presented
          ? `${method}: wrong token in 'authorization: Bearer <token>'`
          : `${method} needs the control token: send metadata 'authorization: Bearer <token>' (ctl: --token or --token-file)`,
      });
    };
  }
}

function bearerToken(metadata: Metadata): string | undefined {
  const values = metadata.get(AUTHORIZATION_METADATA_KEY);
  const header = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
  const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
