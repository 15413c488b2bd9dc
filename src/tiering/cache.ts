/**
 * TieredCache: an `lru-cache`-shaped front over {@link TieredPool}, for
 * Node services that already use lru-cache (`get/set/has/delete/peek/fetch`,
 * `maxSize` in bytes, `sizeCalculation`, `dispose`, TTL) and want the values
 * off the JS heap, on DRAM while hot and on CXL memory while not.
 *
 * Two independent policies, as in a CPU cache over tiered memory:
 * - *Membership* is lru-cache's, exactly: entries in least-recently-used
 *   order (a Map kept in recency order: a hit re-inserts the key, the first
 *   key is the LRU one); a `set` that would bring the sizes above `maxSize`
 *   (or the count above `max`) evicts from the LRU end first; an entry
 *   larger than `maxEntrySize` (default `maxSize`) is not stored and removes
 *   the key's old value. TTLs are lru-cache's: an entry is stale when
 *   `now - start > ttl` (`now` from `perf.now()`, `performance` by default);
 *   a stale entry reads as absent (`get` deletes it, reason `'expire'`)
 *   unless `allowStale`. `test/cache.test.ts` replays random operation
 *   sequences against the `lru-cache` package and compares every answer.
 * - *Placement* is the pool's: every hit is an access of the pool entry, and
 *   the pool keeps the hottest `dramBudget` bytes on DRAM (see
 *   ./pool.ts). Values are copied into pool memory on `set`.
 *
 * Values are bytes (Buffer / typed array / DataView; copied in). `get` and
 * `peek` return the pool's Buffer itself (no copy): read it before the next
 * `await`, since an entry of 32 KiB or less moves by copy on a rebalance
 * and an old reference then reads as length 0 (never stale data). `dispose`
 * gets that Buffer, valid until `dispose` returns. A stale value returned
 * with `allowStale` by a `get` that deletes it is a copy (its pool memory is
 * freed). Not supported from lru-cache: `ttlAutopurge`, `disposeAfter`,
 * `onInsert`, `memoMethod`, status objects, `ttlResolution` (the clock is
 * read at every check), fetch abort signals beyond the one passed in.
 */
import type { PlacedBuffer } from '../alloc/buffers';
import type { Tier } from '../alloc/options';
import { byteRangeOf, checkBoolean, checkFunction, checkInt, checkNonNegative, describe, readOptions } from '../util/validate';
import type { TieredPoolOptions } from './options';
import { TieredPool, type TieredPoolStats } from './pool';

/** Why a value left the cache (lru-cache's reasons). */
export type DisposeReason = 'evict' | 'set' | 'delete' | 'expire';

/** Options of `new TieredCache(options)`. */
export interface TieredCacheOptions<K> {
  /** Total size of the entries (by `sizeCalculation`, else their byte length), integer ≥ 1. Required. */
  maxSize: number;
  /** Bytes of entries the pool keeps on DRAM (integer ≥ 0). Required. */
  dramBudget: number;
  /** Most entries (integer ≥ 0; 0 = no limit). Default 0. */
  max?: number;
  /** Largest entry stored (default `maxSize`). */
  maxEntrySize?: number;
  /** An entry's size for `maxSize` (a positive integer). Default: the value's byte length. */
  sizeCalculation?: (value: Uint8Array, key: K) => number;
  /** Called when a value leaves the cache, before its memory is freed. */
  dispose?: (value: PlacedBuffer, key: K, reason: DisposeReason) => void;
  /** Default time to live in ms (0 = none). */
  ttl?: number;
  /** Return stale values (and keep them for `peek`). Default false. */
  allowStale?: boolean;
  /** A `get` hit restarts the entry's TTL. Default false. */
  updateAgeOnGet?: boolean;
  /** A `has` hit restarts the entry's TTL. Default false. */
  updateAgeOnHas?: boolean;
  /** Replacing a key's value does not call `dispose` for the old one. Default false. */
  noDisposeOnSet?: boolean;
  /** A `get` of a stale entry does not delete it. Default false. */
  noDeleteOnStaleGet?: boolean;
  /** Loads a missing or stale value for {@link TieredCache.fetch}. */
  fetchMethod?: (key: K, staleValue: PlacedBuffer | undefined, options: { signal: AbortSignal }) => Promise<ArrayBufferView | undefined> | ArrayBufferView | undefined;
  /** Clock with `now()` in ms (default `performance`): TTLs are measured with it. */
  perf?: {
    /** Milliseconds from an arbitrary origin, monotonic. */
    now(): number;
  };
  /** The pool's fast tier (see {@link TieredPoolOptions}). */
  hotTier?: Tier;
  /** The pool's capacity tier (see {@link TieredPoolOptions}). */
  coldTier?: Tier;
  /** What the pool does without the capacity tier (see {@link TieredPoolOptions}). */
  fallback?: 'none' | 'normal';
  /** The pool's rebalance interval in ms (see {@link TieredPoolOptions}). */
  intervalMs?: number;
  /** The pool's movement bound per tick (see {@link TieredPoolOptions}). */
  maxBytesPerTick?: number;
}

