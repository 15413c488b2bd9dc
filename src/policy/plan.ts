/**
 * The interleave planner: which nodes, which integer weights, and what the
 * bandwidth model predicts for them.
 *
 * Steps of {@link planInterleave}:
 *
 * 1. Initiators — the nodes whose CPUs the process runs on:
 *    `initiatorNodes`, else the nodes owning `cpus` (the process's CPU
 *    affinity, if the caller passes it), else every node with CPUs.
 * 2. Candidates — `nodes`, else the keys of a `weights` override, else every
 *    memory node of the topology.
 * 3. Link figures per candidate — `measured` bandwidth (a benchmark run on
 *    this machine) wins over HMAT; HMAT figures are resolved for the
 *    initiators by `perf.ts` (access1 before access0, SLIT penalty when the
 *    figures are for another initiator). The workload hint picks read, write
 *    or min(read, write) bandwidth (`model.ts`).
 * 4. Override — `weights` given: used as given (validated 1..255 integers);
 *    the model still predicts what they yield when figures exist.
 * 5. `latency-sensitive` — only the lowest-latency node(s) are kept (within
 *    10 % of the best read latency; without latency figures: the fastest
 *    tier, else NORMAL nodes, preferring nodes that are initiators
 *    themselves). No interleave onto slower memory.
 * 6. Missing bandwidth for any remaining candidate → uniform weights (1 each)
 *    and a warning per node: ratios of partly invented figures would be
 *    worse than none.
 * 7. Ideal split `s_i ∝ B_i`; with `size`, capped by free memory
 *    (`capacity.ts`): a node that cannot hold its share gets less, a node
 *    with nothing available or less than one weight unit is excluded; each
 *    with a note.
 * 8. Integer weights by `reduceWeights` (default `'exact'`, sum ≤ 64, within
 *    1 pp), bounded by the capacity caps.
 * 9. Prediction (min-link model) for the chosen shares, for DRAM only (the
 *    NORMAL candidates split ideally among themselves), and for plain 1:1
 *    interleave over the chosen nodes; split-weighted latency.
 */

import { HmsdkError } from '../errors';
import { formatBytes } from '../util/bytes';
import type { NumaNode, Topology } from '../topology/types';
import { availableBytes, capSplit, nodeReserve } from './capacity';
import { WORKLOADS, linkBandwidth, linkBandwidthLabel, optimalSplit, predictBandwidth, splitLatency, type Workload } from './model';
import { hmatLinkPerf, type LinkPerf } from './perf';
import { checkFinite, checkInt, checkNodeList, checkOneOf, checkPositive, checkWeight, KERNEL_MAX_WEIGHT, readList, readNodeRecord, readOwnProperty } from '../util/validate';

/** Most CPUs a caller may list (the kernel's NR_CPUS tops out at 8192). */
const MAX_CPUS = 8192;
import { EXACT_DEFAULT_MAX_SUM, reduceWeights, shareError, weightShares, type WeightMethod } from './weights';

/** Bandwidth measured by a benchmark for one node (from the process's CPUs). */
export interface MeasuredBandwidth {
  /** Read bandwidth, MB/s. */
  readMBps: number;
  /** Write bandwidth, MB/s. */
  writeMBps: number;
}

/** Options of {@link planInterleave}. */
export interface PlanOptions {
  /** Nodes whose CPUs the process runs on. Default: from `cpus`, else every node with CPUs. */
  initiatorNodes?: number[];
  /** CPUs the process may run on (its affinity); used when `initiatorNodes` is absent. */
  cpus?: number[];
  /** Candidate target nodes. Default: every memory node (or the override's nodes). */
  nodes?: number[];
  /** User weights by node id (1..255 integers), used as given. */
  weights?: Record<number, number>;
  /** Measured bandwidth by node id; wins over HMAT. */
  measured?: Record<number, MeasuredBandwidth>;
  /** Workload hint. Default `'mixed'` (min(read, write), like the kernel's auto mode). */
  workload?: Workload;
  /** `'mixed'` only: fraction of bytes read, 0..1 (harmonic read/write bandwidth). */
  readFraction?: number;
  /** Bytes the allocation needs; enables the free-memory limits. */
  size?: number;
  /** Largest weight, 1..255. Default 255. */
  maxWeight?: number;
  /** Rounding method for the weights. Default `'exact'`. */
  method?: WeightMethod;
}

