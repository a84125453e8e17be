/**
 * TLS on the data port with a real PKI made by openssl: the fetcher downloads when it trusts the
 * server's CA and refuses a server it cannot verify (wrong CA, system CAs, wrong name) with exit 2
 * and a TLS message; plain-to-TLS and TLS-to-plain fail cleanly and leave the server alive; with
 * mutual TLS the server refuses clients without a certificate or with one from another CA.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ControlClient, RequestType, SEGMENT_SERVER_CONTROL, Status } from '@msd/common';
import { makeTestPki, TestPki } from '../helpers/certs';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files';
import { Finished, freePorts, killAll, runFetcher } from '../helpers/processes';
import { ObservedServer, startObservedServer } from '../helpers/observed-server';
import { RawConnection } from '../helpers/raw-protocol-client';

let dir: string;
let src: string;
let pki: TestPki;
let plain: ObservedServer;
let tlsServer: ObservedServer;
let mtls: ObservedServer;
let outputs = 0;

const FAIL_FAST = ['--connect-timeout', '3', '--give-up-after', '4'];

async function fetchFrom(s: ObservedServer, extra: string[]): Promise<Finished & { out: string }> {
  const out = path.join(dir, `out-${++outputs}.bin`);
  const r = await runFetcher(['-p', String(s.ports[0]), '-o', out, ...FAIL_FAST, ...extra], { timeoutMs: 60_000 });
  return { ...r, out };
}

/** The server still answers a proper client (plain or TLS) after whatever the test did. */
async function stillServes(s: ObservedServer, tlsOptions?: { ca: string; cert?: string; key?: string }): Promise<void> {
  const c = await RawConnection.open({
    port: s.ports[0],
    tls: tlsOptions && { ca: fs.readFileSync(tlsOptions.ca), cert: tlsOptions.cert && fs.readFileSync(tlsOptions.cert), key: tlsOptions.key && fs.readFileSync(tlsOptions.key) },
  });
  await c.handshake();
  c.request({ type: RequestType.INFO, id: 1, a: 0, b: 0, name: '' });
  const [f] = await c.frames(1);
  c.destroy();
  expect(f.header.status).toBe(Status.OK);
  expect(s.child.exitCode).toBeNull();
  expect(await s.health()).toBe('SERVING');
}