/** Per-call options of {@link TieredCache.set}. */
export interface CacheSetOptions<K> {
  /** Time to live of this entry in ms (0: none), instead of the cache's `ttl`. */
  ttl?: number;
  /** This entry's size, instead of `sizeCalculation`. */
  size?: number;
  /** This entry's size function, instead of the cache's. */
  sizeCalculation?: (value: Uint8Array, key: K) => number;
  /** Do not call `dispose` for the value this set replaces. */
  noDisposeOnSet?: boolean;
}

interface Meta {
  size: number;
  ttl: number;
  start: number;
}

const KEYS = [
  'maxSize',
  'dramBudget',
  'max',
  'maxEntrySize',
  'sizeCalculation',
  'dispose',
  'ttl',
  'allowStale',
  'updateAgeOnGet',
  'updateAgeOnHas',
  'noDisposeOnSet',
  'noDeleteOnStaleGet',
  'fetchMethod',
  'perf',
  'hotTier',
  'coldTier',
  'fallback',
  'intervalMs',
  'maxBytesPerTick',
] as const;

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * An lru-cache-compatible byte cache whose values live in a {@link TieredPool}.
 *
 * @example
 * ```ts
 * import { TieredCache } from 'hmsdk';
 * const cache = new TieredCache<string>({ maxSize: 256 << 20, dramBudget: 32 << 20, ttl: 60_000 });
 * cache.set('/img/1', body);                 // copied into pool memory
 * const hit = cache.get('/img/1');           // a Buffer, zero-copy; DRAM if hot
 * const v = await cache.fetch('/img/2');     // fetchMethod on a miss
 * console.log(cache.calculatedSize, cache.pool.stats().hitRatio);
 * ```
 * @typeParam K - key type (any Map key)
 */
