/**
 * Free-memory limits on an interleave split.
 *
 * Weighted interleave falls back silently when a node is full, so the plan
 * must not give a node more of the allocation than it can hold. A node can
 * take `available = max(0, memFree − reserve)` bytes with
 * `reserve = max(64 MiB, floor(memTotal / 50))`, the one reserve rule of
 * hmsdk (native/core/hm_reserve.h explains it; the addon and the preload
 * library use the same rule, test/contract.test.ts holds them together).
 *
 * Splitting with limits ({@link capSplit}) is water-filling: each node gets
 * `min(cap_i, λ · p_i)` with the single `λ` that makes the shares sum to 1,
 * so capped nodes are full and the rest keep their bandwidth ratio among
 * themselves. When even the sum of the caps is below 1 the allocation does
 * not fit; the split then follows the caps (every node full) and `fits` is
 * false.
 */

import type { NumaNode } from '../topology/types';

/** Floor of the per-node reserve, bytes. */
export const RESERVE_MIN_BYTES = 64 * 1024 * 1024;
/** Divisor of memTotal for the proportional part of the reserve (2 %). */
export const RESERVE_DIVISOR = 50;

/**
 * Bytes kept free on a node: max(64 MiB, floor(memTotal / 50)).
 *
 * @example
 * ```ts
 * nodeReserve({ memTotal: 16 * 2 ** 30 } as NumaNode); // 343597383 (2 % of 16 GiB)
 * ```
 */
export function nodeReserve(node: Pick<NumaNode, 'memTotal'>): number {
  return Math.max(RESERVE_MIN_BYTES, Math.floor(node.memTotal / RESERVE_DIVISOR));
}

/**
 * Bytes a node can take for a new allocation: max(0, memFree − reserve).
 *
 * @example
 * ```ts
 * availableBytes({ memTotal: 2 ** 34, memFree: 2 ** 33 } as NumaNode); // 8 GiB − 2 % of 16 GiB
 * ```
 */
export function availableBytes(node: Pick<NumaNode, 'memTotal' | 'memFree'>): number {
  return Math.max(0, node.memFree - nodeReserve(node));
}

/** Result of {@link capSplit}. */
export interface CappedSplit {
  /** Shares after capping, sum 1. */
  shares: number[];
  /** Which nodes hit their cap. */
  capped: boolean[];
  /** False when the caps together cannot hold the allocation. */
  fits: boolean;
}

/**
 * Water-fill `ideal` shares under per-node caps (fractions of the allocation).
 *
 * @example
 * ```ts
 * capSplit([0.75, 0.25], [0.2, 1]); // { shares: [0.2, 0.8], capped: [true, false], fits: true }
 * ```
 */
export function capSplit(ideal: readonly number[], caps: readonly number[]): CappedSplit {
  const n = ideal.length;
  const capTotal = caps.reduce((a, b) => a + b, 0);
  if (capTotal < 1 - 1e-12) {
    return {
      shares: caps.map((c) => (capTotal > 0 ? c / capTotal : 1 / n)),
      capped: caps.map(() => true),
      fits: false,
    };
  }
  const capped = ideal.map(() => false);
  for (;;) {
    const fixed = caps.reduce((acc, c, i) => acc + (capped[i] ? c : 0), 0);
    const freeWeight = ideal.reduce((acc, p, i) => acc + (capped[i] ? 0 : p), 0);
    const remaining = 1 - fixed;
    const shares = ideal.map((p, i) => (capped[i] ? (caps[i] ?? 0) : freeWeight > 0 ? (remaining * p) / freeWeight : 0));
    let changed = false;
    shares.forEach((s, i) => {
      if (!capped[i] && s > (caps[i] ?? 0) + 1e-12) {
        capped[i] = true;
        changed = true;
      }
    });
    if (!changed) return { shares, capped, fits: true };
  }
}
