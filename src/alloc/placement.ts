/**
 * From allocation options to a kernel placement.
 *
 * Resolution, in order:
 * 1. Nodes: `node`/`nodes` if given (each must be an online memory node;
 *    with `tier` too, each must belong to it); otherwise the tier's nodes.
 *    The default tier is NORMAL for `bind`/`preferred`; `interleave` and
 *    `weighted` without nodes or tier spread over every memory node.
 * 2. An EXMEM request on a machine without EXMEM nodes throws `ENODEV`,
 *    unless `fallback: 'normal'` asks for NORMAL instead.
 * 3. Policy -> kernel mode ({@link decidePlacement}: pure, the kernel's
 *    capabilities are an argument): bind -> MPOL_BIND; preferred -> MPOL_PREFERRED
 *    (one node) or MPOL_PREFERRED_MANY (several, kernel 5.15+);
 *    interleave -> MPOL_INTERLEAVE; weighted -> MPOL_WEIGHTED_INTERLEAVE
 *    (kernel 6.9+) when the weights are the kernel's own global weights.
 *    Per-buffer weights that differ use a userspace stripe (see
 *    src/policy/stripe.ts; built per allocation by native/core/hm_stripe.c).
 * 4. Charging: bytes are charged to the nodes by the weights (weighted), in
 *    equal parts (interleave, multi-node bind/preferred), or to the one node.
 *
 * Resolution reads only the validated, frozen {@link PlacementRequest}
 * (src/util/validate.ts), never the caller's object. Resolved placements are
 * registered with the native core once and cached by a key of the request.
 * @internal
 */
import { HmsdkError } from '../errors';
import { MPOL, native } from './native';
import type { AllocateOptions, Policy, Tier } from './options';
import { planInterleave } from '../policy/plan';
import { topology } from '../topology/current';
import type { Topology } from '../topology/types';
import { checkAllocateOptions, type PlacementRequest, type WeightsRequest } from '../util/validate';

/** A placement the native core knows: a kernel decision, registered. @internal */
export interface KernelPlacement extends KernelDecision {
  /** Native placement id. */
  id: number;
}

/** A weighted placement realised by the native core's stripe (native/core/hm_stripe.c): ranges of one mapping, each MPOL_PREFERRED to its node. @internal */
export interface StripePlacement {
  kind: 'stripe';
  policy: 'weighted';
  nodes: number[];
  weights: number[];
}

/** Result of resolving options. @internal */
export type ResolvedPlacement = KernelPlacement | StripePlacement;

const cache = new Map<string, ResolvedPlacement>();

/** Forget cached placements (after the topology or interleave settings change). @internal */
export function clearPlacementCache(): void {
  cache.clear();
  lastRequest = undefined;
  lastResolved = undefined;
}

function memoryNodeIds(t: Topology): number[] {
  return t.nodes.map((n) => n.id);
}

function tierNodes(t: Topology, tier: Tier): number[] {
  return tier === 'EXMEM' ? t.exmemNodes : t.normalNodes;
}

/**
 * What the running kernel supports, as the native core probed it
 * (`native().info()`). An argument of {@link decidePlacement}, so every
 * decision can be tested on fixture topologies without the addon.
 * @internal
 */
export interface KernelCaps {
  /** MPOL_WEIGHTED_INTERLEAVE (kernel 6.9+). */
  weightedInterleave: boolean;
  /** MPOL_PREFERRED_MANY (kernel 5.15+). */
  preferredMany: boolean;
}

/** A kernel-policy decision before the native core registered it. @internal */
export interface KernelDecision {
  kind: 'kernel';
  policy: Policy;
  mode: number;
  nodes: number[];
  /** Charge weights aligned with nodes. */
  charge: number[];
}

/** The placement decision: pure (topology, kernel capabilities and request in; no addon, no sysfs). @internal */
export type PlacementDecision = KernelDecision | StripePlacement;

/** Register (or reuse) a native placement. @internal */
function kernelPlacement(d: KernelDecision): KernelPlacement {
  const id = native().placement(d.mode, d.nodes, d.charge);
  if (id < 0) throw new HmsdkError('ECONFIG', `the native core refused placement ${d.policy} on nodes ${d.nodes.join(',')}`);
  return { ...d, id };
}

