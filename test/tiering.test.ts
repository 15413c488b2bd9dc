// TieredPool on this machine (one node is enough): the policy with the cold
// tier on NORMAL. Pages do not change nodes here (test/numa/tiering.test.ts
// shows that inside the VM); everything else is real: allocations, moves
// (migrate() / copies), frees, the SDK's accounting.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { free, HmsdkError, stats, where } from '../src/index';
import { topology } from '../src/topology/current';
import { TieredPool, type MoveEvent, type RebalanceResult, type TieredPoolOptions } from '../src/tiering';
import { thrown } from './helpers/error-code';
import { dramSet } from '../src/tiering/dram-set';
import { rng } from './helpers/rng';

const KiB = 1024;
const E = 64 * KiB; // a large entry (own mapping, moves in place)
const live = () => stats().sdk.liveAllocations;

const pools: TieredPool<string>[] = [];
function pool(opts: Partial<TieredPoolOptions> & { dramBudget: number }): TieredPool<string> {
  const p = new TieredPool<string>({ coldTier: 'NORMAL', intervalMs: 0, promoteAfter: 2, ...opts });
  pools.push(p);
  return p;
}
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});


function recordMoves(p: TieredPool<string>): { demote: string[]; promote: string[]; events: MoveEvent<string>[] } {
  const out = { demote: [] as string[], promote: [] as string[], events: [] as MoveEvent<string>[] };
  p.on('demote', (e) => {
    out.demote.push(e.key);
    out.events.push(e);
  });
  p.on('promote', (e) => {
    out.promote.push(e.key);
    out.events.push(e);
  });
  return out;
}

describe('TieredPool options', () => {
  it('bad options are TypeError / RangeError naming the option', () => {
    const cases: [unknown, string, string][] = [
      [undefined, 'TypeError', 'options must be an object'],
      [{}, 'TypeError', 'options.dramBudget is required'],
      [{ dramBudget: '1' }, 'TypeError', 'options.dramBudget'],
      [{ dramBudget: -1 }, 'RangeError', 'options.dramBudget'],
      [{ dramBudget: 1.5 }, 'RangeError', 'options.dramBudget'],
      [{ dramBudget: 1, coldTier: 'NORMAL', promoteAfter: 0 }, 'RangeError', 'options.promoteAfter'],
      [{ dramBudget: 1, coldTier: 'NORMAL', intervalMs: -5 }, 'RangeError', 'options.intervalMs'],
      [{ dramBudget: 1, coldTier: 'NORMAL', intervalMs: 2 ** 31 }, 'RangeError', 'options.intervalMs'],
      [{ dramBudget: 1, coldTier: 'NORMAL', maxBytesPerTick: 0 }, 'RangeError', 'options.maxBytesPerTick'],
      [{ dramBudget: 1, coldTier: 'CXL' }, 'TypeError', 'options.coldTier'],
      [{ dramBudget: 1, hotTier: 'DRAM' }, 'TypeError', 'options.hotTier'],
      [{ dramBudget: 1, fallback: 'yes' }, 'TypeError', 'options.fallback'],
      [{ dramBudget: 1, coldTier: 'NORMAL', populate: 1 }, 'TypeError', 'options.populate'],
      [{ dramBudget: 1, budget: 1 }, 'TypeError', 'options.budget is not a TieredPool option'],
    ];
    for (const [opts, name, text] of cases) {
      const e = thrown(() => new TieredPool(opts as TieredPoolOptions));
      expect(e.name, JSON.stringify(opts)).toBe(name);
      expect(e.message, JSON.stringify(opts)).toContain(text);
    }
  });

  it('without an EXMEM node the default cold tier is refused with ENODEV unless a fallback is configured', () => {
    const exmem = topology().exmemNodes;
    if (exmem.length === 0) {
      const e = thrown(() => new TieredPool({ dramBudget: 1 << 20 }));
      expect(e).toBeInstanceOf(HmsdkError);
      expect((e as HmsdkError).code).toBe('ENODEV');
      expect(e.message).toMatch(/coldTier 'EXMEM' has no node.*coldTier: 'NORMAL' or fallback: 'normal'/);
      const fb = new TieredPool({ dramBudget: 1 << 20, fallback: 'normal', intervalMs: 0 });
      expect(fb.sameNodes).toBe(true);
      expect(fb.stats().coldNodes).toEqual(topology().normalNodes);
      fb.close();
    } else {
      const p = new TieredPool({ dramBudget: 1 << 20, intervalMs: 0 });
      expect(p.sameNodes).toBe(false);
      expect(p.stats().coldNodes).toEqual(exmem);
      p.close();
    }
    const n = pool({ dramBudget: 1 });
    expect(n.sameNodes).toBe(true);
  });

  it('bad arguments to methods are typed errors', () => {
    const p = pool({ dramBudget: 4 * E });
    expect(thrown(() => p.set('a', 0)).name).toBe('RangeError');
    expect(thrown(() => p.set('a', -1)).name).toBe('RangeError');
    expect(thrown(() => p.set('a', Buffer.alloc(0))).message).toContain('data.byteLength');
    expect(thrown(() => p.set('a', 'abc' as unknown as number)).name).toBe('TypeError');
    expect(thrown(() => p.setBudget(-1)).message).toContain('bytes');
    expect(thrown(() => p.rebalance({ maxBytes: 0 })).message).toContain('options.maxBytes');
    expect(p.size).toBe(0);
  });
});

