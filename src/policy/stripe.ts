/**
 * Userspace weighted stripe: a weighted interleave built from plain
 * per-range `mbind(MPOL_BIND)` calls, for kernels without
 * MPOL_WEIGHTED_INTERLEAVE (< 6.9) and for per-buffer weights that differ
 * from the kernel's global ones (the kernel has one weight per node for the
 * whole system).
 *
 * Layout: the mapping is cut into stripes of `unit` bytes; stripes are dealt
 * out in weight order — `w_A` stripes to node A, then `w_B` to node B, …,
 * then again from A — exactly like the kernel interleaves by page offset,
 * but with `unit` instead of one page. Adjacent stripes for the same node are
 * merged (A's `w_A` stripes form one range), so a full cycle costs one
 * segment per node. Offsets are page-aligned; every length is a multiple of
 * the page size except possibly the last one, which ends at `size` (mbind
 * rounds a length up to whole pages anyway).
 *
 * Choosing the unit (trade-off): one page gives the kernel's exact pattern
 * and the finest ratio for small buffers, but one mbind call and one VMA per
 * run and it splits transparent huge pages (THP needs 2 MiB-aligned 2 MiB
 * runs on one node). Large units mean few VMAs and THP-backed runs, but the
 * last partial cycle skews the ratio of smaller buffers. Default: the largest
 * power of two from 2 MiB down to the page size whose realized shares are
 * within 0.1 pp of the weight shares (page size when none is). An explicit
 * `stripeBytes` is used as given (rounded up to a page multiple).
 *
 * VMA bound: every range with its own policy is a VMA, and Linux limits VMAs
 * per process (`vm.max_map_count`, 65530 by default) — for the whole
 * process, V8 heap and all. The segment count is therefore bounded
 * (`maxSegments`, default 4096 per allocation): the unit is doubled until the
 * layout has at most that many segments. A 64 GiB buffer at 3:1 with 2 MiB
 * stripes would need 16384 segments; it gets 8 MiB stripes and 4096.
 */

import { checkInt, checkNodeList, checkPowerOfTwo, checkWeight, readList } from '../util/validate';

/** Options of {@link stripeSegments}. */
export interface StripeOptions {
  /** Stripe unit, bytes (rounded up to a page multiple). Default: adaptive, ≤ 2 MiB (see file header). */
  stripeBytes?: number;
  /** Page size, bytes (power of two). Default 4096. */
  pageSize?: number;
  /** Most segments (VMAs) for the allocation; the unit grows to respect it. Default 4096. */
  maxSegments?: number;
}

/** One range of the mapping and the node it is bound to. */
export interface StripeSegment {
  /** Byte offset from the start of the mapping (page-aligned). */
  offset: number;
  /** Length in bytes. */
  length: number;
  /** Target node id. */
  node: number;
}

/** Largest default stripe unit: one x86-64 PMD huge page. */
export const DEFAULT_MAX_STRIPE_BYTES = 2 * 1024 * 1024;
/** Default bound on segments (VMAs) per allocation. */
export const DEFAULT_MAX_SEGMENTS = 4096;
/** Most segments a stripe may have or a caller may pass in (bounds the walk over a caller's list). */
const MAX_SEGMENTS = 2 ** 20;
/** Default page size. */
export const DEFAULT_PAGE_SIZE = 4096;
/** Accuracy the adaptive default unit aims for, percentage points. */
export const STRIPE_TARGET_ERROR_PP = 0.1;

/**
 * Consecutive `[offset, offset+length)` ranges covering `[0, size)` exactly,
 * dealt to `nodes` in proportion to `weights` (see the file header).
 *
 * @example
 * ```ts
 * stripeSegments(16 * 4096, [0, 1], [3, 1], { stripeBytes: 4096 });
 * // [{offset: 0, length: 12288, node: 0}, {offset: 12288, length: 4096, node: 1},
 * //  {offset: 16384, length: 12288, node: 0}, ...]  (4 cycles, 8 segments)
 * ```
 */
export function stripeSegments(size: number, nodes: readonly number[], weights: readonly number[], opts: StripeOptions = {}): StripeSegment[] {
  const layout = resolveLayout(size, nodes, weights, opts);
  const { unit, ids, w } = layout;
  const cycle = w.reduce((a, b) => a + b, 0) * unit;
  const out: StripeSegment[] = [];
  const push = (offset: number, length: number, node: number): void => {
    const last = out[out.length - 1];
    if (last && last.node === node && last.offset + last.length === offset) last.length += length;
    else out.push({ offset, length, node });
  };
  for (let start = 0; start < size; start += cycle) {
    let offset = start;
    for (let i = 0; i < ids.length && offset < size; i++) {
      const length = Math.min((w[i] ?? 0) * unit, size - offset);
      push(offset, length, ids[i] ?? 0);
      offset += length;
    }
  }
  return out;
}

