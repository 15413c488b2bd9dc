// The one byte formatter (src/util/bytes.ts): CLI tables, messages, SMDK prints.
import { describe, expect, it } from 'vitest';
import { formatBytes, formatBytesIn } from '../src/util/bytes';

describe('formatBytes', () => {
  it('binary units, 3 significant digits, trailing zeros dropped', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(16 * 2 ** 20)).toBe('16 MiB');
    expect(formatBytes(960 * 2 ** 20)).toBe('960 MiB');
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5 GiB');
    expect(formatBytes(1.25 * 2 ** 30)).toBe('1.25 GiB');
    expect(formatBytes(15 * 2 ** 30 + 2 ** 29)).toBe('15.5 GiB');
    expect(formatBytes(-2 * 2 ** 20)).toBe('-2 MiB');
    expect(formatBytes(2 ** 60)).toBe('1024 PiB');
  });
  it('compact, like free -h', () => {
    expect(formatBytes(0, { compact: true })).toBe('0B');
    expect(formatBytes(15 * 2 ** 30, { compact: true })).toBe('15Gi');
    expect(formatBytes(1.5 * 2 ** 30, { compact: true })).toBe('1.5Gi');
    expect(formatBytes(960 * 2 ** 20, { compact: true })).toBe('960Mi');
  });
  it('not finite is a dash', () => {
    expect(formatBytes(Number.NaN)).toBe('-');
    expect(formatBytes(Number.POSITIVE_INFINITY, { compact: true })).toBe('-');
  });
  it('formatBytesIn: a fixed unit, SMDK columns', () => {
    expect(formatBytesIn(1536, 'B')).toBe('1536');
    expect(formatBytesIn(1536, 'K')).toBe('1.5');
    expect(formatBytesIn(3 * 2 ** 20, 'M')).toBe('3.0');
    expect(formatBytesIn(2 ** 29, 'G')).toBe('0.50');
  });
});