describe('TieredPool basics', () => {
  it('set / get / has / delete / size; get of a missing key is undefined and counts a miss', () => {
    const p = pool({ dramBudget: 4 * E });
    const a = p.set('a', E);
    expect(a.length).toBe(E);
    expect(a.every((x) => x === 0)).toBe(true);
    const data = Buffer.from('hello, tiers');
    const b = p.set('b', data);
    data.write('HELLO');
    expect(b.toString()).toBe('hello, tiers'); // a copy, not an alias
    expect(p.get('a')).toBe(a);
    expect(p.has('b')).toBe(true);
    expect(p.size).toBe(2);
    expect(p.get('nope')).toBeUndefined();
    expect(p.delete('nope')).toBe(false);
    expect(p.delete('a')).toBe(true);
    expect(a.length).toBe(0); // freed: detached
    expect(p.has('a')).toBe(false);
    expect(p.size).toBe(1);
    expect(p.stats().misses).toBe(1);
    expect([...p.keys()]).toEqual(['b']);
    expect(p.peek('b')).toBe(b);
    expect(p.peek('a')).toBeUndefined();
    expect(p.stats().hits).toEqual({ hot: 1, cold: 0 }); // peek is not an access
  });

  it('replacing a key frees the old buffer and keeps the accounting exact', () => {
    const p = pool({ dramBudget: 2 * E });
    const start = live();
    const a1 = p.set('a', E);
    const a2 = p.set('a', 2 * E);
    expect(a1.length).toBe(0);
    expect(a2.length).toBe(2 * E);
    expect(p.tierOf('a')).toBe('hot'); // the old entry's hot bytes are not counted twice
    expect(p.stats()).toMatchObject({ entries: 1, hotBytes: 2 * E, coldBytes: 0 });
    expect(live() - start).toBe(1);
  });

  it('new entries go hot while they fit in the budget, then cold; own-mapping entries are charged whole pages', () => {
    const p = pool({ dramBudget: 3 * E + 100 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) p.set(k, E);
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => p.tierOf(k))).toEqual(['hot', 'hot', 'hot', 'cold', 'cold']);
    p.set('small', 100); // fits in the remaining 100 bytes (arena block: charged its size)
    expect(p.tierOf('small')).toBe('hot');
    p.set('x', 40_000); // own mapping: 10 pages
    expect(p.tierOf('x')).toBe('cold');
    expect(p.stats()).toMatchObject({ entries: 7, hotEntries: 4, coldEntries: 3, hotBytes: 3 * E + 100, coldBytes: 2 * E + 40_960 });
    const s = p.stats();
    expect(s.hotBytes).toBeLessThanOrEqual(s.budget);
  });

  it('counts hits per tier and the hit ratio', () => {
    const p = pool({ dramBudget: E });
    p.set('h', E);
    p.set('c', E);
    for (let i = 0; i < 3; i++) p.get('h');
    p.get('c');
    p.get('missing');
    expect(p.stats()).toMatchObject({ hits: { hot: 3, cold: 1 }, misses: 1, hitRatio: 0.75 });
    p.touch('c'); // an access, not a hit
    expect(p.stats().hits).toEqual({ hot: 3, cold: 1 });
  });
});

