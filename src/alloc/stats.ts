/**
 * Accounting: what the SDK handed out (exact, per node and per tier) next to
 * what the nodes hold (meminfo), for the API and the `s_*` printers. (The
 * CLI's machine view, which needs no addon, is src/topology/usage.ts; it
 * calls MemTotal − MemFree `inUse`, never `used`.)
 *
 * `used` is the sum of the sizes of live SDK allocations, charged to the
 * nodes of their placement at allocation time (an interleaved buffer is
 * charged to its nodes in proportion to the policy's weights). `total` and
 * `available` are the nodes' MemTotal and MemFree, re-read on every call.
 */
import { native } from './native';
import type { Tier } from './options';
import { topology } from '../topology/current';
import { readNodeMemory } from '../topology';

/** Per-node figures, bytes. */
export interface NodeStats {
  /** Node id. */
  id: number;
  /** Tier the SDK assigns the node to. */
  type: Tier;
  /** MemTotal of the node. */
  total: number;
  /** MemFree of the node now. */
  available: number;
  /** Live bytes the SDK handed out on this node. */
  used: number;
}

/** Per-tier figures, bytes. */
export interface TierStats {
  /** Node ids in the tier. */
  nodes: number[];
  /** Sum of MemTotal. */
  total: number;
  /** Sum of MemFree. */
  available: number;
  /** Live bytes the SDK handed out in this tier. */
  used: number;
}

/** Everything {@link stats} returns. */
export interface Stats {
  /** One entry per memory node, by id. */
  nodes: NodeStats[];
  /** NORMAL and EXMEM totals. */
  tiers: Record<Tier, TierStats>;
  /** Allocator internals. */
  sdk: {
    /** Live allocations. */
    liveAllocations: number;
    /** Bytes mapped for small-allocation arenas (retained for reuse). */
    arenaBytes: number;
    /** Bytes mapped for live large allocations. */
    largeBytes: number;
    /** Bytes of freed mappings kept for reuse ({@link trim} returns them; unused ones decay after ~10 s). */
    cachedBytes: number;
    /**
     * Bytes freed by JS that are not reusable yet: a freed block waits until its finalizer ran (at least one
     * event-loop turn), or until later frees pushed it out of its bounded FIFO (16 MiB of small blocks, 64 MiB of large ones), so a native write still in flight into
     * it cannot land in a new owner's buffer.
     */
    quarantinedBytes: number;
    /** Freed buffers whose JS finalizer has not run yet (their memory is already released). */
    pendingFinalizers: number;
  };
}

/**
 * Numbers, not text: per node, per tier and allocator counters.
 *
 * @example
 * ```ts
 * const s = stats();
 * console.log(s.tiers.EXMEM.used, s.nodes.find((n) => n.id === 1)?.available);
 * ```
 */
export function stats(): Stats {
  const t = topology();
  const ns = native().stats();
  const nodes: NodeStats[] = t.nodes.map((n) => {
    const mem = readNodeMemory(n.id, t.sysRoot);
    return { id: n.id, type: n.type, total: mem.total, available: mem.free, used: ns.used[n.id] ?? 0 };
  });
  const tier = (type: Tier): TierStats => {
    const list = nodes.filter((n) => n.type === type);
    return {
      nodes: list.map((n) => n.id),
      total: list.reduce((a, n) => a + n.total, 0),
      available: list.reduce((a, n) => a + n.available, 0),
      used: list.reduce((a, n) => a + n.used, 0),
    };
  };
  return {
    nodes,
    tiers: { NORMAL: tier('NORMAL'), EXMEM: tier('EXMEM') },
    sdk: {
      liveAllocations: ns.liveCount,
      arenaBytes: ns.arenaBytes,
      largeBytes: ns.largeBytes,
      cachedBytes: ns.cachedBytes,
      quarantinedBytes: ns.quarantinedBytes,
      pendingFinalizers: ns.pendingFinalizers,
    },
  };
}

/** Live bytes the SDK handed out in a tier (cheap: counters only, no sysfs read). @internal */
export function usedInTier(type: Tier): number {
  const used = native().stats().used;
  return topology()
    .nodes.filter((n) => n.type === type)
    .reduce((a, n) => a + (used[n.id] ?? 0), 0);
}

/**
 * Return cached memory to the kernel (freed large mappings kept for reuse).
 * Returns the number of bytes unmapped.
 */
export function trim(): number {
  return native().trim();
}
