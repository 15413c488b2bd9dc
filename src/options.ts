/**
 * Public option types of the allocation API and their validation. Argument
 * errors are TypeError / RangeError naming the argument; nothing is
 * defaulted silently (an unknown option key is an error).
 */
import { constants as bufferConstants } from 'node:buffer';

/** Memory tier, SMDK terms: NORMAL = DRAM near the CPUs, EXMEM = expander (CXL) memory. */
export type Tier = 'NORMAL' | 'EXMEM';

/** SMDK constant for the DRAM tier. */
export const SMDK_MEM_NORMAL: Tier = 'NORMAL';
/** SMDK constant for the expander (CXL) tier. */
export const SMDK_MEM_EXMEM: Tier = 'EXMEM';

/**
 * Placement policy:
 * - `bind`: strict (MPOL_BIND); the pages come from the given nodes or the
 *   allocation fails with `ENOMEM`. Default.
 * - `preferred`: soft (MPOL_PREFERRED / PREFERRED_MANY); falls back to
 *   other nodes when the preferred ones are full.
 * - `interleave`: pages round-robin over the nodes (MPOL_INTERLEAVE).
 * - `weighted`: pages split over the nodes in proportion to `weights`
 *   (MPOL_WEIGHTED_INTERLEAVE, kernel 6.9+).
 */
export type Policy = 'bind' | 'preferred' | 'interleave' | 'weighted';

/**
 * Options of {@link allocate}. Give a `tier`, or `node` / `nodes`; with
 * neither, NORMAL memory.
 *
 * @example
 * ```ts
 * allocate(n, { tier: 'EXMEM', fallback: 'normal' });           // CXL if the machine has it, else DRAM
 * allocate(n, { nodes: [0, 1], policy: 'interleave' });           // pages round-robin over 0 and 1
 * allocate(n, { nodes: [0, 1], policy: 'weighted', weights: [3, 1] }); // 75% / 25%
 * ```
 */
export interface AllocateOptions {
  /** Tier to allocate from (all its nodes). Default `'NORMAL'` unless `node`/`nodes` is given. */
  tier?: Tier;
  /** One node id. Exclusive with `nodes`. */
  node?: number;
  /** Several node ids (the policy spreads or restricts over them). */
  nodes?: readonly number[];
  /** Placement policy; default `'bind'`. */
  policy?: Policy;
  /** Per-node weights for `policy: 'weighted'`, aligned with `nodes` or keyed by node id. Integers 1..255. */
  weights?: readonly number[] | Readonly<Record<number, number>>;
  /** Fault every page in before returning (the pages are resident when the call returns). Default false. */
  populate?: boolean;
  /** Return zeroed memory. Default true for {@link allocate}; `s_malloc` does not zero, `s_calloc` does. */
  zero?: boolean;
  /**
   * What to do when `tier: 'EXMEM'` is asked on a machine without EXMEM nodes:
   * `'none'` (default) throws `ENODEV`; `'normal'` allocates from NORMAL instead.
   */
  fallback?: 'none' | 'normal';
}

const KEYS = new Set(['tier', 'node', 'nodes', 'policy', 'weights', 'populate', 'zero', 'fallback']);
const POLICIES = new Set(['bind', 'preferred', 'interleave', 'weighted']);

/** Largest buffer this runtime can address (`buffer.constants.MAX_LENGTH`). */
export const MAX_SIZE = bufferConstants.MAX_LENGTH;

/** Validate a byte count argument. @internal */
export function checkSize(size: unknown, name = 'size'): number {
  if (typeof size !== 'number') throw new TypeError(`${name} must be a number of bytes, got ${typeof size}`);
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`${name} must be a positive integer, got ${size}`);
  if (size > MAX_SIZE) throw new RangeError(`${name} ${size} exceeds the largest buffer this runtime supports (${MAX_SIZE} bytes)`);
  return size;
}

/** Validate a tier argument. @internal */
export function checkTier(tier: unknown, name = 'type'): Tier {
  if (tier === 'NORMAL' || tier === 'EXMEM') return tier;
  throw new TypeError(`${name} must be 'NORMAL' or 'EXMEM' (SMDK_MEM_NORMAL / SMDK_MEM_EXMEM), got ${JSON.stringify(tier)}`);
}

/** Validate a node id argument (shape only; existence is checked against the topology). @internal */
export function checkNodeId(node: unknown, name = 'node'): number {
  if (typeof node !== 'number') throw new TypeError(`${name} must be a node id (number), got ${typeof node}`);
  if (!Number.isInteger(node) || node < 0 || node > 1023) throw new RangeError(`${name} must be an integer node id 0..1023, got ${node}`);
  return node;
}

/** Validate the options object of allocate(). @internal */
export function checkOptions(opts: unknown): AllocateOptions {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object') throw new TypeError(`options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new TypeError(`options.${k} is not an option (known: ${[...KEYS].join(', ')})`);
  if (o.tier !== undefined) checkTier(o.tier, 'options.tier');
  if (o.node !== undefined) checkNodeId(o.node, 'options.node');
  if (o.nodes !== undefined) {
    if (!Array.isArray(o.nodes)) throw new TypeError('options.nodes must be an array of node ids');
    if (o.nodes.length === 0) throw new RangeError('options.nodes must not be empty');
    o.nodes.forEach((n, i) => checkNodeId(n, `options.nodes[${i}]`));
    if (new Set(o.nodes).size !== o.nodes.length) throw new RangeError(`options.nodes has duplicates: ${o.nodes.join(',')}`);
  }
  if (o.node !== undefined && o.nodes !== undefined) throw new TypeError('options.node and options.nodes are exclusive');
  if (o.policy !== undefined && !POLICIES.has(o.policy as string)) {
    throw new TypeError(`options.policy must be one of ${[...POLICIES].join(', ')}, got ${JSON.stringify(o.policy)}`);
  }
  for (const b of ['populate', 'zero'] as const) {
    if (o[b] !== undefined && typeof o[b] !== 'boolean') throw new TypeError(`options.${b} must be a boolean`);
  }
  if (o.fallback !== undefined && o.fallback !== 'none' && o.fallback !== 'normal') {
    throw new TypeError(`options.fallback must be 'none' or 'normal', got ${JSON.stringify(o.fallback)}`);
  }
  if (o.weights !== undefined) {
    if (o.policy !== 'weighted') throw new TypeError("options.weights needs policy: 'weighted'");
    if (typeof o.weights !== 'object' || o.weights === null) throw new TypeError('options.weights must be an array or an object keyed by node id');
    for (const [k, w] of Object.entries(o.weights)) {
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > 255) {
        throw new RangeError(`options.weights[${k}] must be an integer 1..255, got ${String(w)}`);
      }
    }
  }
  return o as AllocateOptions;
}