describe('TieredPool policy', () => {
  it('over budget, demotes the coldest first: lowest heat (accesses, halved per window), ties by least recent', () => {
    const p = pool({ dramBudget: 5 * E });
    for (const k of ['a', 'b', 'c', 'd', 'e']) p.set(k, E);
    p.rebalance(); // new window: set() accesses forgotten
    for (let i = 0; i < 3; i++) p.get('a');
    p.get('c');
    p.get('c');
    p.get('e');
    p.get('d'); // d and e: one access each, e's is older
    // b: 0 accesses
    const m = recordMoves(p);
    p.setBudget(2 * E);
    const r = p.rebalance();
    expect(m.demote).toEqual(['b', 'e', 'd']);
    expect(r).toMatchObject({ trigger: 'explicit', demoted: 3, promoted: 0, bytesMoved: 3 * E, truncated: false, hotBytes: 2 * E, budget: 2 * E });
    expect(['a', 'c'].map((k) => p.tierOf(k))).toEqual(['hot', 'hot']);
    expect(p.stats()).toMatchObject({ demotions: 3, hotBytes: 2 * E, coldBytes: 3 * E });
  });

  it('promotes a cold entry accessed >= promoteAfter times when the budget allows', () => {
    const p = pool({ dramBudget: 2 * E, promoteAfter: 3 });
    for (const k of ['a', 'b', 'c']) p.set(k, E);
    expect(p.tierOf('c')).toBe('cold');
    p.delete('a'); // room for one
    const m = recordMoves(p);
    p.get('c');
    p.get('c'); // 3 accesses with set()
    p.rebalance();
    expect(m.promote).toEqual(['c']);
    expect(p.tierOf('c')).toBe('hot');
    expect(p.stats()).toMatchObject({ promotions: 1, demotions: 0, hotBytes: 2 * E, coldBytes: 0 });
  });

  it('a cold entry below promoteAfter stays; counts from an earlier window do not add up', () => {
    const p = pool({ dramBudget: 2 * E, promoteAfter: 3 });
    for (const k of ['a', 'b', 'c']) p.set(k, E);
    p.delete('a');
    p.rebalance(); // window ends; c had 1 access (set)
    p.get('c');
    p.get('c');
    p.rebalance(); // 2 < 3
    expect(p.tierOf('c')).toBe('cold');
    p.get('c');
    p.rebalance(); // 1 in this window: the earlier 2 do not count
    expect(p.tierOf('c')).toBe('cold');
    for (let i = 0; i < 3; i++) p.get('c');
    p.rebalance();
    expect(p.tierOf('c')).toBe('hot');
  });

  it('budget full: a hot cold entry swaps with strictly colder hot entries, never with warmer ones', () => {
    const p = pool({ dramBudget: 2 * E, promoteAfter: 2 });
    for (const k of ['a', 'b', 'c']) p.set(k, E);
    p.rebalance();
    for (let i = 0; i < 3; i++) p.get('a');
    p.get('b');
    for (let i = 0; i < 4; i++) p.get('c'); // c: 4 (candidate), b: 1 (colder by more than the margin), a: 3
    const m = recordMoves(p);
    p.rebalance();
    expect(m.demote).toEqual(['b']);
    expect(m.promote).toEqual(['c']);
    expect(p.tierOf('a')).toBe('hot');
    // now b (cold) is a candidate but c (hot, read as often and more before) is warmer: no swap
    p.get('b');
    p.get('b');
    p.get('c');
    p.get('c');
    p.get('a');
    p.get('a');
    p.get('a');
    const r = p.rebalance();
    expect(r).toMatchObject({ promoted: 0, demoted: 0 });
    expect(p.tierOf('b')).toBe('cold');
    expect(p.stats().hotBytes).toBe(2 * E);
  });

  it('a swap demotes as many colder entries as the candidate needs; an entry larger than the budget never moves up', () => {
    const p = pool({ dramBudget: 2 * E, promoteAfter: 2 });
    p.set('s1', E);
    p.set('s2', E);
    p.set('big', 2 * E);
    p.set('huge', 3 * E);
    p.rebalance();
    for (const k of ['big', 'huge']) for (let i = 0; i < 5; i++) p.get(k);
    const m = recordMoves(p);
    p.rebalance();
    expect(m.demote.sort()).toEqual(['s1', 's2']);
    expect(m.promote).toEqual(['big']);
    expect(p.tierOf('huge')).toBe('cold');
    expect(p.stats().hotBytes).toBe(2 * E);
  });

  it('prefetch() makes a cold entry a promotion candidate without counting a hit', () => {
    const p = pool({ dramBudget: 2 * E, promoteAfter: 5 });
    for (const k of ['a', 'b', 'c']) p.set(k, E);
    p.delete('a');
    expect(p.prefetch('c')).toBe(true);
    expect(p.prefetch('zz')).toBe(false);
    p.rebalance();
    expect(p.tierOf('c')).toBe('hot');
    expect(p.stats().hits).toEqual({ hot: 0, cold: 0 });
  });

  it('large entries move in place (same Buffer, same data); small ones by copy (old reference freed)', () => {
    const p = pool({ dramBudget: 4 * E });
    const big = p.set('big', E);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i * 2654435761 >>> 0, i);
    const small = p.set('small', Buffer.from('small entry data'));
    p.rebalance();
    const m = recordMoves(p);
    p.setBudget(0);
    p.rebalance();
    expect(m.events.map((e) => [e.key, e.copied, e.complete]).sort()).toEqual([
      ['big', false, true],
      ['small', true, true],
    ]);
    expect(p.get('big')).toBe(big);
    for (let i = 0; i < big.length; i += 4) if (big.readUInt32LE(i) !== (i * 2654435761) >>> 0) throw new Error(`data changed at ${i}`);
    const small2 = p.get('small')!;
    expect(small2 === small).toBe(false);
    expect(small.length).toBe(0); // the old block was freed: never stale data
    expect(small2.toString()).toBe('small entry data');
    expect(where(small2).total).toBeGreaterThan(0);
    expect(p.stats()).toMatchObject({ copyMoves: 1, demotions: 2, hotBytes: 0, bytesMoved: E + 16 });
  });

  it('a move that throws is counted and emitted, the entry stays, the pass ends truncated', () => {
    const p = pool({ dramBudget: 2 * E });
    const a = p.set('a', E);
    p.set('b', E);
    free(a); // the caller broke the rules: freed a pool buffer
    const failed: { key: string; code: string | undefined }[] = [];
    p.on('moveFailed', (e) => failed.push({ key: e.key, code: (e.error as HmsdkError).code }));
    p.rebalance();
    p.setBudget(0);
    const r = p.rebalance();
    expect(failed).toEqual([{ key: 'a', code: 'EFREED' }]);
    expect(r).toMatchObject({ failed: 1, truncated: true, demoted: 0 });
    expect(p.tierOf('a')).toBe('hot');
    expect(p.stats()).toMatchObject({ failedMoves: 1, truncatedRebalances: 1 });
    expect((thrown(() => p.delete('a')) as HmsdkError).code).toBe('EDOUBLEFREE');
  });

  it('a bounded pass moves at most maxBytes (one oversized entry alone) and the next one continues', () => {
    const p = pool({ dramBudget: 0, promoteAfter: 1 });
    for (let i = 0; i < 10; i++) p.set(`k${i}`, E);
    p.set('huge', 4 * E);
    p.setBudget(100 * E);
    for (let i = 0; i < 10; i++) p.get(`k${i}`);
    for (let i = 0; i < 20; i++) p.get('huge'); // hottest: first candidate
    const r1 = p.rebalance({ maxBytes: 3 * E });
    expect(r1).toMatchObject({ promoted: 1, bytesMoved: 4 * E, truncated: true }); // oversized, alone
    const r2 = p.rebalance({ maxBytes: 3 * E });
    expect(r2).toMatchObject({ promoted: 3, bytesMoved: 3 * E, truncated: true });
    const r3 = p.rebalance({ maxBytes: 3 * E }); // the window continued: counters kept
    expect(r3).toMatchObject({ promoted: 3, truncated: true });
    const r4 = p.rebalance({ maxBytes: 3 * E });
    expect(r4).toMatchObject({ promoted: 3, truncated: true });
    const r5 = p.rebalance({ maxBytes: 3 * E });
    expect(r5).toMatchObject({ promoted: 1, truncated: false });
    expect(p.stats()).toMatchObject({ hotEntries: 11, coldEntries: 0, truncatedRebalances: 4, rebalances: 5 });
  });

  it('the background timer rebalances in bounded ticks and emits rebalance events', async () => {
    const p = pool({ dramBudget: 0, promoteAfter: 1, intervalMs: 10, maxBytesPerTick: 2 * E });
    for (let i = 0; i < 5; i++) p.set(`k${i}`, E);
    p.setBudget(5 * E);
    for (let i = 0; i < 5; i++) p.get(`k${i}`);
    const ticks: RebalanceResult[] = [];
    p.on('rebalance', (r) => ticks.push(r));
    while (p.stats().hotEntries < 5) await once(p, 'rebalance');
    const moving = ticks.filter((t) => t.promoted > 0);
    expect(moving.map((t) => t.promoted)).toEqual([2, 2, 1]);
    expect(ticks.every((t) => t.trigger === 'timer' && t.bytesMoved <= 2 * E)).toBe(true);
  });

  it('keeps hot bytes within the budget and the accounting exact under a random workload', () => {
    const p = pool({ dramBudget: 8 * E, promoteAfter: 2 });
    const start = live();
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const sizes = [100, 4 * KiB, 32 * KiB, 32 * KiB + 1, E, 3 * E];
    let lowered = false;
    for (let step = 0; step < 3000; step++) {
      const op = rnd(100);
      const k = `k${rnd(40)}`;
      if (op < 15) p.set(k, sizes[rnd(sizes.length)]!);
      else if (op < 20) p.delete(k);
      else if (op < 90) p.get(k);
      else if (op < 92) {
        p.setBudget((4 + rnd(12)) * E);
        lowered = true;
      } else {
        p.rebalance();
        lowered = false;
      }
      const s = p.stats();
      if (!lowered) expect(s.hotBytes).toBeLessThanOrEqual(s.budget);
      let hot = 0;
      let cold = 0;
      for (const key of p.keys()) {
        const b = p.peek(key)!;
        expect(b.length).toBeGreaterThan(0);
        const charge = b.length > 32 * KiB ? Math.ceil(b.length / 4096) * 4096 : b.length;
        if (p.tierOf(key) === 'hot') hot += charge;
        else cold += charge;
      }
      expect([s.hotBytes, s.coldBytes]).toEqual([hot, cold]);
      expect(live() - start).toBe(p.size);
    }
  });
});

