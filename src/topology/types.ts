/**
 * Topology data model: what the sysfs reader ({@link readTopology}) returns.
 * All sizes are bytes, bandwidths MB/s (as HMAT/sysfs report them), latencies ns.
 */

/** Memory tier, SMDK terms: NORMAL = DRAM near the CPUs, EXMEM = expander (CXL) memory. The tier of a node and of an allocation. */
export type Tier = 'NORMAL' | 'EXMEM';

/**
 * Former name of {@link Tier} (the same union).
 * @deprecated Use {@link Tier}.
 */
export type MemType = Tier;

/** HMAT performance of one node as seen from its initiators (sysfs `accessN/initiators`). */
export interface NodePerf {
  /** Read bandwidth, MB/s. */
  readBandwidth: number | undefined;
  /** Write bandwidth, MB/s. */
  writeBandwidth: number | undefined;
  /** Read latency, ns. */
  readLatency: number | undefined;
  /** Write latency, ns. */
  writeLatency: number | undefined;
  /** Node ids of the initiators these figures are for. */
  initiators: number[];
}

/** One NUMA node. */
export interface NumaNode {
  /** Node id (ids are not assumed contiguous). */
  id: number;
  /** CPUs of the node (empty for CPU-less nodes). */
  cpus: number[];
  /** Listed in `has_cpu`. */
  hasCpu: boolean;
  /** Listed in `has_memory`. */
  hasMemory: boolean;
  /** Listed in `has_normal_memory` (CXL onlined as movable is absent). */
  hasNormalMemory: boolean;
  /** MemTotal from `nodeN/meminfo`, bytes. */
  memTotal: number;
  /** MemFree from `nodeN/meminfo`, bytes (at read time). */
  memFree: number;
  /** SLIT distance to each node id (`nodeN/distance`). */
  distances: Record<number, number>;
  /** HMAT figures from any initiator (`access0`), if the firmware gave them. */
  access0: NodePerf | undefined;
  /** HMAT figures from CPU initiators (`access1`), if given. */
  access1: NodePerf | undefined;
  /** Memory tier id (`memory_tiering/memory_tierN`), if the kernel has tiers. */
  tier: number | undefined;
  /** CXL evidence naming this node (dax `target_node`, regions...). */
  cxlEvidence: string[];
  /** NORMAL or EXMEM, see `typeReason`. */
  type: Tier;
  /** Why the node got its type (one short sentence). */
  typeReason: string;
}

/** Kernel weighted-interleave state (`/sys/kernel/mm/mempolicy/weighted_interleave`). */
export interface WeightedInterleaveInfo {
  /** The sysfs directory exists (kernel 6.9+). */
  available: boolean;
  /** Current per-node weights (node id -> 1..255). */
  weights: Record<number, number>;
  /** `auto` file value when present (6.16+): true = kernel derives weights. */
  auto: boolean | undefined;
}

/** Whole-machine topology. */
export interface Topology {
  /** sysfs root the data was read from ("/sys" on a live system). */
  sysRoot: string;
  /** `possible` node ids (size node masks from this). */
  possible: number[];
  /** `online` node ids. */
  online: number[];
  /** Online nodes with memory, sorted by id. */
  nodes: NumaNode[];
  /** Ids of NORMAL nodes. */
  normalNodes: number[];
  /** Ids of EXMEM nodes. */
  exmemNodes: number[];
  /** Memory tiers, lower id = faster (DRAM is usually 4). */
  tiers: {
    /** Tier id N of `memory_tiering/memory_tierN`. */
    id: number;
    /** Node ids in the tier (`nodelist`). */
    nodes: number[];
  }[];
  /** Weighted interleave support and weights. */
  weightedInterleave: WeightedInterleaveInfo;
  /** CXL devices seen under /sys/bus/cxl/devices (names), empty if none. */
  cxlDevices: string[];
  /** Where EXMEM classification came from. */
  exmemSource: 'env' | 'cxl' | 'cpuless' | 'none';
  /** Non-fatal findings (missing HMAT, override naming unknown node, ...). */
  warnings: string[];
}
