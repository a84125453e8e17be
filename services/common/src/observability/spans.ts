import {
  INVALID_SPAN_CONTEXT,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { traceparentOf } from './traceparent';
import { tracingEnabled } from './tracing';

/** Span names: one trace per download, a span per segment attempt and per server request. */
export const SPAN = {
  download: 'fetcher.download',
  segment: 'fetcher.segment',
  request: 'fetcher.request',
  serverRequest: 'segment-server.request',
} as const;

/** Attribute keys used on the spans above. */
export const SPAN_ATTR = {
  /** Server ID (number). */
  serverId: 'msd.server.id',
  /** Server address `host:port` (string). */
  server: 'msd.server.address',
  /** Segment index (number). */
  segment: 'msd.segment',
  /** First byte offset of the requested range (number). */
  rangeStart: 'msd.range.start',
  /** Length of the requested range in bytes (number). */
  rangeLength: 'msd.range.length',
  /** Bytes actually transferred (number). */
  bytes: 'msd.bytes',
  /** Request kind: info, get, segment, list (string). */
  kind: 'msd.request.kind',
  /** ok, error, refused, timeout, cancelled, ... (string). */
  outcome: 'msd.outcome',
  /** File name or size for the download span. */
  file: 'msd.file',
  fileSize: 'msd.file.size',
} as const;

/** The span handed to callbacks while tracing is off: records nothing, costs nothing. */
const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

function tracer(): Tracer {
  return trace.getTracer('multi-server-downloader');
}

function parentContext(parent: Context | Span | undefined): Context {
  if (parent === undefined) return context.active();
  return 'spanContext' in parent ? trace.setSpan(context.active(), parent) : parent;
}

/**
 * Runs `fn` inside a new active span (a child of `parent`, else of the active span). The span
 * ends when `fn` settles; a throw or rejection marks it as an error (outcome `error`) and is
 * re-thrown. With tracing off, `fn` runs with a no-op span.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
  parent?: Context | Span,
): Promise<T> {
  if (!tracingEnabled()) return fn(NOOP_SPAN);
  const parentCtx = parentContext(parent);
  const span = tracer().startSpan(name, { attributes }, parentCtx);
  return context.with(trace.setSpan(parentCtx, span), async () => {
    try {
      const result = await fn(span);
      span.end();
      return result;
    } catch (err) {
      endSpan(span, 'error', err);
      throw err;
    }
  });
}

/**
 * Starts a span whose lifetime is not one function call (a pipelined request finished by a
 * socket callback). End it with `endSpan`. With tracing off, returns the no-op span.
 */
export function startSpan(name: string, attributes: Attributes, parent?: Context | Span): Span {
  if (!tracingEnabled()) return NOOP_SPAN;
  return tracer().startSpan(name, { attributes }, parentContext(parent));
}

/** Sets the outcome attribute (and error status when `error` is given or outcome isn't ok) and ends the span. */
export function endSpan(span: Span, outcome: string, error?: unknown, attributes?: Attributes): void {
  if (span === NOOP_SPAN) return;
  if (attributes !== undefined) span.setAttributes(attributes);
  span.setAttribute(SPAN_ATTR.outcome, outcome);
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  } else if (outcome !== 'ok') {
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  }
  span.end();
}

/** Runs `fn` with `span` as the active span (so `currentTraceparent` and child spans see it). */
export function runInSpan<T>(span: Span, fn: () => T): T {
  if (span === NOOP_SPAN) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** W3C traceparent of the active span, for the protocol handshake; undefined when tracing is off. */
export function currentTraceparent(): string | undefined {
  if (!tracingEnabled()) return undefined;
  return traceparentOf(trace.getActiveSpan());
}
