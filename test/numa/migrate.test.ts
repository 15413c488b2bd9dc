// migrate() inside the VM: pages move in place, the kernel agrees.
import { beforeAll, describe, expect, it } from 'vitest';
import { allocate, free, HmsdkError, migrate, stats, trim, where } from '../../src/index';
import { topology } from '../../src/topology/current';
import { delta, pagesUnderPolicy, requireVm } from './helpers';

const MiB = 2 ** 20;

describe('migrate', () => {
  let dram: number;
  let cxl: number;
  beforeAll(() => {
    requireVm();
    dram = topology().normalNodes[0]!;
    cxl = topology().exmemNodes[0]!;
  });

  it('moves 100% of the pages DRAM -> EXMEM -> DRAM, data identical, never detached, accounting follows', () => {
    const b = allocate(32 * MiB, { node: dram, populate: true });
    for (let i = 0; i < b.length; i += 4096) b.writeUInt32LE((i * 2654435761) >>> 0, i);
    const view = new Float64Array(b.buffer);
    const before = stats();
    trim(); // a reused cached mapping would already be counted in `before`
    const mapsBefore = pagesUnderPolicy(`bind:${cxl}`);
    const r = migrate(b, { tier: 'EXMEM' });
    expect(r).toEqual({ resident: 8192, onTarget: 8192, notMoved: 0, complete: true, moved: 8192, neighbourPagesMoved: 0 });
    expect(b.length).toBe(32 * MiB);
    expect(view.length).toBe((32 * MiB) / 8);
    expect(where(b).nodes).toEqual({ [cxl]: 8192 });
    expect(delta(pagesUnderPolicy(`bind:${cxl}`), mapsBefore)).toEqual({ [cxl]: 8192 });
    for (let i = 0; i < b.length; i += 4096) expect(b.readUInt32LE(i)).toBe((i * 2654435761) >>> 0);
    const after = stats();
    expect(after.tiers.EXMEM.used - before.tiers.EXMEM.used).toBe(32 * MiB);
    expect(before.tiers.NORMAL.used - after.tiers.NORMAL.used).toBe(32 * MiB);
    const back = migrate(b, { node: dram });
    expect(back.complete).toBe(true);
    expect(where(b).nodes).toEqual({ [dram]: 8192 });
    free(b);
  });

  it('arena blocks cannot move: ENOTSUP, not a silent partial move', () => {
    const b = allocate(1000, { node: dram });
    let err: unknown;
    try {
      migrate(b, { tier: 'EXMEM' });
    } catch (e) {
      err = e;
    }
    expect((err as HmsdkError).code).toBe('ENOTSUP');
    free(b);
  });

  it('a strict target that cannot hold the buffer gives ENOMEM and the buffer stays where it was', () => {
    const cap = topology().nodes.find((n) => n.id === cxl)!.memTotal;
    const size = Math.min(cap + 64 * MiB, 2 ** 31);
    const b = allocate(size, { node: dram, policy: 'preferred', zero: false });
    b[0] = 1;
    let err: unknown;
    try {
      migrate(b, { node: cxl });
    } catch (e) {
      err = e;
    }
    expect((err as HmsdkError).code).toBe('ENOMEM');
    const w = where(b);
    // The touched page, or its whole 2 MiB when THP is on (the buffer starts on a 2 MiB boundary).
    expect([1, 512]).toContain(w.nodes[dram]);
    // untouched pages: -ENOENT, or -EFAULT on 6.1
    expect(w.absent + w.other).toBe(size / 4096 - w.nodes[dram]!);
    expect(b[0]).toBe(1);
    free(b);
  });

  it('migrating to the strict node the buffer already lives on never counts it twice (60% of the node)', () => {
    const cap = topology().nodes.find((n) => n.id === cxl)!.memTotal;
    const size = Math.floor((cap * 0.6) / 4096) * 4096;
    const b = allocate(size, { node: cxl, populate: true, zero: false });
    const r = migrate(b, { node: cxl });
    expect(r.complete).toBe(true);
    expect(r.onTarget).toBe(size / 4096);
    expect(where(b).nodes[cxl]).toBe(size / 4096);
    free(b);
  });
});
