/**
 * What the first bytes from a peer that is not a segment server look like, for an error message
 * that names the mistake (wrong port, TLS on one side only). Pure.
 */
export type PeerKind = 'tls' | 'http' | 'ssh' | 'text' | 'binary';

export function sniffPeer(b: Buffer): { kind: PeerKind; description: string } {
  // a TLS record: handshake (0x16) or alert (0x15), major version 3
  if (b.length >= 2 && (b[0] === 0x16 || b[0] === 0x15) && b[1] === 0x03) return { kind: 'tls', description: 'a TLS server' };
  const text = b.subarray(0, 64).toString('latin1');
  if (text.startsWith('HTTP/')) return { kind: 'http', description: `an HTTP server ("${firstLine(text)}")` };
  if (text.startsWith('SSH-')) return { kind: 'ssh', description: `an SSH server ("${firstLine(text)}")` };
  if (b.length > 0 && /^[\x20-\x7e\r\n\t]+$/.test(text)) return { kind: 'text', description: `a server that says "${firstLine(text)}"` };
  return { kind: 'binary', description: `a peer that sent ${b.length} byte(s) starting ${b.subarray(0, 8).toString('hex')}` };
}

function firstLine(s: string): string {
  return s.split(/\r?\n/)[0].slice(0, 40);
}

/**
 * Sent when a peer stays silent past the greeting timeout: a segment server greets first, but TLS
 * and HTTP servers wait for the client. This is a minimal TLS ClientHello (one cipher suite, no
 * extensions): a TLS server answers it with an alert or a ServerHello, an HTTP server with
 * "400 Bad Request"; either names itself. The connection is abandoned anyway.
 */
export const SILENT_PEER_PROBE = ((): Buffer => {
  const hello = Buffer.concat([
    Buffer.from([0x03, 0x03]), // client_version TLS 1.2
    Buffer.alloc(32, 0x5a), // random
    Buffer.from([0x00]), // no session id
    Buffer.from([0x00, 0x02, 0x13, 0x01]), // one cipher suite
    Buffer.from([0x01, 0x00]), // null compression
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01, 0x00, (hello.length >> 8) & 0xff, hello.length & 0xff]), hello]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01, (handshake.length >> 8) & 0xff, handshake.length & 0xff]), handshake]);
})();