/**
 * The unit {@link stripeSegments} uses for these arguments, and the
 * segment count and realized byte shares it yields (without building the
 * segments).
 *
 * @example
 * ```ts
 * stripeLayout(256 * 2 ** 20, [0, 1], [3, 1]).unit; // 2097152
 * ```
 */
export function stripeLayout(
  size: number,
  nodes: readonly number[],
  weights: readonly number[],
  opts: StripeOptions = {},
): { unit: number; segments: number; shares: number[] } {
  const { unit, w } = resolveLayout(size, nodes, weights, opts);
  const stats = layoutStats(size, w, unit);
  return { unit, segments: stats.segments, shares: stats.bytes.map((b) => b / size) };
}

/** Realized share of one node in a set of segments. */
export interface StripeShare {
  /** Node id. */
  node: number;
  /** Pages on the node (a partial last page counts as one). */
  pages: number;
  /** Bytes on the node. */
  bytes: number;
  /** pages / total pages. */
  share: number;
}

/**
 * Realized page shares of a stripe layout, per node in order of first
 * appearance.
 *
 * @example
 * ```ts
 * stripeShares(stripeSegments(256 * 2 ** 20, [0, 1], [3, 1]));
 * // [{ node: 0, share: 0.75, ... }, { node: 1, share: 0.25, ... }]
 * ```
 */
export function stripeShares(segments: readonly StripeSegment[], pageSize: number = DEFAULT_PAGE_SIZE): StripeShare[] {
  checkPageSize('pageSize', pageSize);
  const by = new Map<number, { pages: number; bytes: number }>();
  let total = 0;
  for (const s of readList('segments', segments, MAX_SEGMENTS) as StripeSegment[]) {
    const pages = Math.ceil(s.length / pageSize);
    const entry = by.get(s.node) ?? { pages: 0, bytes: 0 };
    entry.pages += pages;
    entry.bytes += s.length;
    by.set(s.node, entry);
    total += pages;
  }
  return [...by].map(([node, { pages, bytes }]) => ({ node, pages, bytes, share: total > 0 ? pages / total : 0 }));
}

function resolveLayout(size: number, nodes: readonly number[], weights: readonly number[], opts: StripeOptions): { unit: number; ids: number[]; w: number[] } {
  checkInt('size', size, 1, Number.MAX_SAFE_INTEGER);
  const ids = checkNodeList('nodes', nodes);
  const w = readList('weights', weights).map((x, i) => checkWeight(`weights[${i}]`, x));
  if (w.length !== ids.length) throw new RangeError(`weights must have ${ids.length} entries (one per node), got ${w.length}`);
  const pageSize = opts.pageSize === undefined ? DEFAULT_PAGE_SIZE : checkPageSize('opts.pageSize', opts.pageSize);
  const maxSegments = opts.maxSegments === undefined ? DEFAULT_MAX_SEGMENTS : checkInt('opts.maxSegments', opts.maxSegments, 1, MAX_SEGMENTS);
  const wsum = w.reduce((a, b) => a + b, 0);

  let unit: number;
  if (opts.stripeBytes !== undefined) {
    const s = checkInt('opts.stripeBytes', opts.stripeBytes, 1, Number.MAX_SAFE_INTEGER);
    unit = Math.ceil(s / pageSize) * pageSize;
  } else {
    unit = pageSize;
    for (let u = Math.max(pageSize, DEFAULT_MAX_STRIPE_BYTES); u >= pageSize; u /= 2) {
      const { bytes } = layoutStats(size, w, u);
      const err = Math.max(...bytes.map((b, i) => Math.abs(b / size - (w[i] ?? 0) / wsum))) * 100;
      if (err <= STRIPE_TARGET_ERROR_PP) {
        unit = u;
        break;
      }
    }
  }
  while (layoutStats(size, w, unit).segments > maxSegments) unit *= 2;
  return { unit, ids, w };
}

/** Segment count and bytes per node of a layout, in O(n). */
function layoutStats(size: number, w: readonly number[], unit: number): { segments: number; bytes: number[] } {
  const n = w.length;
  const wsum = w.reduce((a, b) => a + b, 0);
  const stripes = Math.ceil(size / unit);
  const full = Math.floor(stripes / wsum);
  const rem = stripes - full * wsum;
  const bytes: number[] = [];
  let prefix = 0;
  let partialRuns = 0;
  let lastNode = -1;
  for (let i = 0; i < n; i++) {
    const wi = w[i] ?? 0;
    const inPartial = Math.min(Math.max(rem - prefix, 0), wi);
    if (inPartial > 0) partialRuns++;
    if (prefix < rem) lastNode = i;
    bytes.push((full * wi + inPartial) * unit);
    prefix += wi;
  }
  // The last stripe is cut at `size`: take the excess off its node.
  if (rem === 0) lastNode = n - 1;
  bytes[lastNode] = (bytes[lastNode] ?? 0) - (stripes * unit - size);
  const segments = n === 1 ? 1 : full * n + partialRuns;
  return { segments, bytes };
}

function checkPageSize(name: string, value: number): number {
  return checkPowerOfTwo(name, value, 1, 2 ** 30);
}
