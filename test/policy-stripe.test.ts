import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_SEGMENTS,
  stripeLayout,
  stripeSegments,
  stripeShares,
  type StripeSegment,
} from '../src/policy/stripe';
import { rng } from './helpers/rng';

const PAGE = 4096;
const MiB = 2 ** 20;
const GiB = 2 ** 30;


/** Coverage, alignment and merge invariants every layout must satisfy (one expect: fast in loops). */
function checkInvariants(segs: StripeSegment[], size: number, nodes: number[], pageSize = PAGE): void {
  const problems: string[] = [];
  if (segs.length === 0) problems.push('no segments');
  let expectOffset = 0;
  segs.forEach((s, i) => {
    if (s.offset !== expectOffset) problems.push(`segment ${i} starts at ${s.offset}, expected ${expectOffset}`);
    if (s.offset % pageSize !== 0) problems.push(`segment ${i} offset not page-aligned`);
    if (!(s.length > 0)) problems.push(`segment ${i} empty`);
    if (i < segs.length - 1 && s.length % pageSize !== 0) problems.push(`segment ${i} length not a page multiple`);
    if (!nodes.includes(s.node)) problems.push(`segment ${i} on unknown node ${s.node}`);
    if (i > 0 && s.node === segs[i - 1]?.node) problems.push(`segments ${i - 1} and ${i} not merged`);
    expectOffset += s.length;
  });
  if (expectOffset !== size) problems.push(`segments cover ${expectOffset} bytes, expected ${size}`);
  expect(problems.slice(0, 5)).toEqual([]);
}

/** Reference layout: deal page-granular stripes one by one (no merging, no cleverness). */
function naiveBytes(size: number, nodes: number[], weights: number[], unit: number): Map<number, number> {
  const out = new Map<number, number>();
  const pattern = nodes.flatMap((n, i) => Array<number>(weights[i] ?? 0).fill(n));
  let k = 0;
  for (let off = 0; off < size; off += unit, k++) {
    const node = pattern[k % pattern.length] ?? -1;
    out.set(node, (out.get(node) ?? 0) + Math.min(unit, size - off));
  }
  return out;
}

