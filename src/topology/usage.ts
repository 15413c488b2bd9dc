/**
 * Memory use per node and tier: of the machine (nodeN/meminfo) and of one
 * process (/proc/PID/numa_maps), summed by the topology's NORMAL / EXMEM
 * classification. What `hmsdk stats` prints (the CLI only renders it).
 * @internal
 */
import { ATTRIBUTE_MAX_BYTES, readKernelFile } from '../kernel/files';
import { bytesPerNode, type NumaMapping } from './numa-maps';
import { readNodeMemory } from './read';
import { formatNodeList } from './sysfs';
import type { Tier, Topology } from './types';

/**
 * JSON shape of one node row. `inUse` is MemTotal − MemFree: what the whole
 * machine uses on the node (every process, the kernel, the page cache).
 * It is not `used`, which everywhere in hmsdk (stats(), s_get_memsize_used)
 * means the bytes the SDK handed out. @internal
 */
export interface NodeRow {
  id: number;
  tier: Tier;
  cpus: string;
  total: number;
  inUse: number;
  free: number;
}

/** Sum over a set of nodes. @internal */
export interface Sum {
  nodes: number[];
  total: number;
  inUse: number;
  free: number;
}

function sumRows(rows: NodeRow[], tier?: Tier): Sum {
  const list = tier ? rows.filter((r) => r.tier === tier) : rows;
  return {
    nodes: list.map((r) => r.id),
    total: list.reduce((a, r) => a + r.total, 0),
    inUse: list.reduce((a, r) => a + r.inUse, 0),
    free: list.reduce((a, r) => a + r.free, 0),
  };
}

/** System view: one row per memory node. @internal */
export function systemStats(t: Topology) {
  const nodes: NodeRow[] = t.nodes.map((n) => {
    const m = readNodeMemory(n.id, t.sysRoot);
    return { id: n.id, tier: n.type, cpus: n.cpus.length ? formatNodeList(n.cpus) : '-', total: m.total, inUse: m.total - m.free, free: m.free };
  });
  return { nodes, tiers: { NORMAL: sumRows(nodes, 'NORMAL'), EXMEM: sumRows(nodes, 'EXMEM') }, total: sumRows(nodes) };
}

/** Kinds of mapping a process row splits its bytes by. @internal */
export const KINDS = ['anon', 'heap', 'stack', 'file', 'huge'] as const;

/** Process view from numa_maps. @internal */
export function processStats(t: Topology, pid: number, maps: NumaMapping[]) {
  const tierOf = new Map(t.nodes.map((n) => [n.id, n.type] as const));
  const ids = new Set<number>(t.nodes.map((n) => n.id));
  for (const m of maps) for (const k of Object.keys(m.pages)) ids.add(Number(k));
  const nodes = [...ids]
    .sort((a, b) => a - b)
    .map((id) => {
      const row: Record<string, number | string> & { id: number; tier: string; total: number } = {
        id,
        tier: tierOf.get(id) ?? 'NORMAL',
        total: 0,
      };
      for (const k of KINDS) row[k] = 0;
      for (const m of maps) {
        const b = (m.pages[id] ?? 0) * m.pageSize;
        row[m.kind] = (row[m.kind] as number) + b;
        row.total += b;
      }
      return row;
    });
  const per = bytesPerNode(maps);
  const tier = (ty: Tier) => nodes.filter((n) => n.tier === ty).reduce((a, n) => a + (per[n.id] ?? 0), 0);
  const total = Object.values(per).reduce((a, b) => a + b, 0);
  return { pid, name: processName(pid), nodes, tiers: { NORMAL: tier('NORMAL'), EXMEM: tier('EXMEM') }, total };
}

/** The process's name (/proc/PID/comm), `?` when it cannot be read. @internal */
export function processName(pid: number): string {
  try {
    return readKernelFile(`/proc/${pid}/comm`, ATTRIBUTE_MAX_BYTES, 'utf8').trim();
  } catch {
    return '?';
  }
}