beforeAll(async () => {
  dir = tempDir('msd-tls-');
  src = randomFile(path.join(dir, 'src.bin'), 5 << 20);
  pki = makeTestPki(dir);
  const ports = await freePorts(3);
  const common = ['-f', src, '--piece-size', '256KiB', '--handshake-timeout', '2'];
  [plain, tlsServer, mtls] = await Promise.all([
    startObservedServer([...common, '--port', String(ports[0])]),
    startObservedServer([...common, '--port', String(ports[1]), '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey]),
    startObservedServer([...common, '--port', String(ports[2]), '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-client-ca', pki.caCert]),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([plain?.stop(), tlsServer?.stop(), mtls?.stop()]);
  killAll();
  removeDir(dir);
});

describe('TLS on the data port', () => {
  it('downloads exactly when the fetcher trusts the server CA', async () => {
    const r = await fetchFrom(tlsServer, ['--tls-ca', pki.caCert]);
    expect(r.code).toBe(0);
    expect(sha256File(r.out)).toBe(sha256File(src));
  }, 60_000);

  it.each([
    ['a CA that did not sign the server certificate', () => ['--tls-ca', pki.otherCaCert]],
    ['the system CAs (the test CA is not among them)', () => ['--tls']],
    ['a name the certificate does not carry', () => ['--tls-ca', pki.caCert, '--tls-servername', 'evil.example']],
  ])('refuses the server with %s: exit 2 and a TLS message', async (_label, extra) => {
    const r = await fetchFrom(tlsServer, extra());
    expect({ code: r.code, tlsMessage: /TLS/.test(r.stderr) }).toEqual({ code: 2, tlsMessage: true });
    expect(r.stderr).toMatch(/--tls-ca/);
  }, 60_000);

  it('a plain fetcher against the TLS server fails cleanly; the server lives', async () => {
    const started = Date.now();
    const r = await fetchFrom(tlsServer, []);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull(); // exited by itself, not killed by the timeout
    expect(Date.now() - started).toBeLessThan(30_000);
    await stillServes(tlsServer, { ca: pki.caCert });
  }, 60_000);

  it('a plain client speaking the protocol to the TLS server is closed by the handshake timeout', async () => {
    const c = await RawConnection.open({ port: tlsServer.ports[0] });
    c.send(Buffer.from('MSDC\x01\x00\x00\x00', 'latin1'));
    expect(await c.closedWithin(6000)).toBe(true);
    expect(c.parsed().greeting).toBeUndefined(); // no protocol bytes leave a TLS port in clear
    await stillServes(tlsServer, { ca: pki.caCert });
  });

  it('a TLS fetcher against the plain server fails with exit 2 and a TLS message; the server lives', async () => {
    const r = await fetchFrom(plain, ['--tls-ca', pki.caCert]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TLS/);
    await stillServes(plain);
  }, 60_000);
});

describe('mutual TLS', () => {
  it('refuses a client without a certificate', async () => {
    const before = await mtls.metric('msd_server_refused_connections_total', { reason: 'tls' });
    const r = await fetchFrom(mtls, ['--tls-ca', pki.caCert]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(/TLS|certificate/i);
    expect(await mtls.metric('msd_server_refused_connections_total', { reason: 'tls' })).toBeGreaterThan(before);
  }, 60_000);

  it('refuses a client certificate from another CA, saying why', async () => {
    const before = await mtls.metric('msd_server_refused_connections_total', { reason: 'tls' });
    const r = await fetchFrom(mtls, ['--tls-ca', pki.caCert, '--tls-cert', pki.otherClientCert, '--tls-key', pki.otherClientKey]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(fs.existsSync(r.out)).toBe(false);
    expect(await mtls.metric('msd_server_refused_connections_total', { reason: 'tls' })).toBeGreaterThan(before);
    // Node's TLS server drops such a client without an alert, right after the handshake: the
    // fetcher must still point at the certificate, not at the address ("no server reachable")
    expect(r.stderr).toMatch(/certificate/i);
  }, 60_000);

  it('downloads exactly with the right client certificate', async () => {
    const r = await fetchFrom(mtls, ['--tls-ca', pki.caCert, '--tls-cert', pki.clientCert, '--tls-key', pki.clientKey]);
    expect(r.code).toBe(0);
    expect(sha256File(r.out)).toBe(sha256File(src));
    await stillServes(mtls, { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey });
  }, 60_000);

  it('a raw TLS client without a certificate gets no greeting', async () => {
    // With TLS 1.3 the client's handshake "completes" before the server checks its certificate, so
    // the refusal shows as a close; an earlier refusal would fail the handshake itself. Either way
    // no byte of the protocol may arrive.
    const opened = await RawConnection.open({ port: mtls.ports[0], tls: { ca: fs.readFileSync(pki.caCert) } }).then((c) => c, (err: Error) => err);
    const outcome = opened instanceof Error
      ? 'handshake refused'
      : (await opened.closedWithin(5000)) && opened.receivedBytes === 0 ? 'closed without a byte' : `open, ${opened.receivedBytes} bytes received`;
    expect(['handshake refused', 'closed without a byte']).toContain(outcome);
  });
});

describe('TLS on the gRPC port (--grpc-tls)', () => {
  it('answers health over TLS with the same certificate and client CA, and not in clear', async () => {
    const [port] = await freePorts(1);
    const tlsArgs = ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-client-ca', pki.caCert, '--grpc-tls'];
    const ca = fs.readFileSync(pki.caCert);
    const withCert = { ca, cert: fs.readFileSync(pki.clientCert), key: fs.readFileSync(pki.clientKey) };
    const s = await startObservedServer(['-f', src, '--port', String(port), ...tlsArgs], { grpcTls: withCert });
    try {
      expect(await s.health()).toBe('SERVING');
      const plainClient = new ControlClient(`127.0.0.1:${s.grpcPort}`, SEGMENT_SERVER_CONTROL, { timeoutMs: 2000 });
      const noCert = new ControlClient(`127.0.0.1:${s.grpcPort}`, SEGMENT_SERVER_CONTROL, { timeoutMs: 2000, tls: { ca } });
      const otherCa = new ControlClient(`127.0.0.1:${s.grpcPort}`, SEGMENT_SERVER_CONTROL, { timeoutMs: 2000, tls: { ...withCert, ca: fs.readFileSync(pki.otherCaCert) } });
      try {
        await expect(plainClient.check('')).rejects.toThrow();
        await expect(noCert.check('')).rejects.toThrow();
        await expect(otherCa.check('')).rejects.toThrow();
      } finally {
        plainClient.close();
        noCert.close();
        otherCa.close();
      }
      expect(s.child.exitCode).toBeNull();
    } finally {
      await s.stop();
    }
  }, 60_000);
});
