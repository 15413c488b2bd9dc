// Arenas: bump-pointer views over placed chunks; dispose detaches them all.
import { describe, expect, it } from 'vitest';
import { createArena, HmsdkError, stats, where } from '../src/index';
import { topology } from '../src/topology/current';

describe('createArena', () => {
  it('hands out aligned, disjoint views and grows by chunks', () => {
    const a = createArena(4096);
    const views = Array.from({ length: 200 }, (_, i) => a.alloc(1 + (i % 40)));
    views.forEach((v, i) => v.fill(i & 0xff));
    views.forEach((v, i) => expect(v.every((x) => x === (i & 0xff))).toBe(true));
    for (const v of views) expect(v.byteOffset % 8).toBe(0);
    expect(a.capacity).toBeGreaterThan(4096);
    expect(a.used).toBe(views.reduce((s, v) => s + v.length, 0));
    expect(Buffer.isBuffer(views[0])).toBe(true);
    a.dispose();
  });

  it('dispose detaches every view at once and releases the chunks', () => {
    const live0 = stats().sdk.liveAllocations;
    let views: Buffer[];
    {
      using a = createArena(1 << 16, { node: topology().normalNodes[0] });
      views = Array.from({ length: 1000 }, () => a.alloc(100));
      expect(stats().sdk.liveAllocations).toBeGreaterThan(live0);
    }
    expect(views.every((v) => v.length === 0)).toBe(true);
    expect(stats().sdk.liveAllocations).toBe(live0);
  });

  it('places chunks where asked (kernel count)', () => {
    const n = topology().normalNodes[0]!;
    const a = createArena(1 << 20, { node: n, populate: true });
    const v = a.alloc(4096, 4096);
    expect(where(v).nodes[n]).toBe(1);
    a.dispose();
  });

  it('errors: disposed arena, too large, bad size', () => {
    const a = createArena(1024);
    expect(() => a.alloc(2048)).toThrow(RangeError);
    expect(() => a.alloc(0)).toThrow(RangeError);
    a.dispose();
    expect(() => a.alloc(1)).toThrow(HmsdkError);
    expect(() => createArena(0)).toThrow(RangeError);
  });
});
