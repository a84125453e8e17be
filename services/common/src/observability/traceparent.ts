import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, trace, type Context, type Span, type SpanContext } from '@opentelemetry/api';
import type { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
 * `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`, 55 ASCII characters.
 * The fetcher sends it in the protocol handshake; the server continues the trace from it.
 * Written and read by OpenTelemetry's own propagator, loaded on first use: both callers only
 * need it while tracing is on, and requiring @opentelemetry/core costs ~30 ms of start-up.
 */
export const TRACEPARENT_LENGTH = 55;

let propagator: W3CTraceContextPropagator | undefined;
function w3c(): W3CTraceContextPropagator {
  if (propagator === undefined) {
    const { W3CTraceContextPropagator: Propagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
    propagator = new Propagator();
  }
  return propagator;
}

/** The traceparent of a span, or undefined when it is not a valid (recording or remote) span. */
export function traceparentOf(span: Span | undefined): string | undefined {
  if (span === undefined) return undefined;
  const carrier: Record<string, string> = {};
  w3c().inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier.traceparent;
}

/** Parses a traceparent; undefined when absent or malformed (a bad header never fails a request). */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  if (value === undefined) return undefined;
  return trace.getSpanContext(w3c().extract(ROOT_CONTEXT, { traceparent: value }, defaultTextMapGetter));
}

/** A context whose parent is the remote span named by `traceparent`, else the root context. */
export function contextFromTraceparent(value: string | undefined): Context {
  const sc = parseTraceparent(value);
  return sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc);
}
