/**
 * Integer interleave weights from a bandwidth ratio.
 *
 * Weighted interleave places `w_i` consecutive pages on node `i`, then moves
 * on, so node `i` receives the share `w_i / Σw`. The kernel takes weights in
 * 1..255 (a u8, and 0 is not a weight). Three ways to turn a real-valued
 * ratio (usually bandwidths in MB/s) into such integers:
 *
 * - `'kernel-auto'` — what Linux 6.16's `weighted_interleave/auto` does
 *   (`reduce_interleave_weights()` in mm/mempolicy.c): with `W = 32`
 *   ("weightiness"), `w_i = max(1, floor(W · v_i / Σv))`, then every weight
 *   is divided by the GCD of all of them. The floor biases small nodes down:
 *   204800:65536 gives 24:7 (77.4 % / 22.6 %, ideal 75.76 % / 24.24 %).
 * - `'hmsdk'` — SK hynix HMSDK `tools/iw_ratio.py`: halve every value while
 *   the largest is > 10, but stop before a halving would bring any non-zero
 *   value to <= 1; round (Python's `round`, half to even); divide by the GCD.
 *   204800:65536 halves 15 times to 6.25:2, rounds to 6:2, gives 3:1.
 *   Two additions of ours, both documented on {@link reduceWeights}: a
 *   weight that rounds to 0 becomes 1, and weights above `max` are scaled down.
 * - `'exact'` (default) — the smallest weight sum `S` (from `n` up to
 *   `maxSum`, default 64) whose best apportionment has every share within
 *   `tolerance` percentage points (default 1 pp) of the ideal share. For a
 *   given `S` the apportionment starts from `round(S · p_i)` clamped to
 *   1..max and moves single units to / from the node that is furthest
 *   under / over its ideal until the sum is `S` (greedy; it minimises the
 *   largest deviation for separable targets like these). If no `S` meets the
 *   tolerance, the `S` with the smallest deviation wins (smallest `S` on
 *   ties). A small sum matters: the sum is the kernel's interleave period in
 *   pages, and a userspace stripe's period in stripes (see `stripe.ts`).
 *   204800:65536 → 3:1 (75 % vs 75.76 %, error 0.76 pp).
 *
 * The reported `error` is `100 · max_i |w_i/Σw − v_i/Σv|`, in percentage
 * points, whatever the method.
 *
 * Note the error in share is not the loss in bandwidth: under the min-link
 * model (`model.ts`) over-weighting the *small* node is what costs most, so
 * 24:7 (error 1.66 pp) predicts slightly more aggregate bandwidth than
 * 3:1 (error 0.76 pp) for 204800:65536. `planInterleave` reports both.
 */

import { KERNEL_MAX_WEIGHT, checkInt, checkNonNegative, checkOneOf, checkPositive, readList } from '../util/validate';

/** How {@link reduceWeights} turns a ratio into integers. See the file header. */
export type WeightMethod = 'kernel-auto' | 'hmsdk' | 'exact';
const METHODS: readonly WeightMethod[] = ['kernel-auto', 'hmsdk', 'exact'];

/** Options of {@link reduceWeights}. */
export interface ReduceWeightsOptions {
  /** Largest weight allowed, 1..255. Default 255 (the kernel's limit). */
  max?: number;
  /** Rounding method. Default `'exact'`. */
  method?: WeightMethod;
  /** `'exact'` only: largest weight sum searched. Default 64 (raised to the node count if smaller). */
  maxSum?: number;
  /** `'exact'` only: accepted deviation per share, percentage points. Default 1. */
  tolerance?: number;
  /**
   * `'exact'` only: upper bound on each resulting share (0..1], aligned with
   * `values` — used by the planner to keep a node within its free memory.
   * A sum `S` is only considered when every node can get at least weight 1
   * within its bound.
   */
  capShares?: readonly number[];
}

/** Result of {@link reduceWeights}. */
export interface ReducedWeights {
  /** Integer weights, 1..max, aligned with the input values. */
  weights: number[];
  /** Largest |share − ideal share| over the nodes, percentage points. */
  error: number;
}