/** Model prediction attached to a plan. */
export interface PlanPrediction {
  /** Aggregate bandwidth of the plan's split, MB/s (min-link model). */
  aggregateMBps: number;
  /** Traffic per plan node at that aggregate, MB/s, aligned with `nodes`. */
  perNodeMBps: number[];
  /** Best split over the NORMAL candidates only, MB/s; undefined without NORMAL candidates. */
  dramOnlyMBps: number | undefined;
  /** aggregateMBps / dramOnlyMBps. */
  gainOverDramOnly: number | undefined;
  /** Plain (unweighted) interleave over the plan's nodes, MB/s. */
  interleave11MBps: number;
  /** Σ bandwidth of the plan's nodes: what an exact split would reach, MB/s. */
  idealMBps: number;
  /** Split-weighted latency, ns (write latency for write-heavy, else read); undefined if a figure is missing. */
  latencyNs: number | undefined;
}

/** Fields every {@link InterleavePlan} variant has. */
export interface PlanBase {
  /** Target nodes, ascending. */
  nodes: number[];
  /** Weights 1..255 aligned with `nodes`. */
  weights: number[];
  /** weights / Σweights. */
  shares: number[];
  /** Initiator nodes the figures were resolved for. */
  initiators: number[];
  /** Workload hint used. */
  workload: Workload;
  /** One line naming the model and its inputs. */
  model: string;
  /** Decisions taken (exclusions, fallbacks). */
  notes: string[];
  /** Things the caller should fix or know (missing data, does not fit). */
  warnings: string[];
}

/** Plan from user weights. */
export interface OverridePlan extends PlanBase {
  source: 'override';
  /** Bandwidth-optimal shares when every node has figures. */
  idealShares: number[] | undefined;
  /** |shares − idealShares| max, pp, when ideal is known. */
  roundingError: number | undefined;
  /** Model prediction when every node has figures. */
  predicted: PlanPrediction | undefined;
}

/** Plan from measured bandwidth (HMAT fills nodes without measurement, with a warning). */
export interface MeasuredPlan extends PlanBase {
  source: 'measured';
  /** Target shares the weights approximate (bandwidth-optimal, after capacity limits). */
  idealShares: number[];
  /** max |shares − idealShares|, percentage points. */
  roundingError: number;
  predicted: PlanPrediction;
}

/** Plan from HMAT figures. */
export interface HmatPlan extends PlanBase {
  source: 'hmat';
  /** Target shares the weights approximate (bandwidth-optimal, after capacity limits). */
  idealShares: number[];
  /** max |shares − idealShares|, percentage points. */
  roundingError: number;
  predicted: PlanPrediction;
}

/** Plan without bandwidth figures: weight 1 everywhere. */
export interface UniformPlan extends PlanBase {
  source: 'uniform';
  /** 1/n each. */
  idealShares: number[];
  /** Always 0. */
  roundingError: number;
  /** No prediction without figures. */
  predicted: undefined;
  /** Candidates that had no bandwidth figure. */
  missingBandwidth: number[];
}

/** Result of {@link planInterleave}, discriminated by `source`. */
export type InterleavePlan = OverridePlan | MeasuredPlan | HmatPlan | UniformPlan;

/** Latency window of `latency-sensitive`: nodes within 10 % of the best latency are kept. */
export const LATENCY_WINDOW = 1.1;

/**
 * Plan a bandwidth-aware weighted interleave for `topology`. Pure: reads
 * nothing but its arguments.
 *
 * @throws TypeError / RangeError naming the bad option; HmsdkError ENODEV
 *   when the topology has no memory node.
 *
 * @example
 * ```ts
 * const plan = planInterleave(topology, { initiatorNodes: [0] });
 * // DRAM 204800 + CXL 65536 MB/s → plan.nodes [0, 1], plan.weights [3, 1],
 * // plan.predicted.aggregateMBps 262144, gainOverDramOnly 1.28
 * ```
 */
