// Weighted interleave inside the VM, on every kernel: the kernel's
// MPOL_WEIGHTED_INTERLEAVE (6.9+) when the weights are its global ones, the
// userspace stripe otherwise. Page shares counted with move_pages.
import { beforeAll, describe, expect, it } from 'vitest';
import { allocate, free, placementOf, s_disable_node_interleave, s_enable_node_interleave, s_free, s_malloc, trim, where } from '../../src/index';
import { topology } from '../../src/topology/current';
import { delta, pagesUnderPolicy, requireVm } from './helpers';

const MiB = 2 ** 20;

function shares(buf: Buffer, nodes: number[]): number[] {
  const w = where(buf);
  expect(w.absent + w.other, 'every page resident').toBe(0);
  return nodes.map((n) => (100 * (w.nodes[n] ?? 0)) / w.total);
}

describe('weighted interleave, 256 MiB', () => {
  let dram: number;
  let cxl: number;
  beforeAll(() => {
    requireVm();
    const t = topology();
    dram = t.normalNodes[0]!;
    cxl = t.exmemNodes[0]!;
  });

  for (const [wd, wc] of [
    [3, 1],
    [1, 1],
  ] as const) {
    it(`weights ${wd}:${wc} put ${(100 * wd) / (wd + wc)}% / ${(100 * wc) / (wd + wc)}% of the pages within 1 pp`, () => {
      const opts = { nodes: [dram, cxl], policy: 'weighted' as const, weights: [wd, wc], populate: true };
      const info = placementOf(opts);
      const b = allocate(256 * MiB, opts);
      const [sd, sc] = shares(b, [dram, cxl]);
      expect(Math.abs(sd! - (100 * wd) / (wd + wc)), `path ${info.path} ${info.mode ?? ''}`).toBeLessThanOrEqual(1);
      expect(Math.abs(sc! - (100 * wc) / (wd + wc))).toBeLessThanOrEqual(1);
      free(b);
    });
  }

  it('a stripe of a size that is not a page multiple (4097 bytes, 3:1) is placed and every page is on one of its nodes', () => {
    const b = allocate(4097, { nodes: [dram, cxl], policy: 'weighted', weights: [3, 1], populate: true });
    expect(b.length).toBe(4097);
    b.fill(7);
    const w = where(b);
    expect((w.nodes[dram] ?? 0) + (w.nodes[cxl] ?? 0)).toBe(2);
    free(b);
  });

  it('weights 1:0 (DRAM only) put 100% on DRAM', () => {
    const b = allocate(256 * MiB, { nodes: [dram], policy: 'weighted', populate: true });
    expect(shares(b, [dram])[0]).toBe(100);
    free(b);
  });

  it("the kernel path is used exactly when the kernel has weighted interleave and the weights are its own", () => {
    const t = topology();
    const sys = [t.weightedInterleave.weights[dram] ?? 1, t.weightedInterleave.weights[cxl] ?? 1];
    const info = placementOf({ nodes: [dram, cxl], policy: 'weighted', weights: sys });
    const kernel = process.env.HMSDK_EMULATE_KERNEL;
    if (t.weightedInterleave.available) {
      expect(kernel).not.toBe('6.1');
      expect(info).toMatchObject({ path: 'kernel', mode: 'weighted-interleave' });
      const policies = [`weighted interleave:${dram},${cxl}`, `weighted interleave:${dram}-${cxl}`];
      trim(); // a reused cached mapping would already be counted in `before`
      const before = pagesUnderPolicy(...policies);
      const b = allocate(64 * MiB, { nodes: [dram, cxl], policy: 'weighted', weights: sys, populate: true });
      const w = where(b);
      // numa_maps shows the kernel's weighted interleave policy over exactly these pages
      expect(delta(pagesUnderPolicy(...policies), before)).toEqual(w.nodes);
      free(b);
    } else {
      expect(kernel).toBe('6.1');
      expect(info.path).toBe('stripe');
    }
  });

  it('without weights the policy engine uses HMAT bandwidth (preset 200 GB/s : 64 GB/s -> 3:1)', () => {
    const info = placementOf({ nodes: [dram, cxl], policy: 'weighted' });
    expect(info.weights).toEqual([3, 1]);
  });

  it('s_enable_node_interleave uses the engine: EXMEM+NORMAL lists interleave per type', () => {
    s_enable_node_interleave([dram, cxl]);
    try {
      const b = s_malloc('EXMEM', 16 * MiB);
      b.fill(1);
      expect(where(b).nodes[cxl]).toBe(4096);
      s_free(b);
    } finally {
      s_disable_node_interleave();
    }
  });
});
