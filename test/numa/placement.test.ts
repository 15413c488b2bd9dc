// Placement inside the multi-node VM (npm run test:numa). Every claim is
// checked from the kernel side: move_pages (where()) and /proc/self/numa_maps.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allocate,
  free,
  HmsdkError,
  s_free,
  s_get_memsize_used,
  s_malloc,
  s_malloc_node,
  stats,
  trim,
  where,
} from '../../src/index';
import { topology } from '../../src/topology/current';
import { delta, pagesUnderPolicy, requireVm } from './helpers';

const MiB = 2 ** 20;

describe('placement on a CPU-less EXMEM node', () => {
  let exmem: number;
  beforeAll(() => {
    requireVm();
    const t = topology();
    expect(t.exmemNodes.length, 'the preset has an EXMEM node').toBeGreaterThan(0);
    exmem = t.exmemNodes[0] as number;
  });

  it("s_malloc('EXMEM', 64 MiB): 100% of pages on the EXMEM node by move_pages and numa_maps", () => {
    const usedBefore = s_get_memsize_used('EXMEM');
    const policy = `bind:${topology().exmemNodes.join(',')}`;
    trim(); // a reused cached mapping would already be counted in `before`
    const mapsBefore = pagesUnderPolicy(policy);
    const b = s_malloc('EXMEM', 64 * MiB);
    expect(s_get_memsize_used('EXMEM') - usedBefore).toBe(64 * MiB);
    b.fill(1);
    const w = where(b);
    expect(w.total).toBe((64 * MiB) / w.pageSize);
    expect(w.nodes[exmem]).toBe(w.total);
    // numa_maps: exactly the buffer's pages appeared under the EXMEM bind policy, on the EXMEM node
    expect(delta(pagesUnderPolicy(policy), mapsBefore)).toEqual({ [exmem]: w.total });
    s_free(b);
    expect(s_get_memsize_used('EXMEM')).toBe(usedBefore);
  });

  it('s_malloc_node lands 100% on each memory node', () => {
    for (const n of topology().nodes) {
      trim(); // a reused cached mapping would already be counted in `before`
      const before = pagesUnderPolicy(`bind:${n.id}`);
      const b = s_malloc_node(n.type, 8 * MiB, n.id);
      b.fill(2);
      const w = where(b);
      expect(w.nodes[n.id], `node ${n.id}`).toBe(w.total);
      expect(delta(pagesUnderPolicy(`bind:${n.id}`), before)).toEqual({ [n.id]: w.total });
      s_free(b);
    }
  });

  it('populate: the pages are resident on return, on the node', () => {
    const b = allocate(32 * MiB, { node: exmem, populate: true });
    const w = where(b);
    expect(w.absent).toBe(0);
    expect(w.nodes[exmem]).toBe(w.total);
    free(b);
  });

  it('a strict allocation larger than the EXMEM node gives ENOMEM and the process survives', () => {
    const node = topology().nodes.find((n) => n.id === exmem)!;
    let err: unknown;
    try {
      s_malloc('EXMEM', node.memTotal + 64 * MiB);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HmsdkError);
    expect((err as HmsdkError).code).toBe('ENOMEM');
    expect((err as HmsdkError).message).toMatch(new RegExp(`node ${exmem}`));
    // still alive and able to allocate there
    const b = s_malloc('EXMEM', 4 * MiB);
    b.fill(3);
    expect(where(b).nodes[exmem]).toBe(1024);
    s_free(b);
  });

  it('lazy strict allocations that fit one by one but not together: the second gets ENOMEM, not an OOM kill', () => {
    const node = topology().nodes.find((n) => n.id === exmem)!;
    const free0 = stats().nodes.find((n) => n.id === exmem)!.available;
    const part = Math.floor((free0 * 0.6) / MiB) * MiB;
    const a = s_malloc('EXMEM', part); // lazy: nothing faulted yet
    let err: unknown;
    try {
      s_malloc('EXMEM', part);
    } catch (e) {
      err = e;
    }
    expect((err as HmsdkError)?.code, `node ${node.id} free ${free0}, two x ${part}`).toBe('ENOMEM');
    // Touching the first one is safe: it was accounted for.
    a.fill(4);
    expect(where(a).nodes[exmem]).toBe(part / 4096);
    s_free(a);
  });

  it('a populate allocation beyond the free memory of the node fails with ENOMEM and leaves nothing behind', () => {
    const before = stats();
    const nodeFree = before.nodes.find((n) => n.id === exmem)!.available;
    let err: unknown;
    try {
      allocate(nodeFree + 16 * MiB, { node: exmem, populate: true });
    } catch (e) {
      err = e;
    }
    expect((err as HmsdkError)?.code).toBe('ENOMEM');
    const after = stats();
    expect(after.tiers.EXMEM.used).toBe(before.tiers.EXMEM.used);
    expect(after.sdk.largeBytes).toBe(before.sdk.largeBytes);
  });

  it('interleave over two nodes splits pages 1:1 (kernel count)', () => {
    const t = topology();
    const nodes = [t.normalNodes[0]!, exmem];
    const b = allocate(64 * MiB, { nodes, policy: 'interleave', populate: true });
    const w = where(b);
    expect(w.nodes[nodes[0]!]! + w.nodes[nodes[1]!]!).toBe(w.total);
    expect(Math.abs(w.nodes[nodes[0]!]! - w.total / 2)).toBeLessThanOrEqual(1);
    free(b);
  });

  it('small allocations from the EXMEM arena land on EXMEM', () => {
    const bufs = Array.from({ length: 2000 }, () => s_malloc('EXMEM', 1000));
    let pages = 0;
    for (const b of bufs) {
      b.fill(5);
      const w = where(b);
      pages += w.total;
      expect(w.nodes[exmem]).toBe(w.total);
    }
    expect(pages).toBeGreaterThan(0);
    bufs.forEach((b) => s_free(b));
  });
});