/** The kernel's `weightiness` in `reduce_interleave_weights()`. */
export const KERNEL_AUTO_WEIGHTINESS = 32;
/** HMSDK `iw_ratio.py`'s `SOFT_MAX_RATIO_VAL`. */
export const HMSDK_SOFT_MAX = 10;
/** Default weight-sum bound of the `'exact'` method. */
export const EXACT_DEFAULT_MAX_SUM = 64;
/** Default tolerance of the `'exact'` method, percentage points. */
export const EXACT_DEFAULT_TOLERANCE_PP = 1;

/**
 * Integer interleave weights (1..max) approximating the ratio of `values`.
 *
 * `values` are non-negative (not all zero), usually bandwidths in MB/s. A
 * zero value still gets weight 1 — the kernel has no weight 0; leave such a
 * node out of the node set instead.
 *
 * @throws TypeError / RangeError naming the bad argument.
 *
 * @example
 * ```ts
 * reduceWeights([204800, 65536]);                          // { weights: [3, 1], error: 0.7575… }
 * reduceWeights([204800, 65536], { method: 'kernel-auto' }); // { weights: [24, 7], error: 1.66… }
 * reduceWeights([204800, 65536], { method: 'hmsdk' });       // { weights: [3, 1], error: 0.7575… }
 * ```
 */
export function reduceWeights(values: readonly number[], opts: ReduceWeightsOptions = {}): ReducedWeights {
  const vals = readList('values', values).map((v, i) => checkNonNegative(`values[${i}]`, v));
  if (vals.length === 0) throw new RangeError('values must not be empty');
  const total = vals.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new RangeError('values must not all be zero');
  const max = opts.max === undefined ? KERNEL_MAX_WEIGHT : checkInt('opts.max', opts.max, 1, KERNEL_MAX_WEIGHT);
  const method = opts.method === undefined ? 'exact' : checkOneOf('opts.method', opts.method, METHODS);
  const ideal = vals.map((v) => v / total);

  let weights: number[];
  switch (method) {
    case 'kernel-auto':
      weights = kernelAuto(vals, total, max);
      break;
    case 'hmsdk':
      weights = hmsdk(vals, max);
      break;
    case 'exact':
      weights = exact(ideal, max, opts);
      break;
  }
  return { weights, error: shareError(weights, ideal) };
}

/**
 * Shares `w_i / Σw` of a weight vector.
 *
 * @example
 * ```ts
 * weightShares([3, 1]); // [0.75, 0.25]
 * ```
 */
export function weightShares(weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => (sum > 0 ? w / sum : 0));
}

/**
 * Largest |w_i/Σw − ideal_i| in percentage points.
 *
 * @example
 * ```ts
 * shareError([3, 1], [0.7576, 0.2424]); // ≈ 0.76
 * ```
 */
export function shareError(weights: readonly number[], ideal: readonly number[]): number {
  const shares = weightShares(weights);
  let worst = 0;
  shares.forEach((s, i) => {
    worst = Math.max(worst, Math.abs(s - (ideal[i] ?? 0)));
  });
  return worst * 100;
}

/** Greatest common divisor of positive integers (0 for an empty list). */
export function gcdOf(values: readonly number[]): number {
  let g = 0;
  for (const v of values) {
    let a = g;
    let b = v;
    while (b !== 0) [a, b] = [b, a % b];
    g = a;
  }
  return g;
}

function divideByGcd(weights: number[]): number[] {
  const g = gcdOf(weights);
  return g > 1 ? weights.map((w) => w / g) : weights;
}

/** Linux 6.16 `reduce_interleave_weights()`, with weightiness min(32, max). */
function kernelAuto(vals: readonly number[], total: number, max: number): number[] {
  const weightiness = Math.min(KERNEL_AUTO_WEIGHTINESS, max);
  return divideByGcd(vals.map((v) => Math.max(1, Math.floor((weightiness * v) / total))));
}

