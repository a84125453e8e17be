/**
 * Tracing helpers across two real processes talking TCP: the span tree reaches a real OTLP/HTTP
 * receiver (JSON), the server continues the fetcher's trace from the traceparent, SIGTERM
 * flushes, and with OTEL_* unset the SDK is not even loaded and nothing is sent.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { spawnProcess, type Exit, type Proc } from '../helpers/processes';
import { envWithoutOtel, otelEnv } from './support/env';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver';

const ROOT = join(__dirname, '..', '..');
const PEER = join(__dirname, 'fixtures', 'trace-peer.js');
const NODE = process.execPath;

async function runPair(env: NodeJS.ProcessEnv, serverEnv: NodeJS.ProcessEnv = env): Promise<{ server: Proc; fetcher: Proc; serverExit: Exit }> {
  const server = spawnProcess(NODE, [PEER, 'server'], { env: serverEnv });
  try {
    const port = (await server.waitFor(/LISTENING (\d+)/))[1];
    const fetcher = spawnProcess(NODE, [PEER, 'fetch', port, '2'], { env });
    expect((await fetcher.exited).code).toBe(0);
    expect(fetcher.output()).toContain('DONE');
    const serverExit = await server.stop('SIGTERM');
    return { server, fetcher, serverExit };
  } finally {
    await server.stop('SIGKILL');
  }
}

describe('tracing', () => {
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-b', 'services/common'], { cwd: ROOT, stdio: 'inherit' });
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => receiver.close());
  beforeEach(() => {
    receiver.spans.length = 0;
    receiver.requests.length = 0;
  });

  it('exports one trace per download with segment, request and remote server spans', async () => {
    // The server batches for a minute: its spans can only arrive through the SIGTERM flush.
    const { fetcher, server, serverExit } = await runPair(otelEnv(receiver.endpoint), otelEnv(receiver.endpoint, { OTEL_BSP_SCHEDULE_DELAY: '60000' }));
    expect(fetcher.output()).toContain('TRACING on sdk-loaded=yes');
    expect(server.output()).toMatch(/REQUEST traceparent=00-[0-9a-f]{32}-[0-9a-f]{16}-01/);
    expect(serverExit.signal).toBe('SIGTERM');

    const spans = await receiver.waitForSpans((s) => s.filter((x) => x.name === 'segment-server.request').length === 2 && s.some((x) => x.name === 'fetcher.download'));
    const byName = (n: string): ReceivedSpan[] => spans.filter((s) => s.name === n);
    const [download] = byName('fetcher.download');
    expect(byName('fetcher.download')).toHaveLength(1);
    expect(download.service).toBe('fetcher');
    expect(download.parentSpanId).toBe('');
    const segments = byName('fetcher.segment');
    const requests = byName('fetcher.request');
    const served = byName('segment-server.request');
    expect(segments).toHaveLength(2);
    expect(requests).toHaveLength(2);
    for (const s of [...segments, ...requests, ...served]) expect(s.traceId).toBe(download.traceId);
    for (const s of segments) expect(s.parentSpanId).toBe(download.spanId);
    expect(requests.map((r) => segments.findIndex((s) => s.spanId === r.parentSpanId)).sort()).toEqual([0, 1]);
    expect(served.map((r) => requests.findIndex((q) => q.spanId === r.parentSpanId)).sort()).toEqual([0, 1]);
    for (const s of served) expect(s.service).toBe('segment-server');
    for (const r of requests) {
      expect(r.attributes['msd.server.address']).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(r.attributes['msd.bytes']).toBe(65536);
      expect(r.attributes['msd.range.length']).toBe(65536);
      expect(r.attributes['msd.outcome']).toBe('ok');
    }
    expect(segments.map((s) => s.attributes['msd.segment']).sort()).toEqual([0, 1]);
    // Traces only: no OTLP metrics or logs are sent by the SDK.
    expect(receiver.requests.filter((r) => !r.startsWith('POST /v1/traces '))).toEqual([]);
  });

  it('is off, loads no SDK and sends no traceparent when OTEL_* are unset', async () => {
    const { fetcher, server, serverExit } = await runPair(envWithoutOtel());
    expect(fetcher.output()).toContain('TRACING off sdk-loaded=no');
    expect(server.output()).toContain('TRACING off sdk-loaded=no');
    expect(server.output()).toContain('REQUEST traceparent=-');
    expect(serverExit.signal).toBe('SIGTERM');
  });

  it('exports nothing when OTEL_TRACES_EXPORTER=none, even with an endpoint', async () => {
    const { fetcher } = await runPair(otelEnv(receiver.endpoint, { OTEL_TRACES_EXPORTER: 'none' }));
    expect(fetcher.output()).toContain('TRACING off sdk-loaded=no');
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests).toEqual([]);
  });
});
