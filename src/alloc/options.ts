/**
 * Public option types and constants of the allocation API. Their validation
 * (argument errors are TypeError / RangeError naming the argument; nothing
 * is defaulted silently, an unknown option key is an error) is in
 * ../util/validate.ts.
 */
import { constants as bufferConstants } from 'node:buffer';

import type { Tier } from '../topology/types';

export type { Tier };

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

/** Largest buffer this runtime can address (`buffer.constants.MAX_LENGTH`). */
export const MAX_SIZE = bufferConstants.MAX_LENGTH;
