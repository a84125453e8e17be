/**
 * A TCP proxy in front of one server that forwards both directions untouched and records the
 * first bytes of every connection each way: what an eavesdropper on the network path would
 * capture (e.g. to replay a client's handshake later).
 */
import * as net from 'node:net';

export interface RecordedConnection {
  /** First bytes the client sent (up to the proxy's keep limit). */
  up: Buffer;
  /** First bytes the server sent. */
  down: Buffer;
}

export interface RecordingProxy {
  port: number;
  connections: RecordedConnection[];
  close: () => Promise<void>;
}

export async function startRecordingProxy(targetPort: number, keep = 4096): Promise<RecordingProxy> {
  const connections: RecordedConnection[] = [];
  const sockets = new Set<net.Socket>();
  const append = (have: Buffer, d: Buffer): Buffer => (have.length >= keep ? have : Buffer.concat([have, d.subarray(0, keep - have.length)]));
  const server = net.createServer((client) => {
    const rec: RecordedConnection = { up: Buffer.alloc(0), down: Buffer.alloc(0) };
    connections.push(rec);
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.on('data', (d: Buffer) => { rec.up = append(rec.up, d); upstream.write(d); });
    upstream.on('data', (d: Buffer) => { rec.down = append(rec.down, d); client.write(d); });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
