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
 * Sent when a peer stays silent past the greeting timeout: a segment server greets first, but an
 * HTTP or TLS server waits for the client, and answers this. The connection is abandoned anyway.
 */
export const SILENT_PEER_PROBE = Buffer.from('HEAD / HTTP/1.0\r\n\r\n', 'latin1');
