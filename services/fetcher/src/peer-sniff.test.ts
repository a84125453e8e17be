/** What a peer that is not a segment server looks like, from its first bytes. */
import { sniffPeer } from './peer-sniff';

describe('sniffPeer', () => {
  it.each([
    [Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]), 'tls'],
    [Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5]), 'tls'],
    [Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'), 'http'],
    [Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), 'ssh'],
    [Buffer.from('220 mail.example ESMTP\r\n'), 'text'],
    [Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]), 'binary'],
  ] as const)('%s is %s', (bytes, kind) => {
    expect(sniffPeer(bytes).kind).toBe(kind);
  });

  it('quotes the first line of a text answer, shortened', () => {
    expect(sniffPeer(Buffer.from('HTTP/1.1 400 Bad Request\r\n')).description).toBe('an HTTP server ("HTTP/1.1 400 Bad Request")');
    expect(sniffPeer(Buffer.from(`${'x'.repeat(100)}\n`)).description).toBe(`a server that says "${'x'.repeat(40)}"`);
  });
});
