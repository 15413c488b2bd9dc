/**
 * The one byte formatter of the SDK (pure: messages of the allocator and
 * the policy engine, the CLI's tables, the SMDK-style prints all use it).
 * Binary units (powers of 1024).
 * @internal
 */

const PREFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];

/** Style of {@link formatBytes}. @internal */
export interface FormatBytesOptions {
  /** `1.5Gi` (CLI tables, like `free -h`) instead of `1.5 GiB` (messages). */
  compact?: boolean;
}

/**
 * Bytes in the largest binary unit that keeps the number at least 1, to 3
 * significant digits, trailing zeros dropped: `1.5 GiB`, `960 MiB`,
 * `16 MiB`, `0 B`; compact: `1.5Gi`, `960Mi`, `0B`. Not finite: `-`.
 * @internal
 */
export function formatBytes(bytes: number, options: FormatBytesOptions = {}): string {
  if (!Number.isFinite(bytes)) return '-';
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 1024 && u < PREFIXES.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = u === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  // Drop zeros after the decimal point only (`1.50` -> `1.5`, `10.0` -> `10`, `100` stays).
  const n = `${bytes < 0 ? '-' : ''}${digits.includes('.') ? digits.replace(/\.?0+$/, '') : digits}`;
  const prefix = PREFIXES[u] as string;
  return options.compact ? `${n}${prefix || 'B'}` : `${n} ${prefix}B`;
}

/**
 * Bytes as a number in a fixed unit, `B`, `K`, `M` or `G` (SMDK's
 * `s_stats_print` columns): bytes as an integer, K and M to one decimal, G to two.
 * @internal
 */
export function formatBytesIn(bytes: number, unit: 'B' | 'K' | 'M' | 'G'): string {
  const div = { B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[unit];
  return unit === 'B' ? String(bytes) : (bytes / div).toFixed(unit === 'G' ? 2 : 1);
}