function kernel(policy: Policy, mode: number, nodes: number[], charge: number[]): KernelDecision {
  return { kind: 'kernel', policy, mode, nodes, charge };
}

function pickNodes(t: Topology, req: PlacementRequest): number[] {
  const all = memoryNodeIds(t);
  if (req.nodes !== undefined) {
    for (const n of req.nodes) {
      if (!all.includes(n)) throw new HmsdkError('ENODEV', `node ${n} is not an online memory node (memory nodes: ${all.join(',') || 'none'})`);
      if (req.tier !== undefined && !tierNodes(t, req.tier).includes(n)) {
        throw new RangeError(`options.nodes: node ${n} is not in tier ${req.tier} (${req.tier} nodes: ${tierNodes(t, req.tier).join(',') || 'none'})`);
      }
    }
    return [...req.nodes];
  }
  if (req.tier === undefined && (req.policy === 'interleave' || req.policy === 'weighted')) return all;
  const tier = req.tier ?? 'NORMAL';
  let nodes = tierNodes(t, tier);
  if (nodes.length === 0 && tier === 'EXMEM') {
    if (req.fallback === 'normal') nodes = tierNodes(t, 'NORMAL');
    else {
      throw new HmsdkError(
        'ENODEV',
        `no EXMEM node on this machine (memory nodes: ${all.join(',')}, all NORMAL); ` +
          "pass fallback: 'normal' to use DRAM instead, or set HMSDK_EXMEM_NODES to name EXMEM nodes",
      );
    }
  }
  if (nodes.length === 0) throw new HmsdkError('ENODEV', `no ${tier} node on this machine`);
  return nodes;
}

function weightsFor(nodes: number[], w: WeightsRequest | undefined): number[] | undefined {
  if (w === undefined) return undefined;
  if (w.kind === 'list') {
    if (w.values.length !== nodes.length) {
      throw new RangeError(`options.weights has ${w.values.length} entries but the placement has ${nodes.length} nodes (${nodes.join(',')})`);
    }
    return [...w.values];
  }
  const byNode = new Map(w.entries);
  for (const [n] of w.entries) {
    if (!nodes.includes(n)) throw new RangeError(`options.weights names node ${n}, which is not among the nodes ${nodes.join(',')}`);
  }
  return nodes.map((n) => {
    const v = byNode.get(n);
    if (v === undefined) throw new RangeError(`options.weights has no weight for node ${n}`);
    return v;
  });
}

function weightsKey(w: WeightsRequest | undefined): string {
  if (w === undefined) return '';
  return w.kind === 'list' ? `list:${w.values.join(',')}` : `node:${w.entries.map(([n, v]) => `${n}=${v}`).join(',')}`;
}

function sameRatio(a: number[], b: number[]): boolean {
  // a[i]/a[0] === b[i]/b[0] for all i, in integers
  return a.every((x, i) => x * (b[0] as number) === (b[i] as number) * (a[0] as number));
}

/**
 * A weighted placement: the kernel's MPOL_WEIGHTED_INTERLEAVE when it has it
 * and `weights` are in the ratio of its global per-node weights (there is
 * no per-buffer weight vector upstream); otherwise a userspace stripe.
 * @internal
 */
function weightedDecision(t: Topology, caps: KernelCaps, nodes: number[], weights: number[]): PlacementDecision {
  const wi = t.weightedInterleave;
  const system = nodes.map((n) => wi.weights[n] ?? 1);
  if (nodes.length === 1) return kernel('weighted', MPOL.preferred, nodes, [1]);
  if (caps.weightedInterleave && wi.available && sameRatio(weights, system)) {
    return kernel('weighted', MPOL.weightedInterleave, nodes, system);
  }
  // Like the kernel's interleave modes, a stripe falls back when a node is full.
  return { kind: 'stripe', policy: 'weighted', nodes, weights };
}

/**
 * Decide how a validated request is placed on topology `t` by a kernel with
 * capabilities `caps`. Pure: throws `ENODEV` (no such node / tier),
 * `ENOTSUP` (preferred over several nodes without MPOL_PREFERRED_MANY) or a
 * RangeError naming the option; registers nothing.
 * @internal
 */