export function planInterleave(topology: Topology, options: PlanOptions = {}): InterleavePlan {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  if (byId.size === 0) throw new HmsdkError('ENODEV', 'topology has no memory node');
  const notes: string[] = [];
  const warnings: string[] = [];

  const workload = options.workload === undefined ? 'mixed' : checkOneOf('options.workload', options.workload, WORKLOADS);
  const readFraction = options.readFraction === undefined ? undefined : checkFinite('options.readFraction', options.readFraction);
  if (readFraction !== undefined && (readFraction < 0 || readFraction > 1)) {
    throw new RangeError(`options.readFraction must be in 0..1, got ${readFraction}`);
  }
  const size = options.size === undefined ? undefined : checkPositive('options.size', options.size);
  const maxWeight = options.maxWeight === undefined ? KERNEL_MAX_WEIGHT : checkInt('options.maxWeight', options.maxWeight, 1, KERNEL_MAX_WEIGHT);
  const method = options.method ?? 'exact';

  const initiators = resolveInitiators(topology, options, notes, warnings);
  const override = options.weights === undefined ? undefined : checkOverride(options.weights, byId);
  let candidates: number[];
  if (options.nodes !== undefined) {
    candidates = checkNodeList('options.nodes', options.nodes).map((id) => {
      if (!byId.has(id)) throw new RangeError(`options.nodes: node ${id} is not a memory node of this topology`);
      return id;
    });
  } else if (override) {
    candidates = [...override.keys()];
  } else {
    candidates = [...byId.keys()];
  }
  candidates.sort((a, b) => a - b);
  const measured = options.measured === undefined ? undefined : checkMeasured(options.measured, byId);

  // Link figures per candidate.
  const links = new Map<number, { bw: number | undefined; latency: number | undefined; measured: boolean; perf: LinkPerf }>();
  for (const id of candidates) {
    const node = byId.get(id) as NumaNode;
    const perf = hmatLinkPerf(node, initiators);
    notes.push(...perf.notes);
    const m = measured?.get(id);
    const fig = m ? { read: m.readMBps, write: m.writeMBps } : { read: perf.readMBps, write: perf.writeMBps };
    const bw = linkBandwidth(fig, workload, readFraction);
    const latency = workload === 'write-heavy' ? (perf.writeLatencyNs ?? perf.readLatencyNs) : (perf.readLatencyNs ?? perf.writeLatencyNs);
    links.set(id, { bw: bw !== undefined && bw > 0 ? bw : undefined, latency, measured: m !== undefined, perf });
  }
  if (measured) {
    for (const id of candidates) {
      if (!links.get(id)?.measured) warnings.push(`no measured bandwidth for node ${id}: HMAT figure mixed with measured ones`);
    }
  }
  const bwOf = (ids: readonly number[]): (number | undefined)[] => ids.map((id) => links.get(id)?.bw);
  const allKnown = (xs: readonly (number | undefined)[]): xs is number[] => xs.every((x) => x !== undefined);
  const figureLabel = linkBandwidthLabel(workload, readFraction);
  const initiatorLabel =
    initiators.length === 0
      ? 'from the initiator the HMAT lists'
      : initiators.length === 1
        ? `from initiator node${String(initiators[0])}`
        : `averaged over initiators ${initiators.map((i) => `node${i}`).join(', ')}`;
  const accessLabel = (ids: readonly number[]): string => {
    const kinds = new Set(ids.filter((id) => !links.get(id)?.measured).map((id) => links.get(id)?.perf.access ?? 'none'));
    return [...kinds].sort().reverse().join('+');
  };
  const sourceLabel = (ids: readonly number[]): string => {
    const anyMeasured = ids.some((id) => links.get(id)?.measured);
    const anyHmat = ids.some((id) => !links.get(id)?.measured);
    if (anyMeasured && !anyHmat) return `measured ${figureLabel}`;
    if (anyMeasured) return `measured ${figureLabel} (HMAT ${accessLabel(ids)} where unmeasured)`;
    return `HMAT ${accessLabel(ids)} ${figureLabel}`;
  };

  // DRAM-only baseline over the NORMAL candidates.
  const normal = candidates.filter((id) => byId.get(id)?.type === 'NORMAL');
  const normalBw = bwOf(normal);
  const dramOnlyMBps = normal.length > 0 && allKnown(normalBw) ? normalBw.reduce((a, b) => a + b, 0) : undefined;
  const predict = (ids: readonly number[], shares: readonly number[]): PlanPrediction | undefined => {
    const bw = bwOf(ids);
    if (!allKnown(bw)) return undefined;
    const p = predictBandwidth(bw, shares);
    const lat = ids.map((id) => links.get(id)?.latency);
    return {
      aggregateMBps: p.aggregateMBps,
      perNodeMBps: p.perNodeMBps,
      dramOnlyMBps,
      gainOverDramOnly: dramOnlyMBps === undefined ? undefined : p.aggregateMBps / dramOnlyMBps,
      interleave11MBps: predictBandwidth(bw, ids.map(() => 1)).aggregateMBps,
      idealMBps: bw.reduce((a, b) => a + b, 0),
      latencyNs: allKnown(lat) ? splitLatency(lat, shares) : undefined,
    };
  };
  const base = { initiators, workload, notes, warnings };
  const kernelNote = (): void => {
    if (!topology.weightedInterleave.available) {
      notes.push('kernel has no weighted interleave (6.9+): apply the weights with a userspace stripe (stripeSegments)');
    }
  };

  // 4. Override.
  if (override) {
    const weights = candidates.map((id) => {
      const w = override.get(id);
      if (w === undefined) throw new RangeError(`options.weights has no weight for node ${id} (listed in options.nodes)`);
      return w;
    });
    for (const id of override.keys()) {
      if (!candidates.includes(id)) notes.push(`options.weights: node ${id} is not in options.nodes: ignored`);
    }
    const shares = weightShares(weights);
    const bw = bwOf(candidates);
    const idealShares = allKnown(bw) ? optimalSplit(bw) : undefined;
    if (size !== undefined) checkFit(candidates, shares, size, byId, warnings);
    kernelNote();
    return {
      ...base,
      source: 'override',
      nodes: candidates,
      weights,
      shares,
      idealShares,
      roundingError: idealShares ? shareError(weights, idealShares) : undefined,
      predicted: predict(candidates, shares),
      model: idealShares
        ? `user weights; min-link model on ${sourceLabel(candidates)} ${initiatorLabel}`
        : 'user weights; no prediction (bandwidth figures missing)',
    };
  }

  // 5. Latency-sensitive: fastest node(s) only.
  let nodes = candidates;
  if (workload === 'latency-sensitive') nodes = fastestNodes(candidates, byId, links, initiators, notes, warnings);

  // 6. Missing bandwidth → uniform.
  const missing = nodes.filter((id) => links.get(id)?.bw === undefined);
  if (missing.length > 0) {
    for (const id of missing) warnings.push(`no HMAT bandwidth for node ${id}: uniform weights`);
    if (size !== undefined) {
      const fit = nodes.filter((id) => availableBytes(byId.get(id) as NumaNode) >= size / nodes.length);
      for (const id of nodes) {
        if (!fit.includes(id)) notes.push(`node ${id} excluded: cannot hold 1/${nodes.length} of ${formatBytes(size)} above its reserve`);
      }
      if (fit.length > 0) nodes = fit;
      else warnings.push(`${formatBytes(size)} does not fit on nodes ${nodes.join(',')} above their reserves`);
    }
    kernelNote();
    return {
      ...base,
      source: 'uniform',
      nodes,
      weights: nodes.map(() => 1),
      shares: nodes.map(() => 1 / nodes.length),
      idealShares: nodes.map(() => 1 / nodes.length),
      roundingError: 0,
      predicted: undefined,
      missingBandwidth: missing,
      model: `no bandwidth model: uniform weights (bandwidth missing for node ${missing.join(',')})`,
    };
  }

  // 7-8. Ideal split, capacity limits, integer weights.
  let target: number[] = [];
  let weights: number[];
  let roundingError: number;
  for (;;) {
    const bw = bwOf(nodes) as number[];
    target = optimalSplit(bw);
    let caps: number[] | undefined;
    if (size !== undefined) {
      const avail = nodes.map((id) => availableBytes(byId.get(id) as NumaNode));
      const empty = nodes.filter((_, i) => (avail[i] ?? 0) <= 0);
      if (empty.length > 0 && empty.length < nodes.length) {
        for (const id of empty) {
          const n = byId.get(id) as NumaNode;
          notes.push(`node ${id} excluded: ${formatBytes(n.memFree)} free is within its ${formatBytes(nodeReserve(n))} reserve`);
        }
        nodes = nodes.filter((id) => !empty.includes(id));
        continue;
      }
      const split = capSplit(
        target,
        avail.map((a) => a / size),
      );
      if (!split.fits) {
        warnings.push(
          `${formatBytes(size)} does not fit on nodes ${nodes.join(',')} above their reserves ` +
            `(${formatBytes(avail.reduce((a, b) => a + b, 0))} available): the kernel will fall back to other nodes or reclaim`,
        );
      } else {
        caps = avail.map((a) => a / size);
        split.capped.forEach((c, i) => {
          if (c) {
            notes.push(
              `node ${String(nodes[i])} gets ${pct(split.shares[i] ?? 0)} instead of ${pct(target[i] ?? 0)}: ` +
                `${formatBytes(avail[i] ?? 0)} available above its reserve for ${formatBytes(size)}`,
            );
          }
        });
      }
      target = split.shares;
      if (caps && method === 'exact') {
        const sumBound = Math.max(EXACT_DEFAULT_MAX_SUM, nodes.length);
        const tooSmall = nodes.filter((_, i) => (caps?.[i] ?? 0) * sumBound < 1);
        if (tooSmall.length > 0 && tooSmall.length < nodes.length) {
          for (const id of tooSmall) {
            notes.push(`node ${id} excluded: it can hold less than 1/${sumBound} of ${formatBytes(size)} (one weight unit)`);
          }
          nodes = nodes.filter((id) => !tooSmall.includes(id));
          continue;
        }
      }
    }
    const reduced = reduceWeights(target, { method, max: maxWeight, ...(caps && method === 'exact' ? { capShares: caps } : {}) });
    weights = reduced.weights;
    roundingError = reduced.error;
    if (caps && method !== 'exact') checkFit(nodes, weightShares(weights), size as number, byId, warnings);
    break;
  }
  const shares = weightShares(weights);
  const predicted = predict(nodes, shares) as PlanPrediction;
  if (size !== undefined && normal.length > 0) {
    const dramAvail = normal.reduce((acc, id) => acc + availableBytes(byId.get(id) as NumaNode), 0);
    if (dramAvail < size) {
      notes.push(`DRAM-only baseline ignores capacity: NORMAL node(s) ${normal.join(',')} hold only ${formatBytes(dramAvail)} of ${formatBytes(size)}`);
    }
  }
  if (nodes.length === 1 && candidates.length > 1 && workload !== 'latency-sensitive') {
    notes.push(`single node ${String(nodes[0])}: no interleave`);
  }
  kernelNote();
  const common = {
    ...base,
    nodes,
    weights,
    shares,
    idealShares: target,
    roundingError,
    predicted,
    model: `min-link model on ${sourceLabel(nodes)} ${initiatorLabel}; weights by '${method}'`,
  };
  return nodes.some((id) => links.get(id)?.measured) ? { ...common, source: 'measured' } : { ...common, source: 'hmat' };
}

