/** Human-written sizes and human-readable output. */
import { formatBytes, formatDuration, formatRate, parseSize } from './units';

describe('parseSize', () => {
  it.each([
    ['0', 0], ['1048576', 1048576], ['512k', 512 * 1024], ['512KiB', 512 * 1024], ['512kb', 512000], ['4MiB', 4 * 1024 ** 2],
    ['4m', 4 * 1024 ** 2], ['10MB', 10_000_000], ['1GiB', 1024 ** 3], ['1G', 1024 ** 3], ['2TiB', 2 * 1024 ** 4], ['1.5KiB', 1536],
    [' 4 MiB ', 4 * 1024 ** 2], ['7b', 7], ['7B', 7], ['8TB', 8e12],
  ])('%s = %d', (text, want) => {
    expect(parseSize(text)).toBe(want);
  });

  it.each(['', ' ', '-1', '1e6', 'MiB', '4 MiBs', '4XB', '0x10', '1,000', 'NaN', '4 M i B', '99999999999 TiB'])('rejects %j', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });

  it('accepts safe non-negative integers as numbers only', () => {
    expect(parseSize(123)).toBe(123);
    expect(parseSize(0)).toBe(0);
    expect(parseSize(-1)).toBeUndefined();
    expect(parseSize(1.5)).toBeUndefined();
    expect(parseSize(2 ** 53)).toBeUndefined();
    expect(parseSize(Number.NaN)).toBeUndefined();
  });
});

describe('formatting', () => {
  it.each([[0, '0 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [1536, '1.5 KiB'], [1024 ** 2 * 150, '150 MiB'], [1024 ** 3, '1.0 GiB'], [5 * 1024 ** 4, '5.0 TiB'], [3000 * 1024 ** 4, '3000 TiB']])('formatBytes(%d) = %s', (n, s) => {
    expect(formatBytes(n)).toBe(s);
  });
  it('formatRate is decimal MB/s', () => {
    expect(formatRate(1_234_567)).toBe('1.2 MB/s');
    expect(formatRate(0)).toBe('0.0 MB/s');
  });
  it.each([[0, '00:00'], [59.4, '00:59'], [61, '01:01'], [3600, '1:00:00'], [3725, '1:02:05'], [-1, '--:--'], [Infinity, '--:--'], [Number.NaN, '--:--']])('formatDuration(%d) = %s', (s, want) => {
    expect(formatDuration(s)).toBe(want);
  });
});
