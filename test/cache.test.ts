// TieredCache against the real lru-cache package: the same random operation
// sequences (set with and without per-call TTL, get, peek, has, delete,
// clear, time passing) on both, with the same options and the same clock,
// and every answer compared: returned values (bytes), sizes, key order,
// and each dispose call (key, reason, value). Then fetch, and where the
// values live (hmsdk memory, off the JS heap).
import { LRUCache } from 'lru-cache';
import { afterEach, describe, expect, it } from 'vitest';
import { stats, where } from '../src/index';
import { TieredCache, type TieredCacheOptions } from '../src/tiering';
import { rng } from './helpers/rng';

const KiB = 1024;
const caches: TieredCache<string>[] = [];
afterEach(() => {
  for (const c of caches.splice(0)) c.close();
});

type Shared = Pick<TieredCacheOptions<string>, 'max' | 'maxEntrySize' | 'ttl' | 'allowStale' | 'updateAgeOnGet' | 'updateAgeOnHas' | 'noDisposeOnSet' | 'noDeleteOnStaleGet'> & {
  maxSize: number;
  sizeCalculation?: (v: Uint8Array) => number;
};

function pair(shared: Shared) {
  const clock = { t: 1000 };
  const perf = { now: () => clock.t };
  const log: { lru: string[]; ours: string[] } = { lru: [], ours: [] };
  const show = (v: Uint8Array, k: string, r: string) => `${k}:${r}:${v.length}:${Buffer.from(v.subarray(0, 8)).toString('hex')}`;
  const lru = new LRUCache<string, Buffer>({
    ...shared,
    sizeCalculation: shared.sizeCalculation ?? ((v) => v.length),
    dispose: (v, k, r) => log.lru.push(show(v, k, r)),
    perf,
    ttlResolution: 0,
  });
  const ours = new TieredCache<string>({ ...shared, dramBudget: 64 * KiB, coldTier: 'NORMAL', intervalMs: 0, dispose: (v, k, r) => log.ours.push(show(v, k, r)), perf });
  caches.push(ours);
  return { lru, ours, clock, log };
}

const bytesOf = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString('base64'));

function replay(shared: Shared, seed: number, steps: number) {
  const { lru, ours, clock, log } = pair(shared);
  const rand = rng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const keys = Array.from({ length: 24 }, (_, i) => `k${i}`);
  for (let step = 0; step < steps; step++) {
    const k = keys[int(keys.length)]!;
    const op = int(100);
    const at = `seed ${seed} step ${step} op ${op} ${k}`;
    if (op < 35) {
      const size = int(4) === 0 ? 40 * KiB + int(40 * KiB) : 1 + int(8 * KiB);
      const v = Buffer.alloc(size, step & 0xff);
      if (size >= 4) v.writeUInt32LE(step, 0); // values differ by step, not only by fill byte
      const opts = int(5) === 0 ? { ttl: 1 + int(50) } : {};
      expect(ours.set(k, v, opts), at).toBe(ours);
      lru.set(k, v, opts);
    } else if (op < 65) {
      expect(bytesOf(ours.get(k)), at).toBe(bytesOf(lru.get(k)));
    } else if (op < 75) {
      expect(bytesOf(ours.peek(k)), at).toBe(bytesOf(lru.peek(k)));
    } else if (op < 85) {
      expect(ours.has(k), at).toBe(lru.has(k));
    } else if (op < 93) {
      expect(ours.delete(k), at).toBe(lru.delete(k));
    } else if (op < 99) {
      clock.t += int(30);
    } else {
      ours.clear();
      lru.clear();
    }
    expect([ours.size, ours.calculatedSize], at).toEqual([lru.size, lru.calculatedSize]);
    expect([...ours.keys()], at).toEqual([...lru.keys()]);
    expect(log.ours, at).toEqual(log.lru);
    expect(ours.calculatedSize, at).toBeLessThanOrEqual(shared.maxSize);
  }
  // Every value the cache holds is one pool entry.
  expect(ours.pool.size).toBe(ours.size);
  return log.lru.length;
}