describe('TieredPool without a rate threshold (no promoteAfter)', () => {
  function free0(opts: { dramBudget: number }): TieredPool<string> {
    const p = new TieredPool<string>({ coldTier: 'NORMAL', intervalMs: 0, ...opts });
    pools.push(p);
    return p;
  }
  const window = (p: TieredPool<string>, reads: Record<string, number>) => {
    for (const [k, n] of Object.entries(reads)) for (let i = 0; i < n; i++) p.get(k);
    return p.rebalance();
  };

  it('entries read once per window take the budget from entries never read (the HTTP-cache case)', () => {
    const p = free0({ dramBudget: 2 * E });
    for (let i = 0; i < 8; i++) p.set(`k${i}`, E); // k0, k1 fill the budget
    p.rebalance(); // the fill's accesses age like any others
    const m = recordMoves(p);
    window(p, { k5: 1, k6: 1 });
    expect(m.promote).toEqual([]); // 1.9 < (0.9 + 1) x 1.25: one access is not enough to displace
    window(p, { k5: 1, k6: 1 });
    expect(m.promote.sort()).toEqual(['k5', 'k6']); // 2.71 > (0.81 + 1) x 1.25
    expect(m.demote.sort()).toEqual(['k0', 'k1']);
    expect(p.stats()).toMatchObject({ hotBytes: 2 * E, hotEntries: 2 });
    // and they stay while read at that low rate
    for (let w = 0; w < 5; w++) window(p, { k5: 1, k6: 1, k2: w === 4 ? 1 : 0 });
    expect([p.tierOf('k5'), p.tierOf('k6'), p.tierOf('k2')]).toEqual(['hot', 'hot', 'cold']);
  });

  it('heat ages by 0.9 per window: 10 reads once protect an entry against a newcomer read once per window for 8 windows, not 10', () => {
    const p = free0({ dramBudget: E });
    p.set('old', E);
    p.set('new', E);
    p.rebalance();
    window(p, { old: 10 });
    // new gains sum 0.9^i, old keeps (10 * 0.9^w + 1) x 1.25: new wins at w = 9
    for (let w = 1; w <= 8; w++) window(p, { new: 1 });
    expect(p.tierOf('new')).toBe('cold');
    window(p, { new: 1 });
    window(p, { new: 1 });
    expect(p.tierOf('new')).toBe('hot');
  });

  it('hysteresis: a cold entry as warm as a hot one never displaces it', () => {
    const p = free0({ dramBudget: E });
    p.set('a', E);
    p.set('b', E);
    const m = recordMoves(p);
    for (let w = 0; w < 10; w++) window(p, { a: 1, b: 1 });
    expect(m.promote).toEqual([]);
    // 25% and more than one access warmer for long enough does (here each window is a shift: b's repeats)
    for (let w = 0; w < 30; w++) window(p, { a: 10, b: 15 });
    expect(m.promote).toEqual(['b']);
  });

  it('a shift of the hot set (repeat reads of cold entries) forgets the past within a window', () => {
    const p = free0({ dramBudget: 2 * E });
    for (const k of ['a', 'b', 'c', 'd']) p.set(k, E);
    for (let w = 0; w < 20; w++) window(p, { a: 5, b: 5 }); // heat ~ 50 each
    const m = recordMoves(p);
    window(p, { c: 3, d: 3 }); // 4 of 6 accesses are repeats on cold entries: a shift
    expect(m.promote).toEqual([]); // 3 < 50 * 0.9 * 1.25 before the past is forgotten
    window(p, { c: 3, d: 3 });
    expect(m.promote.sort()).toEqual(['c', 'd']);
    expect(m.demote.sort()).toEqual(['a', 'b']);
  });

  it('a scan (every entry read once) does not flush the hot set', () => {
    const p = free0({ dramBudget: 2 * E });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const k of keys) p.set(k, E);
    for (let w = 0; w < 5; w++) window(p, { k0: 3, k1: 3 });
    const m = recordMoves(p);
    window(p, Object.fromEntries(keys.map((k) => [k, 1])));
    expect(m.promote).toEqual([]);
    expect([p.tierOf('k0'), p.tierOf('k1')]).toEqual(['hot', 'hot']);
  });

  it('residency() is the pages by move_pages: resident bytes per tier, arena entries by their size', () => {
    const p = new TieredPool<string>({ coldTier: 'NORMAL', intervalMs: 0, dramBudget: 2 * E, populate: true });
    pools.push(p);
    p.set('h1', E);
    p.set('h2', 100);
    p.set('c1', 3 * E); // does not fit: cold
    p.set('lazy', E + 1); // cold, populated: 17 pages
    expect(p.residency()).toEqual({ hotBytes: E + 100, coldBytes: 3 * E + 17 * 4096, otherBytes: 0, hotEntriesOffTier: 0 });
    const q = new TieredPool<string>({ coldTier: 'NORMAL', intervalMs: 0, dramBudget: 2 * E });
    pools.push(q);
    q.set('untouched', E);
    expect(q.residency()).toEqual({ hotBytes: 0, coldBytes: 0, otherBytes: 0, hotEntriesOffTier: 0 });
    q.get('untouched')!.fill(1, 0, 4096);
    expect(q.residency().hotBytes).toBe(4096);
  });

  it('ranks by heat per byte: two small entries beat one twice as big with the same heat', () => {
    const p = free0({ dramBudget: 2 * E });
    p.set('big', 2 * E);
    p.set('s1', E);
    p.set('s2', E);
    const m = recordMoves(p);
    for (let w = 0; w < 3; w++) window(p, { big: 1, s1: 1, s2: 1 });
    expect(m.demote).toEqual(['big']);
    expect(m.promote.sort()).toEqual(['s1', 's2']);
  });
});

