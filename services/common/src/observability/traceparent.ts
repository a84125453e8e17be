import { ROOT_CONTEXT, TraceFlags, isSpanContextValid, trace, type Context, type Span, type SpanContext } from '@opentelemetry/api';

/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
 * `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`, 55 ASCII characters.
 * The fetcher sends it in the protocol handshake; the server continues the trace from it.
 */
export const TRACEPARENT_LENGTH = 55;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The traceparent of a span, or undefined when it is not a valid (recording or remote) span. */
export function traceparentOf(span: Span | undefined): string | undefined {
  if (span === undefined) return undefined;
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** Parses a traceparent; undefined when absent or malformed (a bad header never fails a request). */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  if (value === undefined || value.length < TRACEPARENT_LENGTH) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const sc: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
  return isSpanContextValid(sc) ? sc : undefined;
}

/** A context whose parent is the remote span named by `traceparent`, else the root context. */
export function contextFromTraceparent(value: string | undefined): Context {
  const sc = parseTraceparent(value);
  return sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc);
}
