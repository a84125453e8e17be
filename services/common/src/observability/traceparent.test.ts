/** traceparent in and out through OpenTelemetry's W3C propagator: what the handshake carries. */
import { trace, TraceFlags } from '@opentelemetry/api';
import { contextFromTraceparent, parseTraceparent, TRACEPARENT_LENGTH, traceparentOf } from './traceparent';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

describe('traceparent', () => {
  it('writes a span as 00-trace-span-flags, 55 characters', () => {
    const span = trace.wrapSpanContext({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED });
    const tp = traceparentOf(span);
    expect(tp).toBe(`00-${TRACE}-${SPAN}-01`);
    expect(tp).toHaveLength(TRACEPARENT_LENGTH);
    expect(traceparentOf(trace.wrapSpanContext({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.NONE }))).toBe(`00-${TRACE}-${SPAN}-00`);
  });

  it('writes nothing for no span or an invalid one', () => {
    expect(traceparentOf(undefined)).toBeUndefined();
    expect(traceparentOf(trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: SPAN, traceFlags: 1 }))).toBeUndefined();
  });

  it('reads one back as a remote parent', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, spanId: SPAN, traceFlags: 1, isRemote: true });
    const ctx = contextFromTraceparent(`00-${TRACE}-${SPAN}-01`);
    expect(trace.getSpanContext(ctx)?.traceId).toBe(TRACE);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['short', `00-${TRACE}-${SPAN}`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['version 00 with more fields', `00-${TRACE}-${SPAN}-01-extra`],
    ['a zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['a zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['garbage', 'not a traceparent at all, but 55 characters long......'],
  ])('ignores a malformed one (%s): the request is served untraced', (_what, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
    expect(trace.getSpanContext(contextFromTraceparent(value))).toBeUndefined();
  });

  it('accepts a later version with more fields (forward compatible, as the spec asks)', () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-future`)?.spanId).toBe(SPAN);
  });
});
