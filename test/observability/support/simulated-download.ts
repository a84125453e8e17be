import type { MetricsPusher } from '../../../services/common/src/observability';
import type { ServerMetrics } from '../../../services/segment-server/src/metrics';
import type { FetcherMetrics } from '../../../services/fetcher/src/metrics';

/**
 * Drives the metric classes as the data path would during a download from `servers` servers
 * over `seconds`: per-write byte counts, per-request durations, a steal, a retry, one digest
 * failure, progress and ETA, then the final outcome pushed to the Pushgateway.
 */
export async function simulateDownload(server: ServerMetrics, fetcher: FetcherMetrics, pusher: MetricsPusher, servers: number, seconds: number): Promise<void> {
  const chunk = 512 * 1024;
  const ticks = Math.round(seconds * 10);
  const total = ticks * servers * 4 * chunk;
  let done = 0;
  fetcher.setState('downloading');
  for (let id = 0; id < servers; id++) {
    server.registerServer(id);
    server.setFile(id, total, total / (1 << 20));
    server.setIndexed(id, true);
    server.connectionOpened(id);
    fetcher.registerServer(id, id);
    fetcher.connections(id, 1);
  }
  for (let t = 0; t < ticks; t++) {
    for (let id = 0; id < servers; id++) {
      // the last server is slow; server 0 steals part of its segment half-way through
      const segment = id === 0 && t > ticks / 2 && t % 2 === 0 ? servers - 1 : id;
      for (let w = 0; w < 4; w++) {
        server.bytesSent(id, '', chunk);
        fetcher.bytesReceived(id, segment, chunk);
      }
      done += 4 * chunk;
      server.request(id, 'get', 'ok', 0.01 + id * 0.005);
      fetcher.pieceVerified(id);
    }
    if (t === 1) server.request(0, 'info', 'ok', 0.0004);
    if (t === Math.floor(ticks / 2)) {
      fetcher.reassignment('steal');
      fetcher.retry(servers - 1, 'timeout');
      fetcher.pieceFailed(3, 'digest');
    }
    const elapsed = (t + 1) / 10;
    fetcher.setProgress(done, total, ((total - done) / done) * elapsed);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let id = 0; id < servers; id++) {
    server.connectionClosed(id);
    fetcher.connections(id, -1);
  }
  fetcher.setProgress(total, total, 0);
  fetcher.setState('done');
  fetcher.success();
  await pusher.finish(true);
}
