/**
 * Options of {@link TieredPool} and their validation. As everywhere in
 * hmsdk, a bad argument is a `TypeError` (wrong type, unknown key) or a
 * `RangeError` (out of range) whose message names the option; nothing is
 * defaulted silently. The caller's object is read once into a snapshot by
 * the shared rules of ../util/validate.ts.
 */
import type { Tier } from '../alloc/options';
import { checkBoolean, checkInt, checkOneOf, checkTier, readOptions } from '../util/validate';

/** Default {@link TieredPoolOptions.intervalMs}. */
export const DEFAULT_INTERVAL_MS = 1000;
/** Default {@link TieredPoolOptions.maxBytesPerTick}: 32 MiB. */
export const DEFAULT_MAX_BYTES_PER_TICK = 32 * 2 ** 20;

/**
 * Options of `new TieredPool(options)`.
 *
 * @example
 * ```ts
 * // 64 MiB of DRAM for the hottest entries, the rest on CXL memory,
 * // rebalanced every 500 ms, at most 16 MiB moved per tick.
 * const opts: TieredPoolOptions = { dramBudget: 64 << 20, intervalMs: 500, maxBytesPerTick: 16 << 20 };
 * ```
 */
export interface TieredPoolOptions {
  /** Bytes of entries the pool keeps on the hot tier (integer ≥ 0). Required. */
  dramBudget: number;
  /** Fast tier. Default `'NORMAL'` (DRAM). */
  hotTier?: Tier;
  /**
   * Capacity tier. Default `'EXMEM'` (CXL). On a machine without EXMEM the
   * constructor throws `HmsdkError` `ENODEV` unless `coldTier: 'NORMAL'` or
   * `fallback: 'normal'` is given (the policy then runs, but pages stay on DRAM).
   */
  coldTier?: Tier;
  /** As for `allocate`: `'normal'` lets an EXMEM tier fall back to NORMAL when there is no EXMEM node. Default `'none'`. */
  fallback?: 'none' | 'normal';
  /**
   * Optional floor: a cold entry is promoted only with at least this many
   * accesses (get/touch) in the current rebalance window (integer ≥ 1). By
   * default there is none: the hottest entries by decayed access rate fill
   * the budget whatever their absolute rate.
   */
  promoteAfter?: number;
  /** Background rebalance period in ms (the timer is `unref`'d); `0` turns the timer off (call `rebalance()` yourself). Default 1000. */
  intervalMs?: number;
  /** Bound on the bytes one background tick moves (integer ≥ 1; one entry larger than this moves alone). Default 32 MiB. */
  maxBytesPerTick?: number;
  /** Fault entries' pages in at `set()` (as `allocate`'s `populate`). Default false. */
  populate?: boolean;
}

/** Validated options with defaults filled in. @internal */
export interface ResolvedPoolOptions {
  dramBudget: number;
  hotTier: Tier;
  coldTier: Tier;
  fallback: 'none' | 'normal';
  /** 0 = no floor. */
  promoteAfter: number;
  intervalMs: number;
  maxBytesPerTick: number;
  populate: boolean;
}

const KEYS = ['dramBudget', 'hotTier', 'coldTier', 'fallback', 'promoteAfter', 'intervalMs', 'maxBytesPerTick', 'populate'] as const;
const FALLBACKS = ['none', 'normal'] as const;
/** setInterval's largest delay. */
const MAX_INTERVAL_MS = 2 ** 31 - 1;

/** Validate a byte budget (an integer >= 0). @internal */
export function checkBudget(name: string, value: unknown): number {
  return checkInt(name, value, 0, Number.MAX_SAFE_INTEGER);
}

/** Validate the options of TieredPool. @internal */
export function checkPoolOptions(options: unknown): ResolvedPoolOptions {
  if (options === undefined) throw new TypeError('options must be an object with at least dramBudget, got undefined');
  const o = readOptions('options', options, KEYS, 'a TieredPool option');
  if (o.dramBudget === undefined) throw new TypeError('options.dramBudget is required (bytes of entries kept on the hot tier)');
  const optionalInt = (key: 'intervalMs' | 'maxBytesPerTick', min: number, max: number, dflt: number): number =>
    o[key] === undefined ? dflt : checkInt(`options.${key}`, o[key], min, max);
  return Object.freeze({
    dramBudget: checkBudget('options.dramBudget', o.dramBudget),
    hotTier: o.hotTier === undefined ? 'NORMAL' : checkTier('options.hotTier', o.hotTier),
    coldTier: o.coldTier === undefined ? 'EXMEM' : checkTier('options.coldTier', o.coldTier),
    fallback: o.fallback === undefined ? 'none' : checkOneOf('options.fallback', o.fallback, FALLBACKS),
    promoteAfter: o.promoteAfter === undefined ? 0 : checkInt('options.promoteAfter', o.promoteAfter, 1, Number.MAX_SAFE_INTEGER),
    intervalMs: optionalInt('intervalMs', 0, MAX_INTERVAL_MS, DEFAULT_INTERVAL_MS),
    maxBytesPerTick: optionalInt('maxBytesPerTick', 1, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_BYTES_PER_TICK),
    populate: o.populate === undefined ? false : checkBoolean('options.populate', o.populate),
  });
}