export class TieredCache<K = string> {
  readonly #pool: TieredPool<K>;
  /** Entries in recency order: the first is the least recently used. */
  readonly #meta = new Map<K, Meta>();
  readonly #inflight = new Map<K, Promise<PlacedBuffer | undefined>>();
  readonly #o: {
    maxSize: number;
    max: number;
    maxEntrySize: number;
    ttl: number;
    allowStale: boolean;
    updateAgeOnGet: boolean;
    updateAgeOnHas: boolean;
    noDisposeOnSet: boolean;
    noDeleteOnStaleGet: boolean;
    sizeCalculation: ((value: Uint8Array, key: K) => number) | undefined;
    dispose: ((value: PlacedBuffer, key: K, reason: DisposeReason) => void) | undefined;
    fetchMethod: TieredCacheOptions<K>['fetchMethod'];
    perf: { now(): number };
  };
  #calculatedSize = 0;

  /**
   * @param options - see {@link TieredCacheOptions}; `maxSize` and `dramBudget` are required
   * @throws TypeError / RangeError naming a bad option; what {@link TieredPool} throws (ENODEV without EXMEM unless `fallback: 'normal'`)
   */
  constructor(options: TieredCacheOptions<K>) {
    const o = readOptions('options', options, KEYS, 'a TieredCache option');
    if (o.maxSize === undefined) throw new TypeError('options.maxSize is required (bytes of entries the cache holds)');
    const maxSize = checkInt('options.maxSize', o.maxSize, 1, MAX);
    const int = (key: 'max' | 'maxEntrySize', dflt: number) => (o[key] === undefined ? dflt : checkInt(`options.${key}`, o[key], key === 'max' ? 0 : 1, MAX));
    const bool = (key: 'allowStale' | 'updateAgeOnGet' | 'updateAgeOnHas' | 'noDisposeOnSet' | 'noDeleteOnStaleGet') =>
      o[key] === undefined ? false : checkBoolean(`options.${key}`, o[key]);
    const fn = <T>(key: 'sizeCalculation' | 'dispose' | 'fetchMethod') => (o[key] === undefined ? undefined : (checkFunction(`options.${key}`, o[key]) as T));
    let perf: { now(): number } = performance;
    const clock = o.perf;
    if (clock !== undefined) {
      if (typeof clock !== 'object' || clock === null || typeof (clock as { now?: unknown }).now !== 'function') {
        throw new TypeError(`options.perf must have a now() method, got ${describe(clock)}`);
      }
      perf = clock as { now(): number };
    }
    this.#o = {
      maxSize,
      max: int('max', 0),
      maxEntrySize: int('maxEntrySize', maxSize),
      ttl: o.ttl === undefined ? 0 : checkNonNegative('options.ttl', o.ttl),
      allowStale: bool('allowStale'),
      updateAgeOnGet: bool('updateAgeOnGet'),
      updateAgeOnHas: bool('updateAgeOnHas'),
      noDisposeOnSet: bool('noDisposeOnSet'),
      noDeleteOnStaleGet: bool('noDeleteOnStaleGet'),
      sizeCalculation: fn('sizeCalculation'),
      dispose: fn('dispose'),
      fetchMethod: fn('fetchMethod'),
      perf,
    };
    // The pool validates its own options (its errors name them).
    const pool: Record<string, unknown> = { dramBudget: o.dramBudget };
    for (const k of ['hotTier', 'coldTier', 'fallback', 'intervalMs', 'maxBytesPerTick'] as const) if (o[k] !== undefined) pool[k] = o[k];
    this.#pool = new TieredPool<K>(pool as unknown as TieredPoolOptions);
  }

  /** The pool holding the values: `stats()`, `residency()`, `setBudget()`. */
  get pool(): TieredPool<K> {
    return this.#pool;
  }

  /** Entries (stale ones included, as lru-cache counts them). */
  get size(): number {
    return this.#meta.size;
  }

  /** Sum of the entries' sizes. */
  get calculatedSize(): number {
    return this.#calculatedSize;
  }

  /** The `maxSize` option. */
  get maxSize(): number {
    return this.#o.maxSize;
  }

  #stale(m: Meta): boolean {
    return m.ttl !== 0 && m.start !== 0 && this.#o.perf.now() - m.start > m.ttl;
  }

  #touch(key: K, m: Meta): void {
    this.#meta.delete(key);
    this.#meta.set(key, m);
  }

  /** Remove an entry: dispose with `reason` (value still valid), then free it. */
  #delete(key: K, reason: DisposeReason): boolean {
    const m = this.#meta.get(key);
    if (m === undefined) return false;
    this.#meta.delete(key);
    this.#calculatedSize -= m.size;
    try {
      const v = this.#pool.peek(key);
      if (this.#o.dispose && v !== undefined) this.#o.dispose(v, key, reason);
    } finally {
      this.#pool.delete(key);
    }
    return true;
  }

  #evictOldest(): void {
    const oldest = this.#meta.keys().next();
    if (!oldest.done) this.#delete(oldest.value, 'evict');
  }

  /**
   * Store a copy of `value` under `key` (lru-cache's `set`): `undefined`
   * deletes the key. Evicts least recently used entries to stay within
   * `maxSize` / `max`; a value larger than `maxEntrySize` is not stored and
   * removes the key's old value. Returns the cache.
   *
   * @throws TypeError for a value that is not bytes or a size that is not a positive integer; HmsdkError ENOMEM when no tier can hold it
   */
  set(key: K, value: ArrayBufferView | undefined, options: CacheSetOptions<K> = {}): this {
    if (value === undefined) {
      this.delete(key);
      return this;
    }
    const o = readOptions('options', options, ['ttl', 'size', 'sizeCalculation', 'noDisposeOnSet']);
    const range = byteRangeOf('value', value);
    const bytes = new Uint8Array(range.buffer, range.byteOffset, range.byteLength);
    if (bytes.byteLength === 0) throw new TypeError('value must hold at least one byte (the pool stores bytes)');
    const calc = o.sizeCalculation === undefined ? this.#o.sizeCalculation : (checkFunction('options.sizeCalculation', o.sizeCalculation) as (v: Uint8Array, k: K) => number);
    let size: unknown = o.size === undefined || o.size === 0 ? undefined : o.size;
    if (size === undefined) size = calc ? calc(bytes, key) : bytes.byteLength;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) {
      throw new TypeError(`the size of a cache entry must be a positive integer (options.size or sizeCalculation), got ${describe(size)}`);
    }
    const ttl = o.ttl === undefined ? this.#o.ttl : checkNonNegative('options.ttl', o.ttl);
    const noDispose = o.noDisposeOnSet === undefined ? this.#o.noDisposeOnSet : checkBoolean('options.noDisposeOnSet', o.noDisposeOnSet);
    if (size > this.#o.maxEntrySize) {
      this.#delete(key, 'set');
      return this;
    }
    const old = this.#meta.get(key);
    const m: Meta = { size, ttl, start: ttl !== 0 ? this.#o.perf.now() : 0 };
    if (old !== undefined) {
      this.#touch(key, old);
      if (!noDispose && this.#o.dispose) {
        const v = this.#pool.peek(key);
        if (v !== undefined) this.#o.dispose(v, key, 'set');
      }
      this.#calculatedSize -= old.size;
    } else if (this.#o.max !== 0 && this.#meta.size >= this.#o.max) {
      this.#evictOldest();
    }
    this.#meta.delete(key);
    this.#meta.set(key, m);
    this.#pool.set(key, bytes);
    while (this.#calculatedSize > this.#o.maxSize - size) {
      const oldest = this.#meta.keys().next().value as K;
      if (oldest === key) break;
      this.#delete(oldest, 'evict');
    }
    this.#calculatedSize += size;
    return this;
  }

  /**
   * The value (the pool's Buffer: read it before the next `await`), or
   * undefined when absent or stale. A hit makes the entry most recently
   * used and counts as an access for DRAM placement.
   */
  get(key: K, options: { allowStale?: boolean; updateAgeOnGet?: boolean; noDeleteOnStaleGet?: boolean } = {}): PlacedBuffer | undefined {
    const o = readOptions('options', options, ['allowStale', 'updateAgeOnGet', 'noDeleteOnStaleGet']);
    const m = this.#meta.get(key);
    if (m === undefined) return undefined;
    if (this.#stale(m)) {
      const allowStale = o.allowStale === undefined ? this.#o.allowStale : checkBoolean('options.allowStale', o.allowStale);
      const keep = o.noDeleteOnStaleGet === undefined ? this.#o.noDeleteOnStaleGet : checkBoolean('options.noDeleteOnStaleGet', o.noDeleteOnStaleGet);
      if (keep) return allowStale ? this.#pool.peek(key) : undefined;
      const copy = allowStale ? Buffer.from(this.#pool.peek(key)!) : undefined;
      this.#delete(key, 'expire');
      return copy as PlacedBuffer | undefined;
    }
    this.#touch(key, m);
    const update = o.updateAgeOnGet === undefined ? this.#o.updateAgeOnGet : checkBoolean('options.updateAgeOnGet', o.updateAgeOnGet);
    if (update && m.ttl !== 0) m.start = this.#o.perf.now();
    return this.#pool.get(key);
  }

  /** The value without making it recently used or counting an access; undefined when absent or stale (unless `allowStale`). */
  peek(key: K, options: { allowStale?: boolean } = {}): PlacedBuffer | undefined {
    const o = readOptions('options', options, ['allowStale']);
    const m = this.#meta.get(key);
    if (m === undefined) return undefined;
    const allowStale = o.allowStale === undefined ? this.#o.allowStale : checkBoolean('options.allowStale', o.allowStale);
    if (this.#stale(m) && !allowStale) return undefined;
    return this.#pool.peek(key);
  }

  /** Whether a fresh entry is there (no recency change; a stale entry is false and stays). */
  has(key: K, options: { updateAgeOnHas?: boolean } = {}): boolean {
    const o = readOptions('options', options, ['updateAgeOnHas']);
    const m = this.#meta.get(key);
    if (m === undefined || this.#stale(m)) return false;
    const update = o.updateAgeOnHas === undefined ? this.#o.updateAgeOnHas : checkBoolean('options.updateAgeOnHas', o.updateAgeOnHas);
    if (update && m.ttl !== 0) m.start = this.#o.perf.now();
    return true;
  }

  /** Remove an entry (`dispose` with reason `'delete'`). False when absent. */
  delete(key: K): boolean {
    return this.#delete(key, 'delete');
  }

  /** Remove every entry (`dispose` with reason `'delete'`, least recently used first). */
  clear(): void {
    for (const key of [...this.#meta.keys()]) this.#delete(key, 'delete');
  }

  /** Milliseconds until the entry goes stale (Infinity without TTL, 0 when absent). */
  getRemainingTTL(key: K): number {
    const m = this.#meta.get(key);
    if (m === undefined) return 0;
    if (m.ttl === 0 || m.start === 0) return Infinity;
    return m.ttl - (this.#o.perf.now() - m.start);
  }

  #fresh(): K[] {
    const out: K[] = [];
    for (const [k, m] of this.#meta) if (this.#o.allowStale || !this.#stale(m)) out.push(k);
    return out.reverse();
  }

  /** Keys, most recently used first (stale ones skipped unless `allowStale`). */
  *keys(): IterableIterator<K> {
    yield* this.#fresh();
  }

  /** Values in {@link TieredCache.keys} order (the pool's Buffers). */
  *values(): IterableIterator<PlacedBuffer> {
    for (const k of this.#fresh()) yield this.#pool.peek(k)!;
  }

  /** `[key, value]` pairs in {@link TieredCache.keys} order. */
  *entries(): IterableIterator<[K, PlacedBuffer]> {
    for (const k of this.#fresh()) yield [k, this.#pool.peek(k)!];
  }

  /**
   * The value, loaded with `fetchMethod` when absent or stale (lru-cache's
   * `fetch`): concurrent fetches of one key share one load; a loaded value
   * is stored (`set`) and returned as the pool's Buffer; a load resolving
   * to undefined stores nothing and removes a stale entry; a load that
   * throws removes a stale entry and rejects. Without `fetchMethod` it is
   * `get`.
   */
  async fetch(key: K, options: { forceRefresh?: boolean } = {}): Promise<PlacedBuffer | undefined> {
    const o = readOptions('options', options, ['forceRefresh']);
    const force = o.forceRefresh === undefined ? false : checkBoolean('options.forceRefresh', o.forceRefresh);
    const method = this.#o.fetchMethod;
    if (method === undefined) return this.get(key);
    if (!force) {
      const m = this.#meta.get(key);
      if (m !== undefined && !this.#stale(m)) return this.get(key);
    }
    const pending = this.#inflight.get(key);
    if (pending !== undefined) return pending;
    const load = (async () => {
      const m = this.#meta.get(key);
      const stale = m === undefined ? undefined : this.#pool.peek(key);
      try {
        const v = await method(key, stale, { signal: new AbortController().signal });
        if (v === undefined) {
          if (m !== undefined && this.#meta.get(key) === m) this.#delete(key, 'delete');
          return undefined;
        }
        this.set(key, v);
        return this.#meta.has(key) ? this.#pool.get(key) : undefined;
      } catch (err) {
        if (m !== undefined && this.#meta.get(key) === m) this.#delete(key, 'delete');
        throw err;
      } finally {
        this.#inflight.delete(key);
      }
    })();
    this.#inflight.set(key, load);
    return load;
  }

  /** Pool counters (see {@link TieredPool.stats}). */
  stats(): TieredPoolStats {
    return this.#pool.stats();
  }

  /** Free every value without `dispose` and stop the pool's timer. */
  close(): void {
    this.#meta.clear();
    this.#calculatedSize = 0;
    this.#pool.close();
  }

  /** Same as {@link TieredCache.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