function resolveInitiators(topology: Topology, options: PlanOptions, notes: string[], warnings: string[]): number[] {
  const known = new Set([...topology.online, ...topology.nodes.map((n) => n.id)]);
  if (options.initiatorNodes !== undefined) {
    const ids = checkNodeList('options.initiatorNodes', options.initiatorNodes);
    for (const id of ids) if (!known.has(id)) throw new RangeError(`options.initiatorNodes: node ${id} is not online`);
    if (options.cpus !== undefined) notes.push('options.cpus ignored: options.initiatorNodes given');
    return [...ids].sort((a, b) => a - b);
  }
  if (options.cpus !== undefined) {
    const cpus = readList('options.cpus', options.cpus, MAX_CPUS).map((c, i) => checkInt(`options.cpus[${i}]`, c, 0, Number.MAX_SAFE_INTEGER));
    if (cpus.length === 0) throw new RangeError('options.cpus must not be empty');
    const ids = new Set<number>();
    for (const cpu of cpus) {
      const owner = topology.nodes.find((n) => n.cpus.includes(cpu));
      if (!owner) throw new RangeError(`options.cpus: CPU ${cpu} belongs to no node of this topology`);
      ids.add(owner.id);
    }
    const list = [...ids].sort((a, b) => a - b);
    notes.push(`initiators from CPU affinity: ${list.map((i) => `node${i}`).join(', ')}`);
    return list;
  }
  const cpuNodes = topology.nodes.filter((n) => n.hasCpu || n.cpus.length > 0).map((n) => n.id);
  if (cpuNodes.length === 0) warnings.push('no node with CPUs in the topology: HMAT figures used for whichever initiator they list');
  return cpuNodes.sort((a, b) => a - b);
}

