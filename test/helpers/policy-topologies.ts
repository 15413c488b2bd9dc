/**
 * Hand-built Topology objects for the policy tests. Figures are chosen so
 * expected results can be derived by hand (see each test's comments).
 */
import type { NodePerf, NumaNode, Topology } from '../../src/topology/types';

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;

/** HMAT figure set with equal read/write bandwidth unless given. */
export function perf(bw: number, latency: number, initiators: number[], writeBw = bw, writeLatency = latency): NodePerf {
  return { readBandwidth: bw, writeBandwidth: writeBw, readLatency: latency, writeLatency, initiators };
}

/** A node with sane defaults: 64 GiB, 60 GiB free, no HMAT. */
export function node(id: number, over: Partial<NumaNode> = {}): NumaNode {
  const cpus = over.cpus ?? [];
  return {
    id,
    cpus,
    hasCpu: cpus.length > 0,
    hasMemory: true,
    hasNormalMemory: cpus.length > 0,
    memTotal: 64 * GiB,
    memFree: 60 * GiB,
    distances: { [id]: 10 },
    access0: undefined,
    access1: undefined,
    tier: undefined,
    cxlEvidence: [],
    type: cpus.length > 0 ? 'NORMAL' : 'EXMEM',
    typeReason: 'test fixture',
    ...over,
  };
}

/** A topology over `nodes`. */
export function topology(nodes: NumaNode[], over: Partial<Topology> = {}): Topology {
  const ids = nodes.map((n) => n.id);
  const tiers = new Map<number, number[]>();
  for (const n of nodes) if (n.tier !== undefined) tiers.set(n.tier, [...(tiers.get(n.tier) ?? []), n.id]);
  return {
    sysRoot: '/nonexistent-sys',
    possible: ids,
    online: ids,
    nodes,
    normalNodes: nodes.filter((n) => n.type === 'NORMAL').map((n) => n.id),
    exmemNodes: nodes.filter((n) => n.type === 'EXMEM').map((n) => n.id),
    tiers: [...tiers].sort((a, b) => a[0] - b[0]).map(([id, ns]) => ({ id, nodes: ns })),
    weightedInterleave: { available: true, weights: Object.fromEntries(ids.map((i) => [i, 1])), auto: false },
    cxlDevices: [],
    exmemSource: 'cpuless',
    warnings: [],
    ...over,
  };
}

/** DRAM node0 (204800 MB/s, 100 ns) + CXL node1 (65536 MB/s, 250 ns), HMAT from initiator 0. */
export function dramPlusCxl(over: { dram?: Partial<NumaNode>; cxl?: Partial<NumaNode> } = {}): Topology {
  return topology([
    node(0, {
      cpus: [0, 1],
      access0: perf(204800, 100, [0]),
      access1: perf(204800, 100, [0]),
      tier: 4,
      distances: { 0: 10, 1: 20 },
      ...over.dram,
    }),
    node(1, {
      access0: perf(65536, 250, [0]),
      access1: perf(65536, 250, [0]),
      tier: 22,
      distances: { 0: 20, 1: 10 },
      ...over.cxl,
    }),
  ]);
}

/** DRAM 204800 + CXL 65536 + CXL 32768 MB/s (the second CXL slower and further). */
export function dramPlusTwoCxl(): Topology {
  return topology([
    node(0, { cpus: [0, 1], access1: perf(204800, 100, [0]), tier: 4, distances: { 0: 10, 1: 20, 2: 25 } }),
    node(1, { access1: perf(65536, 250, [0]), tier: 22, distances: { 0: 20, 1: 10, 2: 25 } }),
    node(2, { access1: perf(32768, 400, [0]), tier: 22, distances: { 0: 25, 1: 25, 2: 10 } }),
  ]);
}

/**
 * Two sockets: DRAM node0 (CPUs 0-1) and DRAM node1 (CPUs 2-3), 204800 MB/s
 * each from their own socket; CXL node2 (65536 MB/s) attached to socket 0.
 * HMAT access1 lists only the best initiator per target (as sysfs does).
 * SLIT: d(0,1) = 21, d(0,2) = 20, d(1,2) = 30.
 */
export function twoSockets(): Topology {
  return topology([
    node(0, { cpus: [0, 1], access1: perf(204800, 100, [0]), tier: 4, distances: { 0: 10, 1: 21, 2: 20 } }),
    node(1, { cpus: [2, 3], access1: perf(204800, 100, [1]), tier: 4, distances: { 0: 21, 1: 10, 2: 30 } }),
    node(2, { access1: perf(65536, 250, [0]), tier: 22, distances: { 0: 20, 1: 30, 2: 10 } }),
  ]);
}