export function decidePlacement(t: Topology, caps: KernelCaps, req: PlacementRequest): PlacementDecision {
  const policy = req.policy;
  const nodes = pickNodes(t, req);
  const equal = nodes.map(() => 1);
  switch (policy) {
    case 'bind':
      return kernel(policy, MPOL.bind, nodes, equal);
    case 'preferred':
      if (nodes.length > 1 && !caps.preferredMany) {
        throw new HmsdkError('ENOTSUP', 'preferred over several nodes needs MPOL_PREFERRED_MANY (kernel 5.15+)');
      }
      return kernel(policy, nodes.length > 1 ? MPOL.preferredMany : MPOL.preferred, nodes, equal);
    case 'interleave':
      return kernel(policy, MPOL.interleave, nodes, equal);
    case 'weighted': {
      // Weights: the caller's, else the policy engine's plan for these nodes
      // (HMAT or measured bandwidth; a node the plan drops is left out).
      let wNodes = nodes;
      let asked = weightsFor(nodes, req.weights);
      if (asked === undefined) {
        const plan = planInterleave(t, { nodes });
        wNodes = plan.nodes;
        asked = plan.weights;
      }
      return weightedDecision(t, caps, wNodes, asked);
    }
  }
}

/** Resolve a validated placement request into a placement. @internal */
export function resolvePlacement(req: PlacementRequest): ResolvedPlacement {
  // Requests are frozen snapshots: the same object resolves the same way
  // (allocate() without options and s_malloc reuse one).
  if (req === lastRequest && lastResolved) return lastResolved;
  const out = resolveUncached(req);
  lastRequest = req;
  lastResolved = out;
  return out;
}

let lastRequest: PlacementRequest | undefined;
let lastResolved: ResolvedPlacement | undefined;

function resolveUncached(req: PlacementRequest): ResolvedPlacement {
  const key = `${req.policy}|${req.tier ?? ''}|${req.nodes?.join(',') ?? ''}|${req.fallback}|${weightsKey(req.weights)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const info = native().info();
  const d = decidePlacement(topology(), { weightedInterleave: info.weightedInterleave, preferredMany: info.preferredMany }, req);
  const out: ResolvedPlacement = d.kind === 'kernel' ? kernelPlacement(d) : d;
  cache.set(key, out);
  return out;
}

/** How an allocation with given options would be placed (see {@link placementOf}). */
export interface PlacementInfo {
  /** `kernel`: one kernel policy over the mapping; `stripe`: hmsdk's userspace weighted stripe. */
  path: 'kernel' | 'stripe';
  /** The policy asked for. */
  policy: Policy;
  /** Kernel mode for the `kernel` path: 'bind', 'preferred', 'preferred-many', 'interleave', 'weighted-interleave'. */
  mode: string | undefined;
  /** Target nodes. */
  nodes: number[];
  /** Weights aligned with nodes (weighted policy), else undefined. */
  weights: number[] | undefined;
}

/** Kernel mode names of {@link PlacementInfo.mode}. @internal */
const MODE_NAMES: Record<number, string> = {
  [MPOL.preferred]: 'preferred',
  [MPOL.bind]: 'bind',
  [MPOL.interleave]: 'interleave',
  [MPOL.preferredMany]: 'preferred-many',
  [MPOL.weightedInterleave]: 'weighted-interleave',
};

/**
 * Say how `allocate(size, options)` would place memory, without allocating:
 * which nodes, which kernel mode, and whether the weighted policy uses the
 * kernel's MPOL_WEIGHTED_INTERLEAVE or hmsdk's userspace stripe.
 *
 * @example
 * ```ts
 * placementOf({ policy: 'weighted', nodes: [0, 1], weights: [3, 1] });
 * // { path: 'stripe', policy: 'weighted', nodes: [0, 1], weights: [3, 1], mode: undefined }
 * ```
 */
export function placementOf(options?: AllocateOptions): PlacementInfo {
  return describePlacement(resolvePlacement(checkAllocateOptions('options', options).placement));
}

/** The public view of a decision (what {@link placementOf} returns). @internal */
export function describePlacement(p: PlacementDecision): PlacementInfo {
  if (p.kind === 'stripe') return { path: 'stripe', policy: p.policy, mode: undefined, nodes: p.nodes, weights: p.weights };
  return {
    path: 'kernel',
    policy: p.policy,
    mode: MODE_NAMES[p.mode],
    nodes: p.nodes,
    weights: p.policy === 'weighted' ? p.charge : undefined,
  };
}