function checkOverride(weights: unknown, byId: Map<number, NumaNode>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [id, value] of readNodeRecord('options.weights', weights)) {
    if (!byId.has(id)) throw new RangeError(`options.weights: node ${id} is not a memory node of this topology`);
    out.set(id, checkWeight(`options.weights[${id}]`, value));
  }
  if (out.size === 0) throw new RangeError('options.weights must name at least one node');
  return out;
}

function checkMeasured(measured: unknown, byId: Map<number, NumaNode>): Map<number, MeasuredBandwidth> {
  const out = new Map<number, MeasuredBandwidth>();
  for (const [id, value] of readNodeRecord('options.measured', measured)) {
    if (!byId.has(id)) throw new RangeError(`options.measured: node ${id} is not a memory node of this topology`);
    const name = `options.measured[${id}]`;
    out.set(id, {
      readMBps: checkPositive(`${name}.readMBps`, readOwnProperty(name, value, 'readMBps')),
      writeMBps: checkPositive(`${name}.writeMBps`, readOwnProperty(name, value, 'writeMBps')),
    });
  }
  return out;
}

function fastestNodes(
  candidates: number[],
  byId: Map<number, NumaNode>,
  links: Map<number, { latency: number | undefined }>,
  initiators: number[],
  notes: string[],
  warnings: string[],
): number[] {
  const lat = candidates.map((id) => links.get(id)?.latency);
  if (lat.every((l) => l !== undefined && l > 0)) {
    const best = Math.min(...(lat as number[]));
    const keep = candidates.filter((_, i) => (lat[i] as number) <= best * LATENCY_WINDOW);
    const drop = candidates.filter((id) => !keep.includes(id));
    notes.push(
      `latency-sensitive: node(s) ${keep.join(',')} kept (latency ${best.toFixed(0)} ns` +
        (drop.length > 0 ? `; ${drop.map((id) => `node ${id} ${(lat[candidates.indexOf(id)] as number).toFixed(0)} ns`).join(', ')} left out)` : ')'),
    );
    return keep;
  }
  const nodes = candidates.map((id) => byId.get(id) as NumaNode);
  let keep: NumaNode[];
  if (nodes.every((n) => n.tier !== undefined)) {
    const tier = Math.min(...nodes.map((n) => n.tier as number));
    keep = nodes.filter((n) => n.tier === tier);
    notes.push(`latency-sensitive without latency figures: fastest memory tier ${tier}`);
  } else {
    keep = nodes.filter((n) => n.type === 'NORMAL');
    notes.push('latency-sensitive without latency figures or tiers: NORMAL (DRAM) nodes');
  }
  const local = keep.filter((n) => initiators.includes(n.id));
  if (local.length > 0 && local.length < keep.length) {
    keep = local;
    notes.push(`latency-sensitive: initiator-local node(s) ${local.map((n) => n.id).join(',')} preferred`);
  }
  if (keep.length === 0) {
    warnings.push('latency-sensitive: no DRAM node among the candidates: all candidates kept');
    return candidates;
  }
  return keep.map((n) => n.id);
}

function checkFit(ids: number[], shares: number[], size: number, byId: Map<number, NumaNode>, warnings: string[]): void {
  ids.forEach((id, i) => {
    const need = (shares[i] ?? 0) * size;
    const avail = availableBytes(byId.get(id) as NumaNode);
    if (need > avail) warnings.push(`node ${id} cannot hold its ${pct(shares[i] ?? 0)} (${formatBytes(need)}) of ${formatBytes(size)}: ${formatBytes(avail)} available above its reserve`);
  });
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
