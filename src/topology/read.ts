/**
 * The one topology reader of the SDK: builds a {@link Topology} from sysfs.
 *
 * What is read (all relative to `sysRoot`, "/sys" on a live system; every
 * file is optional except `devices/system/node/online`):
 * - `devices/system/node/{possible,online,has_cpu,has_memory,has_normal_memory}`;
 * - per memory node `nodeN/{cpulist,distance,meminfo}` and the HMAT figures in
 *   `nodeN/access0/initiators` (any initiator) and `access1/initiators` (CPU
 *   initiators): `{read,write}_{bandwidth,latency}` plus `nodeX` entries that
 *   name the initiator nodes;
 * - memory tiers `devices/virtual/memory_tiering/memory_tierN/nodelist`;
 * - weighted interleave `kernel/mm/mempolicy/weighted_interleave/{nodeN,auto}`
 *   (6.18 kernels misname `auto` as `__auto_type`; both are read);
 * - CXL: the device names under `bus/cxl/devices`; `target_node` of the dax
 *   devices under each CXL region (`regionN/dax_regionN/daxX.Y/target_node`)
 *   and of every dax device under `bus/dax/devices`. A dax device whose real
 *   path lies under a platform `hmem.N` device is soft-reserved memory that
 *   is not CXL (HBM, ...) and is not counted. `memN/numa_node` is not used: it
 *   is the CPU affinity of the PCI device, not the node of its memory.
 *
 * Classification (`type` NORMAL / EXMEM, `exmemSource`):
 * 1. Memory nodes are `online ∩ has_memory`, sorted by id; an online node
 *    without memory (CPU-only) is not a memory node. Ids are never assumed
 *    contiguous, nor DRAM to come first.
 * 2. `HMSDK_EXMEM_NODES` (node-list syntax, "2,3" or "2-3"), when set and not
 *    blank, decides alone: exactly the named nodes are EXMEM (source 'env').
 *    Each must be an online memory node, else HmsdkError ECONFIG naming it;
 *    a named node with CPUs is accepted with a warning.
 * 3. Otherwise, if some memory node is named by CXL evidence (source 'cxl'):
 *    every CPU-less memory node with evidence is EXMEM; CPU-less nodes without
 *    evidence are EXMEM too ("no CXL evidence" in the reason) unless HMAT
 *    shows them HBM-like (rule 4); evidence naming a node with CPUs is
 *    ignored with a warning.
 * 4. Otherwise CPU-less memory nodes are EXMEM (source 'cpuless') unless HMAT
 *    shows one HBM-like: bandwidth ≥ the best CPU node's and latency ≤ the
 *    best CPU node's, comparing access1 figures when both sides have them,
 *    else access0; bandwidth = min(read, write), latency = max(read, write).
 *    HBM-like nodes are NORMAL.
 * 5. No EXMEM node results (no CPU-less node, or all HBM-like): source 'none'.
 * Nodes with CPUs are NORMAL except under rule 2.
 *
 * Missing data is a warning in `warnings`, never an error: "no HMAT data: ..."
 * when a machine with several memory nodes lacks HMAT figures for some.
 */
import { realpathSync } from 'node:fs';
import { HmsdkError } from '../errors';
import { formatNodeList, listDir, listDirIfExists, parseMeminfo, parseNodeList, readInt, readList, readText } from './sysfs';
import type { NodePerf, NumaNode, Tier, Topology, WeightedInterleaveInfo } from './types';

/** Options of {@link readTopology}. */
export interface ReadTopologyOptions {
  /** sysfs root; default "/sys". Point it at a fixture tree in tests. */
  sysRoot?: string;
  /** Environment to read `HMSDK_EXMEM_NODES` from; default `process.env`. */
  env?: Record<string, string | undefined>;
}

/** Bytes of one node from its meminfo. */
export interface NodeMemory {
  /** MemTotal, bytes. */
  total: number;
  /** MemFree, bytes. */
  free: number;
}

/** Entries the CXL region walk may list in total (see `readCxl`). */
const CXL_WALK_MAX_ENTRIES = 100_000;

const PERF_FILES = ['read_bandwidth', 'write_bandwidth', 'read_latency', 'write_latency'] as const;

function readPerf(nodeDir: string, access: 0 | 1): NodePerf | undefined {
  const dir = `${nodeDir}/access${access}/initiators`;
  const names = listDirIfExists(dir);
  if (names === undefined) return undefined;
  const present = new Set(names);
  const get = (f: string): number | undefined => (present.has(f) ? readInt(`${dir}/${f}`) : undefined);
  const initiators: number[] = [];
  for (const n of names) {
    const m = /^node(\d+)$/.exec(n);
    if (m) initiators.push(Number(m[1]));
  }
  initiators.sort((a, b) => a - b);
  return {
    readBandwidth: get(PERF_FILES[0]),
    writeBandwidth: get(PERF_FILES[1]),
    readLatency: get(PERF_FILES[2]),
    writeLatency: get(PERF_FILES[3]),
    initiators,
  };
}