describe('stripeSegments', () => {
  it('page stripes follow the kernel pattern: 3 pages on A, 1 on B, repeat', () => {
    const segs = stripeSegments(16 * PAGE, [0, 1], [3, 1], { stripeBytes: PAGE });
    expect(segs.slice(0, 3)).toEqual([
      { offset: 0, length: 3 * PAGE, node: 0 },
      { offset: 3 * PAGE, length: PAGE, node: 1 },
      { offset: 4 * PAGE, length: 3 * PAGE, node: 0 },
    ]);
    expect(segs).toHaveLength(8);
    checkInvariants(segs, 16 * PAGE, [0, 1]);
  });

  it('256 MiB at 3:1 realizes 75/25 within 0.1 pp', () => {
    const segs = stripeSegments(256 * MiB, [0, 1], [3, 1]);
    checkInvariants(segs, 256 * MiB, [0, 1]);
    const shares = stripeShares(segs);
    expect(shares.map((s) => s.node)).toEqual([0, 1]);
    expect(Math.abs((shares[0]?.share ?? 0) - 0.75) * 100).toBeLessThanOrEqual(0.1);
    expect(Math.abs((shares[1]?.share ?? 0) - 0.25) * 100).toBeLessThanOrEqual(0.1);
    expect(segs.length).toBeLessThanOrEqual(DEFAULT_MAX_SEGMENTS);
  });

  it('default unit is 2 MiB when that is accurate enough, smaller for small buffers', () => {
    expect(stripeLayout(256 * MiB, [0, 1], [3, 1]).unit).toBe(2 * MiB);
    // 1 MiB at 3:1: a 2 MiB stripe would put everything on node 0; the unit shrinks until within 0.1 pp
    const small = stripeLayout(MiB, [0, 1], [3, 1]);
    expect(small.unit).toBeLessThan(MiB);
    expect(Math.abs((small.shares[0] ?? 0) - 0.75) * 100).toBeLessThanOrEqual(0.1);
  });

  it('a size that is not a page multiple ends exactly at size', () => {
    const size = 10 * PAGE + 123;
    const segs = stripeSegments(size, [0, 1], [1, 1], { stripeBytes: PAGE });
    checkInvariants(segs, size, [0, 1]);
    expect(segs[segs.length - 1]?.length).toBe(123);
    // 11 pages, dealt 1:1 starting with node 0 → 6 pages on 0, 5 on 1
    expect(stripeShares(segs).map((s) => s.pages)).toEqual([6, 5]);
  });

  it('VMA bound: 64 GiB at 3:1 grows the unit to keep <= 4096 segments', () => {
    const layout = stripeLayout(64 * GiB, [0, 1], [3, 1]);
    // 2 segments per 4-stripe cycle: 64 GiB / (4 · unit) · 2 <= 4096 → unit >= 8 MiB
    expect(layout.unit).toBe(8 * MiB);
    const segs = stripeSegments(64 * GiB, [0, 1], [3, 1]);
    expect(segs.length).toBe(layout.segments);
    expect(segs.length).toBeLessThanOrEqual(4096);
    checkInvariants(segs, 64 * GiB, [0, 1]);
    expect(stripeShares(segs)[0]?.share).toBe(0.75);
  });

  it('maxSegments is honoured even for page stripes asked explicitly', () => {
    const segs = stripeSegments(64 * MiB, [0, 1, 2], [5, 3, 1], { stripeBytes: PAGE, maxSegments: 30 });
    expect(segs.length).toBeLessThanOrEqual(30);
    checkInvariants(segs, 64 * MiB, [0, 1, 2]);
  });

  it('property: invariants, ratio bound and agreement with a naive layout over many sizes and weights', () => {
    const rand = rng(2024);
    for (let iter = 0; iter < 400; iter++) {
      const n = 1 + Math.floor(rand() * 4);
      const nodes = Array.from({ length: n }, (_, i) => i * 2 + (iter % 2)); // non-contiguous ids
      const weights = Array.from({ length: n }, () => 1 + Math.floor(rand() * (rand() < 0.5 ? 8 : 255)));
      const pages = 1 + Math.floor(rand() ** 3 * 300000);
      const size = pages * PAGE - (rand() < 0.3 ? Math.floor(rand() * PAGE) : 0);
      const opts = rand() < 0.5 ? {} : { stripeBytes: PAGE * (1 + Math.floor(rand() * 64)), maxSegments: 64 + Math.floor(rand() * 4096) };
      const segs = stripeSegments(size, nodes, weights, opts);
      checkInvariants(segs, size, nodes);
      const layout = stripeLayout(size, nodes, weights, opts);
      expect(segs.length).toBe(layout.segments);
      expect(segs.length).toBeLessThanOrEqual(opts.maxSegments ?? DEFAULT_MAX_SEGMENTS);
      // bytes per node equal a naive stripe-by-stripe deal with the same unit
      const naive = size / layout.unit <= 65536 ? naiveBytes(size, nodes, weights, layout.unit) : undefined;
      const real = stripeShares(segs);
      if (naive) for (const s of real) expect(s.bytes).toBe(naive.get(s.node));
      // realized share differs from w_i/Σw by at most one (partial) cycle of stripes
      const wsum = weights.reduce((a, b) => a + b, 0);
      const cycle = wsum * layout.unit;
      for (const s of real) {
        const w = weights[nodes.indexOf(s.node)] ?? 0;
        expect(Math.abs(s.bytes / size - w / wsum)).toBeLessThanOrEqual(cycle / size + 1e-12);
      }
      // whole cycles realize the exact ratio
      if (size % cycle === 0) for (const s of real) expect(s.bytes / size).toBeCloseTo((weights[nodes.indexOf(s.node)] ?? 0) / wsum, 12);
      // analytic shares agree with the segments
      layout.shares.forEach((sh, i) => {
        const node = nodes[i];
        const got = real.find((r) => r.node === node)?.bytes ?? 0;
        expect(sh * size).toBeCloseTo(got, 3);
      });
    }
  });

  it('default unit keeps realized shares within 0.1 pp whenever page stripes can', () => {
    const rand = rng(99);
    for (let iter = 0; iter < 200; iter++) {
      const weights = [1 + Math.floor(rand() * 10), 1 + Math.floor(rand() * 10)];
      const size = (64 + Math.floor(rand() * 100000)) * PAGE;
      const def = stripeLayout(size, [0, 1], weights);
      const fine = stripeLayout(size, [0, 1], weights, { stripeBytes: PAGE });
      const err = (shares: number[]): number =>
        Math.max(...shares.map((s, i) => Math.abs(s - (weights[i] ?? 0) / ((weights[0] ?? 0) + (weights[1] ?? 0))))) * 100;
      if (err(fine.shares) <= 0.1 && fine.segments <= DEFAULT_MAX_SEGMENTS) expect(err(def.shares)).toBeLessThanOrEqual(0.1);
    }
  });

  it('rejects bad arguments', () => {
    expect(() => stripeSegments(0, [0], [1])).toThrow(/size/);
    expect(() => stripeSegments(1.5, [0], [1])).toThrow(/size/);
    expect(() => stripeSegments(PAGE, [0, 1], [1])).toThrow(/weights must have 2/);
    expect(() => stripeSegments(PAGE, [0, 1], [1, 0])).toThrow(/weights\[1\]/);
    expect(() => stripeSegments(PAGE, [0, 1], [1, 256])).toThrow(RangeError);
    expect(() => stripeSegments(PAGE, [0, 0], [1, 1])).toThrow(/twice/);
    expect(() => stripeSegments(PAGE, [0], [1], { pageSize: 3000 })).toThrow(/power of two/);
  });
});
