/**
 * hmsdk: heterogeneous memory for Node.js. Place Buffers on DRAM (NORMAL)
 * or CXL / expander (EXMEM) NUMA nodes, account for them, free them safely.
 *
 * @example
 * ```ts
 * import { allocate, free, where, stats } from 'hmsdk';
 * const kv = allocate(256 << 20, { tier: 'EXMEM', populate: true });
 * console.log(where(kv).nodes, stats().tiers.EXMEM.used);
 * free(kv);
 * ```
 * @packageDocumentation
 */
export { HmsdkError, type HmsdkErrorCode } from './errors';
export {
  type AllocateOptions,
  type Policy,
  type Tier,
  MAX_SIZE,
  SMDK_MEM_EXMEM,
  SMDK_MEM_NORMAL,
} from './alloc/options';
export { allocate, allocateTyped, free, where, type PageLocation, type PlacedBuffer, type TypedArrayConstructor } from './alloc/buffers';
export { Arena, createArena } from './alloc/arena';
export * from './tiering';
export { migrate, type MigrateOptions, type MigrateResult } from './alloc/migrate';
export { placementOf, type PlacementInfo } from './alloc/placement';
export { stats, trim, type NodeStats, type Stats, type TierStats } from './alloc/stats';
export {
  s_calloc,
  s_disable_node_interleave,
  s_enable_node_interleave,
  s_free,
  s_free_node,
  s_get_memsize_available,
  s_get_memsize_node_available,
  s_get_memsize_node_total,
  s_get_memsize_total,
  s_get_memsize_used,
  s_malloc,
  s_malloc_node,
  s_posix_memalign,
  s_realloc,
  s_stats_node_print,
  s_stats_print,
} from './alloc/smdk';
export { readTopology } from './topology/public';
export type { ReadTopologyOptions } from './topology';
export type { MemType, NodePerf, NumaNode, Topology, WeightedInterleaveInfo } from './topology/types';
export * from './store';
