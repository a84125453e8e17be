/**
 * What a kubelet and standard gRPC tools see: Debian's python3-grpcio (C core)
 * runs grpc.health.v1 Check and server reflection against the control listeners,
 * and decodes the fetcher's progress from the descriptors reflection serves.
 */
import { FETCHER_CONTROL, HEALTH_SERVICE, SEGMENT_SERVER_CONTROL } from '@msd/common';
import { startFetcherControl, type FetcherControl } from '../../services/fetcher/src/control-service';
import { startSegmentServerControl, type SegmentServerControl } from '../../services/segment-server/src/control-service';
import { FakeFetcher, FakeSegmentServer } from './support/fake-targets';
import { PythonGrpcProbe } from './support/python-probe';

describe('independent gRPC client (python3-grpcio)', () => {
  let probe: PythonGrpcProbe;
  let server: SegmentServerControl;
  let fetcher: FetcherControl;
  const serverTarget = new FakeSegmentServer();
  const fetcherTarget = new FakeFetcher();

  beforeAll(async () => {
    probe = PythonGrpcProbe.create();
    server = await startSegmentServerControl({ bind: '127.0.0.1', port: 0, token: 't', target: serverTarget });
    fetcher = await startFetcherControl({ bind: '127.0.0.1', port: 0, target: fetcherTarget });
  });

  afterAll(async () => {
    await Promise.all([server.close(500), fetcher.close(500)]);
    probe.dispose();
  });

  it('gets NOT_SERVING while the server indexes and SERVING once it can serve, as a kubelet grpc probe would', async () => {
    const address = `127.0.0.1:${server.port}`;
    expect(await probe.check(address, '')).toEqual({ status: 'NOT_SERVING' });
    serverTarget.indexed = true;
    server.refreshHealth();
    expect(await probe.check(address, '')).toEqual({ status: 'SERVING' });
    expect(await probe.check(address, SEGMENT_SERVER_CONTROL.service)).toEqual({ status: 'SERVING' });
    expect(await probe.check(address, 'unknown.Service')).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('gets SERVING from a downloading fetcher', async () => {
    fetcherTarget.set('DOWNLOADING', 1);
    await new Promise((r) => setTimeout(r, 250));
    expect(await probe.check(`127.0.0.1:${fetcher.port}`, '')).toEqual({ status: 'SERVING' });
  });

  it('lists the services by reflection and describes the control methods', async () => {
    const s = await probe.reflect(`127.0.0.1:${server.port}`, [SEGMENT_SERVER_CONTROL.service, HEALTH_SERVICE]);
    expect(s.services).toEqual(expect.arrayContaining([SEGMENT_SERVER_CONTROL.service, HEALTH_SERVICE]));
    expect(s.services).not.toContain(FETCHER_CONTROL.service);
    expect(s.methods[SEGMENT_SERVER_CONTROL.service]).toEqual(['GetStatus', 'Drain', 'SetRateLimit', 'ListFiles']);
    expect(s.methods[HEALTH_SERVICE]).toEqual(expect.arrayContaining(['Check', 'Watch']));

    const f = await probe.reflect(`127.0.0.1:${fetcher.port}`, [FETCHER_CONTROL.service]);
    expect(f.services).toEqual(expect.arrayContaining([FETCHER_CONTROL.service, HEALTH_SERVICE]));
    expect(f.methods[FETCHER_CONTROL.service]).toEqual(['GetProgress', 'WatchProgress', 'Pause', 'Resume', 'Cancel']);
  });

  it('decodes the set of a directory download with its own protobuf (descriptors by reflection); a single file has no set on the wire', async () => {
    const address = `127.0.0.1:${fetcher.port}`;
    expect(await probe.progress(address, FETCHER_CONTROL.service)).toEqual({ has_set: false, file: 'data.bin', size: 8 << 20, set: null });

    fetcherTarget.setProgress = {
      files: 70000,
      filesComplete: 69999,
      inFlight: [{ name: 'données/日本/ファイル.bin', size: 5 * 2 ** 32 + 7, bytesDone: 2 ** 32 + 1 }],
    };
    try {
      expect(await probe.progress(address, FETCHER_CONTROL.service)).toEqual({
        has_set: true,
        file: '',
        size: 8 << 20,
        set: { files: 70000, files_complete: 69999, in_flight: [{ name: 'données/日本/ファイル.bin', size: 5 * 2 ** 32 + 7, bytes_done: 2 ** 32 + 1 }] },
      });
      fetcherTarget.setProgress = { files: 0, filesComplete: 0, inFlight: [] };
      expect(await probe.progress(address, FETCHER_CONTROL.service)).toMatchObject({ has_set: true, set: { files: 0, files_complete: 0, in_flight: [] } });
    } finally {
      fetcherTarget.setProgress = undefined;
    }
  });
});