describe('TieredCache behaves as lru-cache', () => {
  const configs: [string, Shared][] = [
    ['maxSize only', { maxSize: 256 * KiB }],
    ['max and maxSize', { maxSize: 512 * KiB, max: 10 }],
    ['maxEntrySize below maxSize', { maxSize: 256 * KiB, maxEntrySize: 48 * KiB }],
    ['sizeCalculation', { maxSize: 300 * KiB, sizeCalculation: (v) => 2 * v.length + 7 }],
    ['ttl', { maxSize: 256 * KiB, ttl: 40 }],
    ['ttl, allowStale', { maxSize: 256 * KiB, ttl: 40, allowStale: true }],
    ['ttl, updateAgeOnGet and updateAgeOnHas', { maxSize: 256 * KiB, ttl: 40, updateAgeOnGet: true, updateAgeOnHas: true }],
    ['ttl, noDeleteOnStaleGet, noDisposeOnSet', { maxSize: 256 * KiB, ttl: 40, noDeleteOnStaleGet: true, noDisposeOnSet: true }],
  ];
  for (const [name, shared] of configs) {
    it(`${name}: 3 x 700 random operations, every answer and dispose call equal`, () => {
      let disposed = 0;
      for (const seed of [1, 2, 3]) disposed += replay(shared, seed, 700);
      expect(disposed).toBeGreaterThan(10); // evictions and deletes did happen
    });
  }

  it('set(k, undefined) deletes; an entry above maxEntrySize is refused and removes the old value', () => {
    const { lru, ours, log } = pair({ maxSize: 100 * KiB, maxEntrySize: 10 * KiB });
    for (const c of [lru, ours] as const) {
      c.set('a', Buffer.alloc(100, 1));
      c.set('a', Buffer.alloc(20 * KiB, 2));
      c.set('b', Buffer.alloc(10, 3));
      c.set('b', undefined);
    }
    expect([ours.size, ours.has('a'), ours.has('b')]).toEqual([lru.size, lru.has('a'), lru.has('b')]);
    expect(log.ours).toEqual(log.lru);
    expect(log.ours.map((l) => l.split(':').slice(0, 2).join(':'))).toEqual(['a:set', 'b:delete']);
  });

  it('bad options and sizes are TypeError / RangeError naming them', () => {
    const mk = (o: unknown) => () => caches.push(new TieredCache<string>(o as TieredCacheOptions<string>));
    expect(mk({ dramBudget: 1, coldTier: 'NORMAL' })).toThrow(/options.maxSize is required/);
    expect(mk({ maxSize: 0, dramBudget: 1, coldTier: 'NORMAL' })).toThrow(RangeError);
    expect(mk({ maxSize: 10, dramBudget: 1, coldTier: 'NORMAL', dispose: 3 })).toThrow(/options.dispose must be a function/);
    expect(mk({ maxSize: 10, dramBudget: 1, coldTier: 'NORMAL', perf: {} })).toThrow(/options.perf must have a now\(\) method/);
    expect(mk({ maxSize: 10, dramBudget: 1, coldTier: 'NORMAL', stale: true })).toThrow(TypeError);
    const c = new TieredCache<string>({ maxSize: 100, dramBudget: 10, coldTier: 'NORMAL', sizeCalculation: () => 0 });
    caches.push(c);
    expect(() => c.set('a', Buffer.alloc(4))).toThrow(/size of a cache entry must be a positive integer/);
    expect(() => c.set('a', 'text' as unknown as Buffer)).toThrow(/value must be a Buffer/);
    expect(c.size).toBe(0);
  });
});

describe('TieredCache.fetch', () => {
  it('loads a miss once for concurrent callers, stores it, and refreshes a stale entry like lru-cache', async () => {
    const clock = { t: 1000 };
    const perf = { now: () => clock.t };
    const calls: { lru: string[]; ours: string[] } = { lru: [], ours: [] };
    const load = (who: 'lru' | 'ours') => async (k: string, stale: Uint8Array | undefined) => {
      calls[who].push(`${k}:${stale === undefined ? '-' : Buffer.from(stale).toString()}`);
      await new Promise((r) => setTimeout(r, 5));
      return k === 'none' ? undefined : Buffer.from(`${k}@${clock.t}`);
    };
    const lru = new LRUCache<string, Buffer>({ maxSize: 1000, sizeCalculation: (v) => v.length, ttl: 50, perf, ttlResolution: 0, fetchMethod: load('lru') });
    const ours = new TieredCache<string>({ maxSize: 1000, dramBudget: 100, coldTier: 'NORMAL', intervalMs: 0, ttl: 50, perf, fetchMethod: load('ours') });
    caches.push(ours);
    const both = async (k: string) => {
      const [a, b] = await Promise.all([lru.fetch(k), ours.fetch(k)]);
      return [bytesOf(a), bytesOf(b)];
    };
    const [x, y] = await Promise.all([ours.fetch('a'), ours.fetch('a')]);
    await lru.fetch('a');
    expect(x === y).toBe(true);
    expect(calls.ours).toEqual(['a:-']);
    const [l1, o1] = await both('a'); // fresh: no load
    expect(o1).toBe(l1);
    clock.t += 60; // stale: reloaded, the stale value passed in
    const [l2, o2] = await both('a');
    expect(o2).toBe(l2);
    expect(Buffer.from(o2!, 'base64').toString()).toBe('a@1060');
    const [l3, o3] = await both('none');
    expect([o3, l3]).toEqual([undefined, undefined]);
    expect(calls.ours).toEqual(calls.lru);
    expect([ours.size, ours.calculatedSize]).toEqual([lru.size, lru.calculatedSize]);
  });
});

describe('TieredCache values live in hmsdk memory', () => {
  it('get() returns the pool buffer (where() answers, no copy on the JS heap), hits count for DRAM placement', () => {
    const c = new TieredCache<string>({ maxSize: 4 << 20, dramBudget: 256 * KiB, coldTier: 'NORMAL', intervalMs: 0 });
    caches.push(c);
    const before = stats().sdk.liveAllocations;
    for (let i = 0; i < 16; i++) c.set(`k${i}`, Buffer.alloc(64 * KiB, i));
    expect(stats().sdk.liveAllocations - before).toBe(16);
    const v = c.get('k9')!;
    expect(v[0]).toBe(9);
    expect(c.get('k9')).toBe(v); // the same Buffer: zero-copy
    expect(where(v).total).toBe(16);
    for (let w = 0; w < 3; w++) {
      for (let i = 8; i < 12; i++) c.get(`k${i}`);
      c.pool.rebalance();
    }
    for (let i = 8; i < 12; i++) expect(c.pool.tierOf(`k${i}`)).toBe('hot');
    c.delete('k9');
    expect(v.length).toBe(0); // freed with the entry, never stale
    c.clear();
    expect(stats().sdk.liveAllocations).toBe(before);
  });
});
