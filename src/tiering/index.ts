/**
 * Object-level tiering: {@link TieredPool} keeps the hottest keyed buffers
 * on DRAM within a byte budget and the rest on CXL memory.
 *
 * @example
 * ```ts
 * import { TieredPool } from 'hmsdk';
 * using pool = new TieredPool({ dramBudget: 64 << 20, fallback: 'normal' });
 * pool.set('k', 1 << 20);
 * pool.get('k');
 * ```
 */
export {
  TieredPool,
  type MoveEvent,
  type MoveFailedEvent,
  type PartialMoveEvent,
  type PoolResidency,
  type PoolTier,
  type RebalanceResult,
  type TieredPoolEvents,
  type TieredPoolStats,
} from './pool';
export { TieredCache, type CacheSetOptions, type DisposeReason, type TieredCacheOptions } from './cache';
export { DEFAULT_INTERVAL_MS, DEFAULT_MAX_BYTES_PER_TICK, type TieredPoolOptions } from './options';
