// Tier resolution on this machine's real topology (the CI and dev machines
// have no EXMEM node; the VM suite covers machines that do).
import { describe, expect, it } from 'vitest';
import { allocate, free, HmsdkError, where } from '../src/index';
import { topology } from '../src/topology/current';

describe('tiers on this machine', () => {
  const t = topology();

  it('EXMEM without EXMEM nodes is ENODEV, never a silent DRAM allocation', () => {
    if (t.exmemNodes.length > 0) {
      // This machine has EXMEM: the request must land there.
      const b = allocate(1 << 20, { tier: 'EXMEM', populate: true });
      const w = where(b);
      expect(t.exmemNodes.reduce((a, n) => a + (w.nodes[n] ?? 0), 0)).toBe(w.total);
      free(b);
      return;
    }
    let err: unknown;
    try {
      allocate(1 << 20, { tier: 'EXMEM' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HmsdkError);
    expect((err as HmsdkError).code).toBe('ENODEV');
    expect((err as HmsdkError).message).toMatch(/fallback/);
  });

  it("fallback: 'normal' is explicit and lands on NORMAL nodes", () => {
    const b = allocate(1 << 20, { tier: 'EXMEM', fallback: 'normal', populate: true });
    const w = where(b);
    const target = t.exmemNodes.length > 0 ? t.exmemNodes : t.normalNodes;
    expect(target.reduce((a, n) => a + (w.nodes[n] ?? 0), 0)).toBe(w.total);
    free(b);
  });

  it('each policy allocates on a one-node tier', () => {
    for (const policy of ['bind', 'preferred', 'interleave'] as const) {
      const b = allocate(1 << 20, { tier: 'NORMAL', policy, populate: true });
      const w = where(b);
      expect(t.normalNodes.reduce((a, n) => a + (w.nodes[n] ?? 0), 0)).toBe(w.total);
      free(b);
    }
  });
});
