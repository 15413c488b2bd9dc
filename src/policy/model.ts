/**
 * Bandwidth model of an interleaved allocation ("min-link model").
 *
 * A bandwidth-bound workload streams through its pages; with a page split
 * `s_i` (Σ s_i = 1) every byte it moves comes from node `i` with
 * probability `s_i`. If node `i`'s link delivers at most `B_i` MB/s (as seen
 * from the initiator), moving `X` MB takes at least `X · s_i / B_i` on that
 * link, and all links work in parallel, so the aggregate is limited by the
 * slowest *relative* link:
 *
 *     aggregate = min over i with s_i > 0 of  B_i / s_i
 *
 * Every link is busy until the one with the highest `s_i / B_i` saturates.
 * The maximum, `Σ B_i`, is reached exactly when `s_i ∝ B_i`
 * ({@link optimalSplit}); 1:1 over DRAM 204800 + CXL 65536 gives
 * `2 · 65536 = 131072` (below DRAM alone), 3:1 gives 262144, 1:0 gives 204800.
 * It ignores queueing, the CPU's own limits (a few cores cannot saturate
 * DRAM) and cross-traffic; it predicts the shape, not the exact figure.
 *
 * Which bandwidth: HMAT (and benchmarks) give read and write figures. The
 * workload hint picks one per link ({@link linkBandwidth}):
 * `read-heavy` and `latency-sensitive` → read; `write-heavy` → write;
 * `mixed` → `min(read, write)` like the kernel's `auto` mode, or, when a read
 * fraction `r` is given, the time-weighted harmonic mean
 * `1 / (r/read + (1−r)/write)` (a link serving both directions spends the
 * sum of the two transfer times).
 *
 * Latency of a split: the average of the per-node latencies weighted by the
 * split, `Σ s_i · L_i` — the expected latency of a random access (unloaded;
 * loaded latency grows as a link nears saturation, which this ignores).
 */

import { checkFinite, checkNonNegative, checkPositive, readList } from '../util/validate';

/** Workload hint steering which bandwidth/latency figure is used. */
export type Workload = 'read-heavy' | 'write-heavy' | 'mixed' | 'latency-sensitive';

/** All workload hints, for validation and help texts. */
export const WORKLOADS: readonly Workload[] = ['read-heavy', 'write-heavy', 'mixed', 'latency-sensitive'];

/** Prediction of {@link predictBandwidth}. */
export interface BandwidthPrediction {
  /** Aggregate bandwidth, MB/s: min over used links of B_i / s_i. */
  aggregateMBps: number;
  /** Traffic each link carries at that aggregate (aggregate · s_i), MB/s. */
  perNodeMBps: number[];
  /** Index (into the inputs) of the link that saturates first. */
  bottleneck: number;
}

/**
 * Aggregate bandwidth of a page split under the min-link model.
 *
 * @param bandwidthsMBps - per-link bandwidth B_i (> 0), MB/s
 * @param split - page share per link (>= 0, not all 0; normalised to sum 1)
 *
 * @example
 * ```ts
 * predictBandwidth([204800, 65536], [0.75, 0.25]).aggregateMBps; // 262144 (CXL saturates)
 * predictBandwidth([204800, 65536], [0.5, 0.5]).aggregateMBps;   // 131072
 * ```
 */
export function predictBandwidth(bandwidthsMBps: readonly number[], split: readonly number[]): BandwidthPrediction {
  const bw = readList('bandwidthsMBps', bandwidthsMBps).map((b, i) => checkPositive(`bandwidthsMBps[${i}]`, b));
  const s = normalise('split', split, bw.length);
  let aggregate = Infinity;
  let bottleneck = -1;
  s.forEach((si, i) => {
    if (si <= 0) return;
    const limit = (bw[i] ?? 0) / si;
    if (limit < aggregate) {
      aggregate = limit;
      bottleneck = i;
    }
  });
  return { aggregateMBps: aggregate, perNodeMBps: s.map((si) => aggregate * si), bottleneck };
}

/**
 * The bandwidth-optimal split: s_i = B_i / Σ B (all links saturate together,
 * aggregate Σ B).
 *
 * @example
 * ```ts
 * optimalSplit([204800, 65536]); // [0.7576…, 0.2424…]
 * ```
 */
export function optimalSplit(bandwidthsMBps: readonly number[]): number[] {
  const bw = readList('bandwidthsMBps', bandwidthsMBps).map((b, i) => checkNonNegative(`bandwidthsMBps[${i}]`, b));
  const total = bw.reduce((a, b) => a + b, 0);
  if (bw.length === 0 || total <= 0) throw new RangeError('bandwidthsMBps must contain a value > 0');
  return bw.map((b) => b / total);
}

/**
 * Expected (unloaded) latency of a split: Σ s_i · L_i, ns.
 *
 * @example
 * ```ts
 * splitLatency([100, 250], [0.75, 0.25]); // 137.5
 * ```
 */
export function splitLatency(latenciesNs: readonly number[], split: readonly number[]): number {
  const lat = readList('latenciesNs', latenciesNs).map((l, i) => checkNonNegative(`latenciesNs[${i}]`, l));
  const s = normalise('split', split, lat.length);
  return s.reduce((acc, si, i) => acc + si * (lat[i] ?? 0), 0);
}

/** Read/write figures of one link; either may be unknown. */
export interface ReadWriteFigures {
  read: number | undefined;
  write: number | undefined;
}

/**
 * The single bandwidth figure the model uses for a link under a workload
 * hint (see the file header). Falls back to whichever figure exists;
 * undefined when neither does.
 *
 * @param readFraction - `mixed` only: share of bytes read (0..1); omitted → min(read, write)
 *
 * @example
 * ```ts
 * linkBandwidth({ read: 200, write: 100 }, 'mixed');      // 100
 * linkBandwidth({ read: 200, write: 100 }, 'mixed', 0.5); // 133.3…
 * ```
 */
export function linkBandwidth(fig: ReadWriteFigures, workload: Workload, readFraction?: number): number | undefined {
  const { read, write } = fig;
  if (read === undefined || write === undefined) return read ?? write;
  switch (workload) {
    case 'read-heavy':
    case 'latency-sensitive':
      return read;
    case 'write-heavy':
      return write;
    case 'mixed': {
      if (readFraction === undefined) return Math.min(read, write);
      const r = checkFinite('readFraction', readFraction);
      if (r < 0 || r > 1) throw new RangeError(`readFraction must be in 0..1, got ${r}`);
      return 1 / (r / read + (1 - r) / write);
    }
  }
}

/** Name of the figure {@link linkBandwidth} uses, for the plan's `model` line. */
export function linkBandwidthLabel(workload: Workload, readFraction?: number): string {
  switch (workload) {
    case 'read-heavy':
    case 'latency-sensitive':
      return 'read bandwidth';
    case 'write-heavy':
      return 'write bandwidth';
    case 'mixed':
      return readFraction === undefined
        ? 'min(read, write) bandwidth'
        : `read/write harmonic bandwidth (read fraction ${readFraction})`;
  }
}

function normalise(name: string, split: readonly number[], n: number): number[] {
  const s = readList(name, split).map((x, i) => checkNonNegative(`${name}[${i}]`, x));
  if (s.length !== n) throw new RangeError(`${name} must have ${n} entries, got ${s.length}`);
  const total = s.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new RangeError(`${name} must contain a value > 0`);
  return s.map((x) => x / total);
}
