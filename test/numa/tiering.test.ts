// TieredPool inside the VM (node 0: DRAM, node 1: CPU-less EXMEM): the
// budget holds by the KERNEL's numbers (move_pages per entry, and
// /proc/self/numa_maps), the hot set ends up on DRAM, the rest on EXMEM.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { stats, where } from '../../src/index';
import { readNumaMaps } from '../../src/topology/numa-maps';
import { topology } from '../../src/topology/current';
import { type RebalanceResult, TieredPool } from '../../src/tiering';
import { requireVm } from './helpers';

const KiB = 1024;
const MiB = 2 ** 20;
const SMALL = 8 * KiB;

describe('TieredPool in a two-tier machine', () => {
  let dram: number;
  let cxl: number;
  beforeAll(() => {
    requireVm();
    dram = topology().normalNodes[0]!;
    cxl = topology().exmemNodes[0]!;
  });

  /** Bytes of the pool's entries on `node` by move_pages: whole pages for own mappings, the entry's bytes for arena blocks wholly on the node. */
  function kernelBytesOn(pool: TieredPool<string>, node: number): number {
    let sum = 0;
    for (const k of pool.keys()) {
      const b = pool.peek(k)!;
      const w = where(b);
      const onNode = w.nodes[node] ?? 0;
      if (b.length > 32 * KiB) sum += onNode * w.pageSize;
      else if (onNode === w.total) sum += b.length;
    }
    return sum;
  }

  function allOn(pool: TieredPool<string>, key: string, node: number): boolean {
    const w = where(pool.peek(key)!);
    return w.total > 0 && w.nodes[node] === w.total;
  }

  function pattern(b: Buffer, seed: number): void {
    for (let i = 0; i + 4 <= b.length; i += 512) b.writeUInt32LE((seed * 2654435761 + i) >>> 0, i);
  }
  function checkPattern(b: Buffer, seed: number): boolean {
    for (let i = 0; i + 4 <= b.length; i += 512) if (b.readUInt32LE(i) !== (seed * 2654435761 + i) >>> 0) return false;
    return true;
  }

  it('budget < data: DRAM use stays within the budget by move_pages and numa_maps, hot set on DRAM, the rest on EXMEM', () => {
    const start = stats().sdk.liveAllocations;
    const budget = 16 * MiB;
    const pool = new TieredPool<string>({ dramBudget: budget, promoteAfter: 2, intervalMs: 0, populate: true });
    const keys: string[] = [];
    for (let i = 0; i < 48; i++) keys.push(`L${i}`);
    for (let i = 0; i < 8; i++) keys.push(`S${i}`);
    keys.forEach((k, i) => pattern(pool.set(k, k.startsWith('L') ? MiB : SMALL), i));
    expect(pool.stats()).toMatchObject({ hotBytes: budget, coldBytes: 32 * MiB + 8 * SMALL });

    const before = kernelBytesOn(pool, dram);
    console.log(`after set: DRAM ${before / MiB} MiB (kernel) of a ${budget / MiB} MiB budget; EXMEM ${kernelBytesOn(pool, cxl) / MiB} MiB`);
    expect(before).toBe(budget);
    for (let i = 0; i < 16; i++) expect(allOn(pool, `L${i}`, dram)).toBe(true);
    for (let i = 16; i < 48; i++) expect(allOn(pool, `L${i}`, cxl)).toBe(true);

    // Hot set: 12 large entries and 2 small ones, all starting on EXMEM.
    const hotSet = [...Array.from({ length: 12 }, (_, i) => `L${30 + i}`), 'S2', 'S5'];
    for (let window = 0; window < 2; window++) {
      for (let r = 0; r < 4; r++) for (const k of hotSet) pool.get(k);
      for (const k of ['L0', 'L1']) pool.get(k); // lukewarm DRAM entries: warmer than the rest, colder than the hot set
      const res = pool.rebalance();
      console.log(`window ${window}: ${JSON.stringify(res)}`);
      expect(res.hotBytes).toBeLessThanOrEqual(budget);
    }

    const s = pool.stats();
    const onDram = kernelBytesOn(pool, dram);
    const onCxl = kernelBytesOn(pool, cxl);
    console.log(
      `after rebalance: DRAM ${(onDram / MiB).toFixed(3)} MiB (kernel, move_pages) <= budget ${budget / MiB} MiB; EXMEM ${(onCxl / MiB).toFixed(3)} MiB; ` +
        `promotions ${s.promotions}, demotions ${s.demotions} (${s.copyMoves} by copy), bytesMoved ${s.bytesMoved}`,
    );
    expect(onDram).toBeLessThanOrEqual(budget);
    expect(onDram + onCxl).toBe(48 * MiB + 8 * SMALL);
    for (const k of hotSet) {
      expect(pool.tierOf(k), k).toBe('hot');
      expect(allOn(pool, k, dram), `${k} on node ${dram}`).toBe(true);
    }
    for (const k of keys) {
      const node = pool.tierOf(k) === 'hot' ? dram : cxl;
      expect(allOn(pool, k, node), `${k} all on node ${node}`).toBe(true);
    }
    keys.forEach((k, i) => expect(checkPattern(pool.peek(k)!, i), `${k} data`).toBe(true));
    expect(s.partialMoves).toBe(0);
    expect(s.failedMoves).toBe(0);

    // numa_maps: the kernel's per-mapping view, independent of move_pages. The
    // kernel merges adjacent mappings with the same policy into one VMA, so
    // compare sums, not mapping counts. bind:<node> holds the large entries
    // placed there plus the small entries' arena chunks (2 MiB each, shared
    // with other blocks, so not attributable to one entry): whatever exceeds
    // the large entries must be arena memory.
    const maps = readNumaMaps('self');
    const sumOn = (policy: string, node: number) =>
      maps.filter((m) => m.policy === policy).reduce((a, m) => a + (m.pages[node] ?? 0) * m.pageSize, 0);
    const largeHot = keys.filter((k) => k.startsWith('L') && pool.tierOf(k) === 'hot').length;
    const dramFromMaps = sumOn(`bind:${dram}`, dram);
    const cxlFromMaps = sumOn(`bind:${cxl}`, cxl);
    console.log(
      `numa_maps: bind:${dram} ${(dramFromMaps / MiB).toFixed(3)} MiB on N${dram} (${largeHot} large hot entries = ${largeHot} MiB + arena chunks); ` +
        `bind:${cxl} ${(cxlFromMaps / MiB).toFixed(3)} MiB on N${cxl} (${48 - largeHot} MiB large + arena); SDK arena bytes ${stats().sdk.arenaBytes / MiB} MiB`,
    );
    const arena = stats().sdk.arenaBytes;
    expect(largeHot * MiB).toBeLessThanOrEqual(budget);
    expect(dramFromMaps).toBeGreaterThanOrEqual(largeHot * MiB);
    expect(dramFromMaps - largeHot * MiB).toBeLessThanOrEqual(arena);
    expect(cxlFromMaps).toBeGreaterThanOrEqual((48 - largeHot) * MiB);
    expect(cxlFromMaps - (48 - largeHot) * MiB).toBeLessThanOrEqual(arena);
    expect(sumOn(`bind:${cxl}`, dram)).toBe(0);
    expect(sumOn(`bind:${dram}`, cxl)).toBe(0);

    pool.close();
    expect(stats().sdk.liveAllocations).toBe(start);
  });

  it('the background timer moves a new hot set up in bounded ticks, within the budget after every tick (kernel numbers)', async () => {
    const budget = 8 * MiB;
    const tick = 3 * MiB;
    const pool = new TieredPool<string>({ dramBudget: budget, promoteAfter: 2, intervalMs: 50, maxBytesPerTick: tick, populate: true });
    for (let i = 0; i < 24; i++) pattern(pool.set(`T${i}`, MiB), i);
    const hotSet = ['T16', 'T17', 'T18', 'T19', 'T20', 'T21'];
    const ticks: { r: RebalanceResult; dram: number }[] = [];
    pool.on('rebalance', (r) => ticks.push({ r, dram: kernelBytesOn(pool, dram) }));
    const t0 = Date.now();
    while (!hotSet.every((k) => allOn(pool, k, dram))) {
      if (Date.now() - t0 > 60_000) throw new Error(`hot set not on DRAM after 60 s: ${JSON.stringify(pool.stats())}`);
      for (const k of hotSet) pool.get(k);
      await sleep(10);
    }
    const moving = ticks.filter((t) => t.r.bytesMoved > 0);
    console.log(
      `timer: ${ticks.length} ticks, moving ticks: ${moving.map((t) => `${t.r.promoted}up/${t.r.demoted}down ${t.r.bytesMoved / MiB}MiB DRAM=${t.dram / MiB}MiB`).join(', ')}`,
    );
    expect(moving.length).toBeGreaterThan(1); // 6 swaps of 2 MiB (one up, one down) cannot fit one 3 MiB tick
    for (const t of ticks) {
      expect(t.r.trigger).toBe('timer');
      expect(t.r.bytesMoved).toBeLessThanOrEqual(tick);
      expect(t.dram).toBeLessThanOrEqual(budget);
    }
    for (let i = 0; i < 24; i++) expect(checkPattern(pool.peek(`T${i}`)!, i)).toBe(true);
    pool.close();
  });
});