describe('dramSet (the DRAM set without a full sort)', () => {
  it('equals the greedy walk of the fully sorted ranking, on random mixed sizes with ties', () => {
    const rand = rng(42);
    for (let round = 0; round < 400; round++) {
      const n = 1 + Math.floor(rand() * 60);
      const items = Array.from({ length: n }, (_, i) => ({
        e: { charge: 1 + Math.floor(rand() * (rand() < 0.5 ? 4 : 40)), last: i },
        score: Math.floor(rand() * 8) / 4, // many ties
      }));
      const budget = Math.floor(rand() * 300);
      const brute = new Set<{ charge: number; last: number }>();
      let room = budget;
      for (const x of [...items].sort((a, b) => b.score - a.score || b.e.last - a.e.last)) {
        if (x.e.charge <= room) {
          brute.add(x.e);
          room -= x.e.charge;
        }
      }
      const got = dramSet([...items], budget);
      expect([...got].map((e) => e.last).sort((a, b) => a - b), `round ${round}`).toEqual([...brute].map((e) => e.last).sort((a, b) => a - b));
    }
  });
});

describe('TieredPool close', () => {
  it('close() frees every entry (liveAllocations back to the start), stops the timer, is idempotent', () => {
    const start = live();
    const p = new TieredPool<number>({ dramBudget: 3 * E, coldTier: 'NORMAL', intervalMs: 5 });
    const bufs = [];
    for (let i = 0; i < 8; i++) bufs.push(p.set(i, i % 2 ? E : 1000));
    expect(live() - start).toBe(8);
    p.close();
    expect(live()).toBe(start);
    expect(bufs.every((b) => b.length === 0)).toBe(true);
    expect(p.size).toBe(0);
    expect(p.closed).toBe(true);
    expect(p.get(1)).toBeUndefined();
    expect((thrown(() => p.set(1, 10)) as HmsdkError).code).toBe('EFREED');
    expect((thrown(() => p.rebalance()) as HmsdkError).code).toBe('EFREED');
    p.close();
  });

  it('using disposes the pool at scope exit', () => {
    const start = live();
    {
      using p = new TieredPool({ dramBudget: E, coldTier: 'NORMAL', intervalMs: 0 });
      p.set('a', E);
      p.set('b', 10);
      expect(live() - start).toBe(2);
    }
    expect(live()).toBe(start);
  });
});
