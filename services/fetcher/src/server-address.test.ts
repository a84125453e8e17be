/** Server addresses in both forms, with clear errors. */
import { parseAddress, resolveServers } from './server-address';

/** Matches the E_CONFIG MsdError a bad setting throws (an asymmetric matcher, typed as what toThrow takes). */
const configError = (message: RegExp): Error => expect.objectContaining({ name: 'MsdError', code: 'E_CONFIG', message: expect.stringMatching(message) });

describe('parseAddress', () => {
  it.each([
    ['127.0.0.1:4450', '127.0.0.1', 4450],
    ['seg-0.seg.ns.svc.cluster.local:4450', 'seg-0.seg.ns.svc.cluster.local', 4450],
    ['[::1]:1', '::1', 1],
    ['[fe80::1%eth0]:65535', 'fe80::1%eth0', 65535],
  ])('%s', (text, host, port) => {
    expect(parseAddress(text)).toEqual({ host, port, label: text });
  });

  it.each(['localhost', ':4450', 'host:', 'host:abc', '::1:4450', 'host:4450:1', 'a b:1', '[::1]', 'host:-1'])('rejects %j, naming the setting', (text) => {
    expect(() => parseAddress(text)).toThrow(configError(/servers \(--servers, MSD_SERVERS\).*host:port/));
  });

  it.each(['host:0', 'host:65536', 'host:99999'])('rejects port out of range in %j', (text) => {
    expect(() => parseAddress(text)).toThrow(configError(/not between 1 and 65535/));
  });
});

describe('resolveServers', () => {
  it('the original -a HOST -p P... form, in port order', () => {
    expect(resolveServers([], '10.0.0.5', [4450, 4451])).toEqual([
      { host: '10.0.0.5', port: 4450, label: '10.0.0.5:4450' },
      { host: '10.0.0.5', port: 4451, label: '10.0.0.5:4451' },
    ]);
  });

  it('brackets an IPv6 host in labels', () => {
    expect(resolveServers([], '::1', [1])[0].label).toBe('[::1]:1');
  });

  it('--servers first, then -p ones', () => {
    expect(resolveServers(['a:1', 'b:2'], '127.0.0.1', [3]).map((s) => s.label)).toEqual(['a:1', 'b:2', '127.0.0.1:3']);
  });

  it('refuses no servers and duplicates', () => {
    expect(() => resolveServers([], '127.0.0.1', [])).toThrow(configError(/no servers given.*-p PORT.*--servers/));
    expect(() => resolveServers(['127.0.0.1:5'], '127.0.0.1', [5])).toThrow(configError(/127\.0\.0\.1:5 is listed twice/));
    expect(() => resolveServers([], 'h', [5, 5])).toThrow(configError(/listed twice/));
  });
});