function hasFigures(p: NodePerf | undefined): p is NodePerf {
  return p !== undefined && (p.readBandwidth !== undefined || p.writeBandwidth !== undefined || p.readLatency !== undefined || p.writeLatency !== undefined);
}

function definedMin(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function definedMax(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

/** Effective bandwidth (min of read/write) and latency (max of read/write) of one access class. */
function figures(p: NodePerf | undefined): { bw: number | undefined; lat: number | undefined } {
  if (p === undefined) return { bw: undefined, lat: undefined };
  return { bw: definedMin(p.readBandwidth, p.writeBandwidth), lat: definedMax(p.readLatency, p.writeLatency) };
}

/** Natural order for device names: region2 < region10, decoder0.1 < decoder0.10. */
function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i] as string;
    const y = rb[i] as string;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) return Number(x) - Number(y) || (x < y ? -1 : 1);
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}

/** CXL devices and per-node evidence (node id -> sorted names). */
function readCxl(root: string): { devices: string[]; evidence: Map<number, Set<string>> } {
  const evidence = new Map<number, Set<string>>();
  const add = (node: number | undefined, what: string): void => {
    if (node === undefined || node < 0) return;
    let s = evidence.get(node);
    if (!s) evidence.set(node, (s = new Set()));
    s.add(what);
  };
  const cxlDir = `${root}/bus/cxl/devices`;
  // The region walk nests three listings. Its depth is fixed, but in a
  // hostile tree whose entries are symlinks back to one big directory the
  // work multiplies per level; real CXL buses list a few dozen entries per
  // device, so a budget over the whole walk bounds the work without ever
  // limiting a real machine.
  let budget = CXL_WALK_MAX_ENTRIES;
  const list = (dir: string): string[] => {
    const names = listDir(dir);
    budget -= names.length;
    if (budget < 0) throw new HmsdkError('ECONFIG', `the CXL region walk under ${cxlDir} listed more than ${CXL_WALK_MAX_ENTRIES} entries (symlinks looping back?); stopped at ${dir}`);
    return names;
  };
  const devices = list(cxlDir).sort(naturalCompare);
  for (const dev of devices) {
    if (!/^region\d+$/.test(dev)) continue;
    const regionDir = `${cxlDir}/${dev}`;
    for (const dr of list(regionDir)) {
      if (!/^dax_region\d+$/.test(dr)) continue;
      for (const dx of list(`${regionDir}/${dr}`)) {
        if (/^dax\d+\.\d+$/.test(dx)) add(readInt(`${regionDir}/${dr}/${dx}/target_node`), dev);
      }
    }
  }
  const daxDir = `${root}/bus/dax/devices`;
  for (const dx of listDir(daxDir)) {
    const node = readInt(`${daxDir}/${dx}/target_node`);
    if (node === undefined || node < 0) continue;
    let real = '';
    try {
      real = realpathSync.native(`${daxDir}/${dx}`);
    } catch {
      /* keep '' */
    }
    if (/\/hmem\.\d+\//.test(real)) continue; // platform soft-reserved memory, not CXL
    add(node, dx);
  }
  return { devices, evidence };
}

function readWeightedInterleave(root: string): WeightedInterleaveInfo {
  const dir = `${root}/kernel/mm/mempolicy/weighted_interleave`;
  const names = listDirIfExists(dir);
  const weights: Record<number, number> = {};
  if (names === undefined) return { available: false, weights, auto: undefined };
  let auto: boolean | undefined;
  for (const name of names) {
    const m = /^node(\d+)$/.exec(name);
    if (m) {
      const w = readInt(`${dir}/${name}`);
      if (w !== undefined) weights[Number(m[1])] = w;
    } else if (name === 'auto' || name === '__auto_type') {
      const t = readText(`${dir}/${name}`)?.trim();
      if (t !== undefined) auto = t === 'true' || t === '1' || t === 'Y';
    }
  }
  return { available: true, weights, auto };
}

function readTiers(root: string): { id: number; nodes: number[] }[] {
  const dir = `${root}/devices/virtual/memory_tiering`;
  const tiers: { id: number; nodes: number[] }[] = [];
  for (const name of listDir(dir)) {
    const m = /^memory_tier(\d+)$/.exec(name);
    if (m) tiers.push({ id: Number(m[1]), nodes: readList(`${dir}/${name}/nodelist`) ?? [] });
  }
  return tiers.sort((a, b) => a.id - b.id);
}

function parseEnvNodes(raw: string): number[] {
  const text = raw.trim().replace(/\s*,\s*/g, ',').replace(/\s*-\s*/g, '-');
  try {
    return parseNodeList(text);
  } catch (err) {
    throw new HmsdkError('ECONFIG', `HMSDK_EXMEM_NODES="${raw}" is not a node list (expected e.g. "2,3" or "2-3"): ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function mbps(n: number | undefined): string {
  return n === undefined ? '? MB/s' : `${n} MB/s`;
}

function ns(n: number | undefined): string {
  return n === undefined ? '? ns' : `${n} ns`;
}

/**
 * Read the machine's NUMA topology from sysfs and classify each memory node
 * as NORMAL or EXMEM (algorithm: header of this file).
 *
 * @param options - `sysRoot` (default "/sys") and `env` (default `process.env`)
 * @returns a fresh {@link Topology}; nodes sorted by id
 * @throws HmsdkError `ECONFIG` when `HMSDK_EXMEM_NODES` is malformed or names
 *   a node that is not an online memory node
 * @throws RangeError when a sysfs list file holds something that is not a list
 * @throws HmsdkError `ECONFIG` when a path of the tree holds something no
 *   sysfs has there: a directory, FIFO, device or symlink where an attribute
 *   file belongs, a file above 64 KiB, a symlink loop, or a directory with
 *   more entries than any kernel lists
 * @example
 * ```ts
 * const t = readTopology();
 * console.log(t.exmemNodes, t.exmemSource, t.warnings);
 * const fixture = readTopology({ sysRoot: 'test/fixtures/sysfs/cxl-expander/sys', env: {} });
 * ```
 */
export function readTopology(options: ReadTopologyOptions = {}): Topology {
  const root = (options.sysRoot ?? '/sys').replace(/\/+$/, '') || '/';
  const sysRoot = options.sysRoot ?? '/sys';
  const env = options.env ?? process.env;
  const warnings: string[] = [];
  const nodeRoot = `${root}/devices/system/node`;

  const online = readList(`${nodeRoot}/online`);
  const tiers = readTiers(root);
  const weightedInterleave = readWeightedInterleave(root);
  const cxl = readCxl(root);
  if (online === undefined) {
    warnings.push(`no NUMA information: ${nodeRoot}/online is missing (kernel without CONFIG_NUMA?)`);
    return {
      sysRoot,
      possible: [],
      online: [],
      nodes: [],
      normalNodes: [],
      exmemNodes: [],
      tiers,
      weightedInterleave,
      cxlDevices: cxl.devices,
      exmemSource: 'none',
      warnings,
    };
  }
  const possible = readList(`${nodeRoot}/possible`) ?? online;
  const hasCpuList = readList(`${nodeRoot}/has_cpu`);
  const hasMemoryList = readList(`${nodeRoot}/has_memory`);
  const hasNormalList = readList(`${nodeRoot}/has_normal_memory`);
  const hasCpuSet = hasCpuList ? new Set(hasCpuList) : undefined;
  const hasNormalSet = new Set(hasNormalList ?? []);
  const memSet = hasMemoryList ? new Set(hasMemoryList) : undefined;

  const tierOf = new Map<number, number>();
  for (const t of tiers) for (const n of t.nodes) if (!tierOf.has(n)) tierOf.set(n, t.id);

  // ---- read the nodes -------------------------------------------------------
  const nodes: NumaNode[] = [];
  for (const id of online) {
    const dir = `${nodeRoot}/node${id}`;
    let meminfo: Record<string, number> | undefined;
    if (memSet === undefined) {
      // very old kernel without has_memory: a node with MemTotal > 0 has memory
      const t = readText(`${dir}/meminfo`);
      meminfo = t === undefined ? undefined : parseMeminfo(t);
      if (!meminfo || !(meminfo.MemTotal! > 0)) continue;
    } else if (!memSet.has(id)) continue;
    if (meminfo === undefined) {
      const t = readText(`${dir}/meminfo`);
      if (t === undefined) warnings.push(`node ${id}: ${dir}/meminfo is missing; sizes reported as 0`);
      meminfo = t === undefined ? {} : parseMeminfo(t);
    }
    const cpus = readList(`${dir}/cpulist`) ?? [];
    const distances: Record<number, number> = {};
    const dtext = readText(`${dir}/distance`);
    if (dtext !== undefined) {
      const d = dtext.trim().split(/\s+/).filter((s) => s !== '').map(Number);
      if (d.length !== online.length) {
        warnings.push(`node ${id}: distance lists ${d.length} values for ${online.length} online nodes; mapped in order as far as they go`);
      }
      for (let i = 0; i < Math.min(d.length, online.length); i++) distances[online[i] as number] = d[i] as number;
    }
    nodes.push({
      id,
      cpus,
      hasCpu: hasCpuSet ? hasCpuSet.has(id) : cpus.length > 0,
      hasMemory: true,
      hasNormalMemory: hasNormalSet.has(id),
      memTotal: meminfo.MemTotal ?? 0,
      memFree: meminfo.MemFree ?? 0,
      distances,
      access0: readPerf(dir, 0),
      access1: readPerf(dir, 1),
      tier: tierOf.get(id),
      cxlEvidence: [...(cxl.evidence.get(id) ?? [])].sort(naturalCompare),
      type: 'NORMAL',
      typeReason: '',
    });
  }
  nodes.sort((a, b) => a.id - b.id);
  const memIds = nodes.map((n) => n.id);

  const noHmat = nodes.filter((n) => !hasFigures(n.access0) && !hasFigures(n.access1)).map((n) => n.id);
  if (nodes.length > 1 && noHmat.length > 0) {
    warnings.push(
      `no HMAT data: node${noHmat.length > 1 ? 's' : ''} ${formatNodeList(noHmat)} ha${noHmat.length > 1 ? 've' : 's'} no ` +
        'access0/access1 bandwidth or latency in sysfs; CPU-less nodes are assumed slower than DRAM',
    );
  }

  // ---- classify -------------------------------------------------------------
  const cpuNodes = nodes.filter((n) => n.hasCpu);
  const cpuTiers = cpuNodes.map((n) => n.tier).filter((t): t is number => t !== undefined);
  const dramTier = cpuTiers.length > 0 ? Math.min(...cpuTiers) : undefined;

  /** HMAT comparison of a node with the best CPU node, same access class on both sides. */
  const compare = (n: NumaNode): { bw: number | undefined; lat: number | undefined; bestBw: number | undefined; bestLat: number | undefined } => {
    const use1 = hasFigures(n.access1) && cpuNodes.some((c) => hasFigures(c.access1));
    const mine = figures(use1 ? n.access1 : n.access0);
    let bestBw: number | undefined;
    let bestLat: number | undefined;
    for (const c of cpuNodes) {
      const f = figures(use1 ? c.access1 : c.access0);
      bestBw = definedMax(bestBw, f.bw);
      bestLat = definedMin(bestLat, f.lat);
    }
    return { ...mine, bestBw, bestLat };
  };
  const tierPart = (n: NumaNode): string | undefined => {
    if (n.tier === undefined) return undefined;
    if (dramTier === undefined || n.hasCpu) return `memory tier ${n.tier}`;
    if (n.tier > dramTier) return `memory tier ${n.tier} below DRAM tier ${dramTier}`;
    if (n.tier < dramTier) return `memory tier ${n.tier} above DRAM tier ${dramTier}`;
    return `memory tier ${n.tier} same as DRAM`;
  };
  const hmatPart = (n: NumaNode): string => {
    const c = compare(n);
    if (c.bw === undefined && c.lat === undefined) return 'no HMAT data';
    if (c.bestBw === undefined && c.bestLat === undefined) return `HMAT ${mbps(c.bw)}, ${ns(c.lat)}`;
    return `HMAT ${mbps(c.bw)}, ${ns(c.lat)} vs DRAM ${mbps(c.bestBw)}, ${ns(c.bestLat)}`;
  };
  const hbmLike = (n: NumaNode): boolean => {
    const c = compare(n);
    return (
      c.bw !== undefined && c.lat !== undefined && c.bestBw !== undefined && c.bestLat !== undefined && c.bw >= c.bestBw && c.lat <= c.bestLat
    );
  };
  const join = (...parts: (string | undefined)[]): string => parts.filter((p) => p !== undefined && p !== '').join(', ');
  const cpuReason = (n: NumaNode): string => join(`has CPUs ${formatNodeList(n.cpus) || '(none listed)'}`, tierPart(n));

  let exmemSource: Topology['exmemSource'];
  const raw = env.HMSDK_EXMEM_NODES;
  if (raw !== undefined && raw.trim() !== '') {
    exmemSource = 'env';
    const ids = parseEnvNodes(raw);
    for (const id of ids) {
      if (!memIds.includes(id)) {
        throw new HmsdkError(
          'ECONFIG',
          `HMSDK_EXMEM_NODES="${raw}" names node ${id}, which is not an online memory node (online memory nodes: ${formatNodeList(memIds) || 'none'})`,
        );
      }
    }
    const set = new Set(ids);
    for (const n of nodes) {
      if (set.has(n.id)) {
        n.type = 'EXMEM';
        n.typeReason = join(`named in HMSDK_EXMEM_NODES=${raw.trim()}`, n.hasCpu ? `although it has CPUs ${formatNodeList(n.cpus)}` : 'CPU-less');
        if (n.hasCpu) warnings.push(`HMSDK_EXMEM_NODES makes node ${n.id} EXMEM although it has CPUs ${formatNodeList(n.cpus)}`);
      } else {
        n.type = 'NORMAL';
        n.typeReason = `not named in HMSDK_EXMEM_NODES=${raw.trim()}`;
      }
    }
  } else {
    const cxlMode = nodes.some((n) => n.cxlEvidence.length > 0);
    exmemSource = cxlMode ? 'cxl' : 'cpuless';
    for (const n of nodes) {
      if (n.hasCpu) {
        n.type = 'NORMAL';
        n.typeReason = cpuReason(n);
        if (n.cxlEvidence.length > 0) {
          warnings.push(`CXL evidence (${n.cxlEvidence.join(', ')}) names node ${n.id}, which has CPUs; kept NORMAL`);
        }
      } else if (cxlMode && n.cxlEvidence.length > 0) {
        n.type = 'EXMEM';
        n.typeReason = join(`CPU-less, CXL evidence ${n.cxlEvidence.join(' ')}`, tierPart(n), hmatPart(n));
      } else if (hbmLike(n)) {
        n.type = 'NORMAL';
        n.typeReason = join('CPU-less but HBM-like', hmatPart(n), tierPart(n));
      } else {
        n.type = 'EXMEM';
        n.typeReason = join('CPU-less', cxlMode ? 'no CXL evidence' : undefined, tierPart(n), hmatPart(n));
      }
    }
    if (!nodes.some((n) => n.type === 'EXMEM')) exmemSource = 'none';
  }

  const normalNodes = nodes.filter((n) => n.type === 'NORMAL').map((n) => n.id);
  const exmemNodes = nodes.filter((n) => n.type === 'EXMEM').map((n) => n.id);
  if (nodes.length > 0 && normalNodes.length === 0) {
    warnings.push(`no NORMAL node: every memory node (${formatNodeList(memIds)}) is EXMEM`);
  }

  return {
    sysRoot,
    possible,
    online,
    nodes,
    normalNodes,
    exmemNodes,
    tiers,
    weightedInterleave,
    cxlDevices: cxl.devices,
    exmemSource,
    warnings,
  };
}

/**
 * MemTotal and MemFree of one node, in bytes, reading only that node's
 * meminfo (the fast path for live statistics).
 *
 * @param nodeId - node id
 * @param sysRoot - sysfs root, default "/sys"
 * @throws TypeError / RangeError when `nodeId` is not a non-negative integer
 * @throws HmsdkError `ENODEV` when the node has no meminfo (not online);
 *   `ECONFIG` when its meminfo is not a regular file of at most 64 KiB
 * @example
 * ```ts
 * const { total, free } = readNodeMemory(1);
 * ```
 */
export function readNodeMemory(nodeId: number, sysRoot = '/sys'): NodeMemory {
  if (typeof nodeId !== 'number') throw new TypeError(`nodeId must be a number, got ${typeof nodeId}`);
  if (!Number.isInteger(nodeId) || nodeId < 0) throw new RangeError(`nodeId must be a non-negative integer, got ${nodeId}`);
  const path = `${sysRoot.replace(/\/+$/, '')}/devices/system/node/node${nodeId}/meminfo`;
  const text = readText(path);
  if (text === undefined) throw new HmsdkError('ENODEV', `node ${nodeId} is not online: ${path} does not exist`);
  const total = /MemTotal:\s+(\d+)/.exec(text);
  const free = /MemFree:\s+(\d+)/.exec(text);
  if (!total || !free) throw new HmsdkError('ENODEV', `node ${nodeId}: ${path} has no MemTotal/MemFree lines`);
  return { total: Number(total[1]) * 1024, free: Number(free[1]) * 1024 };
}

/**
 * Ids of the memory nodes of one type, ascending.
 *
 * @param topology - from {@link readTopology}
 * @param type - 'NORMAL' or 'EXMEM'
 */
export function nodeIdsOf(topology: Topology, type: Tier): number[] {
  return topology.nodes.filter((n) => n.type === type).map((n) => n.id);
}
