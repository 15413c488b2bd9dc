/**
 * Options of {@link TieredPool} and their validation. As everywhere in
 * hmsdk, a bad argument is a `TypeError` (wrong type, unknown key) or a
 * `RangeError` (out of range) whose message names the option; nothing is
 * defaulted silently.
 */
import { checkTier, type Tier } from '../options';

/** Default {@link TieredPoolOptions.promoteAfter}. */
export const DEFAULT_PROMOTE_AFTER = 4;
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
  /** Accesses (get/touch) within one rebalance window that make a cold entry a promotion candidate (integer ≥ 1). Default 4. */
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
  promoteAfter: number;
  intervalMs: number;
  maxBytesPerTick: number;
  populate: boolean;
}

const KEYS = new Set(['dramBudget', 'hotTier', 'coldTier', 'fallback', 'promoteAfter', 'intervalMs', 'maxBytesPerTick', 'populate']);

/** Validate a byte budget. @internal */
export function checkBudget(v: unknown, name: string): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number of bytes, got ${typeof v}`);
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be an integer >= 0 (bytes), got ${v}`);
  return v;
}

function intAtLeast(o: Record<string, unknown>, key: string, min: number, dflt: number): number {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new TypeError(`options.${key} must be a number, got ${typeof v}`);
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`options.${key} must be an integer >= ${min}, got ${v}`);
  return v;
}

function checkInterval(ms: number): number {
  if (ms > 2 ** 31 - 1) throw new RangeError(`options.intervalMs must be at most ${2 ** 31 - 1} (setInterval's limit), got ${ms}`);
  return ms;
}

/** Validate the options of TieredPool. @internal */
export function checkPoolOptions(opts: unknown): ResolvedPoolOptions {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`options must be an object with at least dramBudget, got ${opts === null ? 'null' : typeof opts}`);
  }
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new TypeError(`options.${k} is not a TieredPool option (known: ${[...KEYS].join(', ')})`);
  if (o.dramBudget === undefined) throw new TypeError('options.dramBudget is required (bytes of entries kept on the hot tier)');
  const dramBudget = checkBudget(o.dramBudget, 'options.dramBudget');
  const hotTier = o.hotTier === undefined ? 'NORMAL' : checkTier(o.hotTier, 'options.hotTier');
  const coldTier = o.coldTier === undefined ? 'EXMEM' : checkTier(o.coldTier, 'options.coldTier');
  if (o.fallback !== undefined && o.fallback !== 'none' && o.fallback !== 'normal') {
    throw new TypeError(`options.fallback must be 'none' or 'normal', got ${JSON.stringify(o.fallback)}`);
  }
  if (o.populate !== undefined && typeof o.populate !== 'boolean') throw new TypeError('options.populate must be a boolean');
  return {
    dramBudget,
    hotTier,
    coldTier,
    fallback: (o.fallback as 'none' | 'normal' | undefined) ?? 'none',
    promoteAfter: intAtLeast(o, 'promoteAfter', 1, DEFAULT_PROMOTE_AFTER),
    intervalMs: checkInterval(intAtLeast(o, 'intervalMs', 0, DEFAULT_INTERVAL_MS)),
    maxBytesPerTick: intAtLeast(o, 'maxBytesPerTick', 1, DEFAULT_MAX_BYTES_PER_TICK),
    populate: (o.populate as boolean | undefined) ?? false,
  };
}