/** HMSDK `get_iw_ratio()` plus: 0 → 1, and scale down above `max`. */
function hmsdk(vals: readonly number[], max: number): number[] {
  let data = [...vals];
  while (Math.max(...data) > HMSDK_SOFT_MAX) {
    const halved = data.map((v) => v / 2);
    if (halved.some((v) => v !== 0 && v <= 1)) break;
    data = halved;
  }
  let weights = divideByGcd(data.map((v) => Math.max(1, roundHalfEven(v))));
  const top = Math.max(...weights);
  if (top > max) weights = divideByGcd(weights.map((w) => Math.max(1, Math.round((w * max) / top))));
  return weights;
}

/** Python 3 `round()` on a non-negative number: ties go to the even integer. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function exact(ideal: readonly number[], max: number, opts: ReduceWeightsOptions): number[] {
  const n = ideal.length;
  const maxSum = Math.max(
    n,
    opts.maxSum === undefined ? EXACT_DEFAULT_MAX_SUM : checkInt('opts.maxSum', opts.maxSum, 1, n * KERNEL_MAX_WEIGHT),
  );
  const tolerance = opts.tolerance === undefined ? EXACT_DEFAULT_TOLERANCE_PP : checkNonNegative('opts.tolerance', opts.tolerance);
  let caps: number[] | undefined;
  if (opts.capShares !== undefined) {
    const arr = readList('opts.capShares', opts.capShares);
    if (arr.length !== n) throw new RangeError(`opts.capShares must have ${n} entries, got ${arr.length}`);
    caps = arr.map((c, i) => Math.min(1, checkPositive(`opts.capShares[${i}]`, c)));
  }

  let best: { weights: number[]; error: number } | undefined;
  for (let sum = n; sum <= Math.min(maxSum, n * max); sum++) {
    const hi = ideal.map((_, i) => Math.min(max, caps ? Math.floor((caps[i] ?? 1) * sum + 1e-9) : max));
    const weights = apportion(ideal, sum, hi);
    if (!weights) continue;
    const error = shareError(weights, ideal);
    if (error <= tolerance + 1e-9) return weights;
    if (!best || error < best.error - 1e-12) best = { weights, error };
  }
  if (!best) {
    throw new RangeError(
      `opts.capShares leave no weight vector with sum <= ${maxSum} (a node can hold less than 1/${maxSum} of the allocation)`,
    );
  }
  return best.weights;
}

/**
 * Integer vector with the given sum, `1 <= w_i <= hi_i`, close to `sum · p_i`
 * (greedy minimax), or undefined when the bounds make the sum impossible.
 */
export function apportion(p: readonly number[], sum: number, hi: readonly number[]): number[] | undefined {
  const n = p.length;
  let lowSum = 0;
  let highSum = 0;
  for (let i = 0; i < n; i++) {
    const h = hi[i] ?? 0;
    if (h < 1) return undefined;
    lowSum += 1;
    highSum += h;
  }
  if (sum < lowSum || sum > highSum) return undefined;
  const target = p.map((x) => x * sum);
  const w = target.map((t, i) => Math.min(hi[i] ?? 1, Math.max(1, Math.round(t))));
  let total = w.reduce((a, b) => a + b, 0);
  while (total < sum) {
    let pick = -1;
    for (let i = 0; i < n; i++) {
      if ((w[i] ?? 0) >= (hi[i] ?? 0)) continue;
      if (pick < 0 || (target[i] ?? 0) - (w[i] ?? 0) > (target[pick] ?? 0) - (w[pick] ?? 0)) pick = i;
    }
    w[pick] = (w[pick] ?? 0) + 1;
    total++;
  }
  while (total > sum) {
    let pick = -1;
    for (let i = 0; i < n; i++) {
      if ((w[i] ?? 0) <= 1) continue;
      if (pick < 0 || (w[i] ?? 0) - (target[i] ?? 0) > (w[pick] ?? 0) - (target[pick] ?? 0)) pick = i;
    }
    w[pick] = (w[pick] ?? 0) - 1;
    total--;
  }
  return w;
}
