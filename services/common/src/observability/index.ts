/** Metrics (prom-client), Pushgateway pushes and OpenTelemetry tracing shared by both programs. */
export { BoundedLabel, OVERFLOW_LABEL_VALUE } from './bounded-label';
export { CellCounter, CellGauge, CellTable, MetricCell, serverCells, type ServerCellsConfig } from './metric-cells';
export { createMetricsRegistry } from './registry';
export { packageVersion, registerBuildInfo, type BuildInfo } from './build-info';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server';
export { MetricsPusher, pushToGateway, pushgatewayGroupUrl, type MetricsPusherOptions, type PushOptions } from './pushgateway';
export { initTracing, shutdownTracing, tracingEnabled, tracingRequested } from './tracing';
export { SPAN, SPAN_ATTR, currentTraceparent, endSpan, runInSpan, startSpan, withSpan } from './spans';
export { TRACEPARENT_LENGTH, contextFromTraceparent, parseTraceparent, traceparentOf } from './traceparent';
