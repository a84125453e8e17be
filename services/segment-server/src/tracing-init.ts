/**
 * Side-effect module: bin/segment-server.js requires it before anything else. Starts OpenTelemetry
 * tracing when the standard OTEL_* variables ask for it (see docs/metrics.md); otherwise does
 * nothing and the SDK is never loaded.
 */
import { initTracing } from '@msd/common';

initTracing('segment-server');
