/**
 * TieredPool: keyed buffers with a DRAM budget; the hottest entries live on
 * the hot tier (DRAM), the rest on the cold tier (CXL / EXMEM), and the pool
 * moves them as their access pattern changes.
 *
 * ## Placement of new entries
 * `set()` puts a new entry on the hot tier when it fits in the budget
 * (`hotBytes + charge <= dramBudget`), else on the cold tier. If the hot
 * tier's nodes cannot hold it (`ENOMEM`), it goes to the cold tier too
 * (counted in `stats().hotAllocFailures`). A `set()` never moves other
 * entries, so it never exceeds the budget and costs one allocation.
 *
 * ## Temperature
 * Every `get()`/`touch()` is an access. A *window* is the time between two
 * completed rebalance passes; a new window starts by bumping an epoch
 * number (O(1): nothing is walked). Per entry the pool keeps
 * - `heat`: accesses with exponential aging — each access adds 1, each
 *   window boundary multiplies it by 0.9 (applied lazily: heat ×
 *   0.9^(windows since the entry's last access)). An entry read r times per
 *   window settles at about 10r: its access rate, averaged over a half-life
 *   of ~6.6 windows, long enough to tell a Zipf tail's ranks apart;
 * - *shift detection*: when more than 10% of a window's accesses are
 *   repeat accesses (second or later in the window) to cold entries, the
 *   hot set has moved off the hot tier, and the window boundary ages every
 *   entry's heat by 40 windows more (0.9^40 ≈ 1/67: the past is forgotten,
 *   the new hot set wins within a window or two). A scan (every entry read
 *   once) is not a shift: its accesses are first accesses. Uniform aging
 *   keeps the order, so this costs one addition;
 * - `count`: accesses in the current window (for the optional
 *   `promoteAfter` floor);
 * - `last`: a logical clock stamp (a global counter, not a time).
 * An access is a few property writes: O(1), no system call, no allocation.
 * `set()` counts as one access.
 *
 * An entry is *colder* than another when its heat is lower, or equal and
 * its last access older (LFU with aging, ties broken by LRU).
 *
 * ## Rebalance pass: the DRAM set from the access distribution
 * There is no rate threshold (MEMTIS, ARMS): the hot tier holds whichever
 * entries are hottest *relative to the others*, however low their absolute
 * rate (an HTTP cache whose hot keys are read a few times a second must
 * still get them into DRAM).
 * 1. Entries whose last in-place move was partial are moved again (the
 *    kernel moves the pages that stayed behind).
 * 2. **Target set.** Every entry with heat > 0 (and, if `promoteAfter` is
 *    set, cold entries with at least that many accesses in the window) is
 *    ranked by *heat density* — heat per byte of charge, which for equal
 *    sizes is the heat order and for mixed sizes maximises DRAM hits per
 *    byte (the fractional-knapsack greedy) — with entries already hot
 *    scored as if one access hotter and then 1.25 times higher
 *    (`HYSTERESIS_ACCESSES`, `HYSTERESIS`): a cold entry displaces a hot one
 *    only when it is 25% hotter and more than one access ahead, so two
 *    equally warm entries never ping-pong, noise in a flat distribution
 *    does not churn, and one-off reads do not swap with each other (in the
 *    trace benchmark this cuts promotions 2.5-8x for at most 0.8 points of
 *    DRAM hits). The target
 *    set is the ranked prefix that fits in the budget (an entry that does
 *    not fit is skipped and smaller ones after it still go in). Entries
 *    never accessed (heat 0 after ~60 windows, or 0 since creation) are not
 *    promoted.
 * 3. **Demote** while hot bytes exceed the budget (the budget was lowered):
 *    hot entries outside the target set, coldest first.
 * 4. **Promote** the cold entries of the target set, best first, each after
 *    demoting just enough hot non-target entries (coldest first) to make
 *    room. Hot entries outside the target set that no promotion needs stay:
 *    moving them frees DRAM nobody asked for.
 * 5. If the pass was not cut short by the byte bound, a new window starts.
 *
 * Cost: with nothing to do (no access, set, delete or budget change since
 * the last pass, and no partial move pending) a pass is O(1): uniform decay
 * does not change the order. Otherwise it scores the accessed and hot
 * entries (O(m)), finds the DRAM set by a weighted quickselect at the
 * budget (O(m) expected; see dram-set.ts), sorts only the c entries to
 * promote (O(c log c)), heapifies the non-target hot ones (O(h)) and pops the k
 * victims it moves (O(k log h)). Measured on the 2-core development host
 * (Node 20, entries of 100 B, half of them read since the last pass, the
 * machine shared with two VMs): 10^4 entries 11-15 ms moving a few, 22-30
 * ms moving ~600 by copy; 10^5 entries 42-46 ms moving a few, 110-160 ms
 * moving ~6,200; an idle pass 0.02-0.26 ms. With 10^5+ entries a pass is
 * tens of milliseconds of event-loop time: use a longer `intervalMs`.
 *
 * ## Per-tick bound
 * The background timer (every `intervalMs`, `unref`'d) runs a pass bounded
 * by `maxBytesPerTick`: it stops before a move that would bring the bytes
 * moved in this tick above the bound; the first move of a tick always runs,
 * so one entry larger than the bound moves alone. A swap (victims +
 * candidate) is checked as a whole. So a tick blocks the event loop for
 * the scan above plus moving at most `maxBytesPerTick` bytes: page
 * migration in the kernel (mbind MPOL_MF_MOVE; 32 MiB resident took 9 ms
 * on the development host, a same-node move; cross-node moves are bounded
 * by memory bandwidth) or a copy for entries ≤ 32 KiB. Lower
 * `maxBytesPerTick` for a tighter bound. A pass cut short keeps the window's counters and
 * the next tick continues. `rebalance()` runs a pass synchronously, with no
 * bound unless `maxBytes` is given.
 *
 * ## Moves
 * Entries > 32 KiB move in place with `migrate()`: their Buffer stays valid.
 * Entries ≤ 32 KiB move by copy (see ./mover.ts): the Buffer is replaced and
 * the old one freed (it reads as length 0). **Call `get()` again after any
 * `await` for entries ≤ 32 KiB, and do not hand them to asynchronous I/O
 * across a rebalance.** Within one synchronous stretch of code no
 * background pass can run.
 *
 * ## Failures are never silent
 * A partial in-place move (`MigrateResult.complete === false`) is counted
 * (`partialMoves`, `pagesNotMoved`), emitted as `'partial'`, and retried on
 * the next pass; the entry is accounted on its new tier (its policy is the
 * new tier's). A move that throws (e.g. `ENOMEM`: the target is full) is
 * counted (`failedMoves`), emitted as `'moveFailed'`, leaves the entry where
 * it was, and ends the pass (the next tick tries again).
 *
 * ## One-node machines
 * Without an EXMEM node the default cold tier does not exist: the
 * constructor throws `HmsdkError` `ENODEV` unless `coldTier: 'NORMAL'` or
 * `fallback: 'normal'` is given. The policy then runs unchanged (moves,
 * counters, events) but every page stays on DRAM; `pool.sameNodes` says so.
 */
import { EventEmitter } from 'node:events';
import { allocate, assertLive, free, type PlacedBuffer, where } from '../alloc/buffers';
import { HmsdkError } from '../errors';
import type { Tier } from '../alloc/options';
import { placementOf } from '../alloc/placement';
import { byRank, dramSet } from './dram-set';
import { MinHeap } from './heap';
import { chargeOf, moveBuffer, movesInPlace } from './mover';
import { checkNumber, checkSize, describe, readOptions } from '../util/validate';
import { checkBudget, checkPoolOptions, type ResolvedPoolOptions, type TieredPoolOptions } from './options';

/** Which of the pool's two tiers an entry is on. */
export type PoolTier = 'hot' | 'cold';

/**
 * Payload of the `'promote'` and `'demote'` events.
 *
 * @example
 * ```ts
 * pool.on('demote', (e) => console.log(`${String(e.key)}: ${e.bytes} B to ${e.tier}${e.copied ? ' (copied)' : ''}`));
 * ```
 */
export interface MoveEvent<K> {
  /** The entry. */
  key: K;
  /** Entry size in bytes. */
  bytes: number;
  /** Tier the entry moved to. */
  tier: Tier;
  /** True when moved by copy (entries ≤ 32 KiB): get() now returns a new Buffer. */
  copied: boolean;
  /** False when some resident pages stayed behind (a `'partial'` event follows). */
  complete: boolean;
}

/**
 * Payload of the `'partial'` event: an in-place move left pages behind
 * (they are retried on the next pass).
 *
 * @example
 * ```ts
 * pool.on('partial', (e) => console.warn(`${e.notMoved}/${e.resident} pages of ${String(e.key)} did not reach ${e.tier}`));
 * ```
 */
export interface PartialMoveEvent<K> {
  /** The entry. */
  key: K;
  /** Target tier. */
  tier: Tier;
  /** Resident pages of the entry. */
  resident: number;
  /** Resident pages not on the target. */
  notMoved: number;
}

/**
 * Payload of the `'moveFailed'` event: a move threw; the entry stayed.
 *
 * @example
 * ```ts
 * pool.on('moveFailed', (e) => console.error(`cannot move ${String(e.key)} to ${e.tier}:`, e.error.message));
 * ```
 */
export interface MoveFailedEvent<K> {
  /** The entry. */
  key: K;
  /** Target tier. */
  tier: Tier;
  /** What was thrown (usually an `HmsdkError` `ENOMEM`). */
  error: Error;
}

/**
 * Summary of one rebalance pass (returned by `rebalance()`, emitted as `'rebalance'`).
 *
 * @example
 * ```ts
 * const r = pool.rebalance();
 * console.log(`${r.promoted} up, ${r.demoted} down, ${r.bytesMoved} B in ${r.durationMs.toFixed(1)} ms`);
 * ```
 */
export interface RebalanceResult {
  /** `'timer'` for background ticks, `'explicit'` for `rebalance()`. */
  trigger: 'timer' | 'explicit';
  /** Entries moved to the cold tier. */
  demoted: number;
  /** Entries moved to the hot tier. */
  promoted: number;
  /** Entries moved again after a partial move. */
  retried: number;
  /** Bytes of the entries moved (entry sizes). */
  bytesMoved: number;
  /** Moves that left pages behind. */
  partial: number;
  /** Moves that threw. */
  failed: number;
  /** True when the byte bound (or a failure) stopped the pass before it was done; the window continues. */
  truncated: boolean;
  /** Hot-tier bytes after the pass. */
  hotBytes: number;
  /** The budget. */
  budget: number;
  /** Wall time of the pass. */
  durationMs: number;
}

/**
 * The kernel's view of a pool ({@link TieredPool.residency}), bytes.
 * When hot and cold tier are the same nodes (a one-node machine), pages
 * count on the tier the entry is on.
 */
export interface PoolResidency {
  /** Resident bytes on the hot tier's nodes. */
  hotBytes: number;
  /** Resident bytes on the cold tier's nodes. */
  coldBytes: number;
  /** Resident bytes elsewhere (another node), or arena entries whose pages straddle tiers. */
  otherBytes: number;
  /** Hot entries with resident pages off the hot tier. */
  hotEntriesOffTier: number;
}

/** Events of {@link TieredPool}, for `pool.on(name, listener)`. */
export interface TieredPoolEvents<K> {
  /** An entry moved to the hot tier. */
  promote: [MoveEvent<K>];
  /** An entry moved to the cold tier. */
  demote: [MoveEvent<K>];
  /** An in-place move left resident pages behind (retried on the next pass). */
  partial: [PartialMoveEvent<K>];
  /** A move threw; the entry stayed where it was. */
  moveFailed: [MoveFailedEvent<K>];
  /** A rebalance pass ended (every pass, background or explicit, even when idle). */
  rebalance: [RebalanceResult];
}

/**
 * Counters of a pool (`pool.stats()`).
 *
 * @example
 * ```ts
 * const s = pool.stats();
 * console.log(`DRAM ${s.hotBytes}/${s.budget} B, hit ratio ${(100 * s.hitRatio).toFixed(1)} %`);
 * ```
 */
export interface TieredPoolStats {
  /** Entries in the pool. */
  entries: number;
  /** Entries on the hot tier. */
  hotEntries: number;
  /** Entries on the cold tier. */
  coldEntries: number;
  /** Bytes charged to the hot tier (entries > 32 KiB rounded up to whole pages; smaller ones their size). */
  hotBytes: number;
  /** Bytes charged to the cold tier (same rule). */
  coldBytes: number;
  /** The hot-tier budget. */
  budget: number;
  /** Node ids of the hot tier. */
  hotNodes: number[];
  /** Node ids of the cold tier (the same as hotNodes on a one-node machine with a fallback). */
  coldNodes: number[];
  /** Entries moved up since creation. */
  promotions: number;
  /** Entries moved down since creation. */
  demotions: number;
  /** Bytes of entries moved (entry sizes), up and down. */
  bytesMoved: number;
  /** Moves done by copy (entries ≤ 32 KiB). */
  copyMoves: number;
  /** In-place moves that left pages behind. */
  partialMoves: number;
  /** Resident pages those moves left behind, in all. */
  pagesNotMoved: number;
  /** Pages outside the moved entries that the kernel moved along (a shared huge page; `migrate()`'s `neighbourPagesMoved`), in all. */
  neighbourPagesMoved: number;
  /** Moves that threw (the entry stayed). */
  failedMoves: number;
  /** New entries that did not fit on the hot tier's nodes (ENOMEM) and went cold although the budget allowed hot. */
  hotAllocFailures: number;
  /** Rebalance passes run. */
  rebalances: number;
  /** Passes cut short by the byte bound or a failed move. */
  truncatedRebalances: number;
  /** `get()` calls served per tier. */
  hits: {
    /** Served from the hot tier (DRAM). */
    hot: number;
    /** Served from the cold tier (EXMEM). */
    cold: number;
  };
  /** `get()` calls for a key not in the pool. */
  misses: number;
  /** hits.hot / (hits.hot + hits.cold); 0 before the first hit. */
  hitRatio: number;
}

interface Entry<K> {
  readonly key: K;
  buf: PlacedBuffer;
  readonly size: number;
  readonly charge: number;
  hot: boolean;
  /** Accesses in window `epoch`. */
  count: number;
  /** Aged access count as of window `epoch` (times 0.9 per later window). */
  heat: number;
  epoch: number;
  /** Logical clock of the last access. */
  last: number;
  /** The last in-place move was partial. */
  retry: boolean;
}

const COUNT_MAX = 2 ** 30;

/** How much better a cold entry's heat density must be to displace a hot one: hot entries score 1 + HYSTERESIS times their density. */
const HYSTERESIS = 0.25;
/** And by this many accesses: an entry read once does not displace one read once before it (each such swap is two moves for nothing). */
const HYSTERESIS_ACCESSES = 1;

/** Factor applied to heat at each window boundary: a half-life of about 6.6 windows. */
const HEAT_DECAY = 0.9;
/**
 * Shift detection: a window in which more than this share of all accesses
 * were repeat accesses (the second or later in the window) to cold entries
 * means the hot set moved to entries the hot tier does not hold.
 */
const SHIFT_SHARE = 0.1;
/** On a shift the past is forgotten: heat is aged by this many extra windows (0.9^40 ≈ 1/67). */
const SHIFT_EXTRA = 40;
/** Windows after which heat reads as 0 (0.9^400 ≈ 5e-19). */
const HEAT_HORIZON = 400;

/**
 * A pool of keyed buffers with a DRAM budget: hot entries on DRAM, the rest
 * on CXL memory, moved in the background as access patterns change. See the
 * module header (src/tiering/pool.ts) for the algorithm and its bounds.
 *
 * @example
 * ```ts
 * import { TieredPool } from 'hmsdk';
 * using pool = new TieredPool({ dramBudget: 256 << 20, intervalMs: 500 });
 * pool.set('chunk:0', 128 << 10).fill(1);   // new entry: DRAM while the budget allows
 * pool.set('chunk:1', Buffer.from('...'));  // copies the data
 * const b = pool.get('chunk:0');            // O(1), counts the access
 * pool.on('demote', (e) => console.log('demoted', e.key));
 * console.log(pool.stats().hitRatio);
 * ```
 * @typeParam K - key type (any Map key)
 */
export class TieredPool<K = string> extends EventEmitter<TieredPoolEvents<K>> {
  readonly #opts: ResolvedPoolOptions;
  readonly #map = new Map<K, Entry<K>>();
  readonly #hotNodes: number[];
  readonly #coldNodes: number[];
  #budget: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #hotBytes = 0;
  #coldBytes = 0;
  #hotEntries = 0;
  #clock = 0;
  #epoch = 0;
  /** Something changed the ranking since the last completed pass (an access, set, delete, budget change). */
  #dirty = false;
  /** Accesses in this window, and those of them that were a cold entry's second or later access in it. */
  #windowAccesses = 0;
  #coldRepeats = 0;
  /** Entries whose last move was partial. */
  #retries = 0;
  #c = {
    promotions: 0,
    demotions: 0,
    bytesMoved: 0,
    copyMoves: 0,
    partialMoves: 0,
    pagesNotMoved: 0,
    neighbourPagesMoved: 0,
    failedMoves: 0,
    hotAllocFailures: 0,
    rebalances: 0,
    truncatedRebalances: 0,
    hitsHot: 0,
    hitsCold: 0,
    misses: 0,
  };

  /**
   * @param options - see {@link TieredPoolOptions}; `dramBudget` is required.
   * @throws TypeError / RangeError naming a bad option; HmsdkError `ENODEV`
   *   when a tier has no node on this machine (e.g. the default cold tier
   *   EXMEM on a one-node machine without `coldTier: 'NORMAL'` or
   *   `fallback: 'normal'`).
   *
   * @example
   * ```ts
   * const pool = new TieredPool({ dramBudget: 64 << 20 });                       // needs an EXMEM node
   * const dev = new TieredPool({ dramBudget: 64 << 20, fallback: 'normal' });    // runs anywhere
   * ```
   */
  constructor(options: TieredPoolOptions) {
    super();
    this.#opts = checkPoolOptions(options);
    this.#budget = this.#opts.dramBudget;
    this.#hotNodes = this.#tierNodes(this.#opts.hotTier, 'hotTier');
    this.#coldNodes = this.#tierNodes(this.#opts.coldTier, 'coldTier');
    if (this.#opts.intervalMs > 0) {
      // The timer holds the pool weakly: an unreachable pool is collected
      // (its buffers with it) and its timer stops.
      const ref = new WeakRef(this);
      const timer: NodeJS.Timeout = setInterval(() => {
        const pool = ref.deref();
        if (pool === undefined) clearInterval(timer);
        else pool.#pass('timer', pool.#opts.maxBytesPerTick);
      }, this.#opts.intervalMs);
      timer.unref();
      this.#timer = timer;
    }
  }

  #tierNodes(tier: Tier, name: string): number[] {
    try {
      return placementOf({ tier, fallback: this.#opts.fallback }).nodes;
    } catch (e) {
      if (e instanceof HmsdkError && e.code === 'ENODEV') {
        throw new HmsdkError(
          'ENODEV',
          `TieredPool: options.${name} '${tier}' has no node on this machine (${e.message}). ` +
            `For a pool without a second tier (testing, development), pass coldTier: 'NORMAL' or fallback: 'normal': ` +
            'the policy then runs but pages never leave DRAM.',
          { cause: e },
        );
      }
      throw e;
    }
  }

  /** Number of entries. */
  get size(): number {
    return this.#map.size;
  }

  /** The hot-tier budget in bytes (see {@link TieredPool.setBudget}). */
  get dramBudget(): number {
    return this.#budget;
  }

  /** True when the hot and cold tier are the same nodes (a one-node machine with a fallback): moves change no page's node. */
  get sameNodes(): boolean {
    return this.#hotNodes.length === this.#coldNodes.length && this.#hotNodes.every((n) => this.#coldNodes.includes(n));
  }

  /** True after {@link TieredPool.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new HmsdkError('EFREED', `TieredPool.${what}: the pool is closed (its buffers were freed)`);
  }

  #access(e: Entry<K>): void {
    if (e.epoch !== this.#epoch) {
      e.heat = this.#heat(e);
      e.epoch = this.#epoch;
      e.count = 0;
    }
    if (e.count < COUNT_MAX) {
      e.count++;
      e.heat++;
    }
    e.last = ++this.#clock;
    this.#dirty = true;
    this.#windowAccesses++;
    if (!e.hot && e.count >= 2) this.#coldRepeats++;
  }

  #count(e: Entry<K>): number {
    return e.epoch === this.#epoch ? e.count : 0;
  }

  #heat(e: Entry<K>): number {
    const age = this.#epoch - e.epoch;
    return age === 0 ? e.heat : age > HEAT_HORIZON ? 0 : e.heat * HEAT_DECAY ** age;
  }

  /** a is colder than b: lower heat, or as hot and an older last access. */
  #colder = (a: Entry<K>, b: Entry<K>): boolean => {
    const ha = this.#heat(a);
    const hb = this.#heat(b);
    return ha < hb || (ha === hb && a.last < b.last);
  };

  /**
   * Store an entry: `size` zeroed bytes, or a copy of `data`. A new entry
   * goes to the hot tier when it fits in the budget, else to the cold tier.
   * An existing key is replaced (its old buffer freed after the new one is
   * allocated). Returns the entry's buffer.
   *
   * @example
   * ```ts
   * const b = pool.set('a', 1 << 20);       // 1 MiB, zeroed
   * pool.set('b', Buffer.from('hello'));    // a copy (5 bytes, moves by copy)
   * ```
   * @throws TypeError / RangeError for a bad size or data; HmsdkError
   *   `ENOMEM` when neither tier can hold it; `EFREED` after close().
   */
  set(key: K, sizeOrData: number | ArrayBufferView): PlacedBuffer {
    this.#assertOpen('set');
    let size: number;
    let data: Uint8Array | undefined;
    if (typeof sizeOrData === 'number') size = checkSize('size', sizeOrData);
    else if (ArrayBuffer.isView(sizeOrData)) {
      const range = assertLive(sizeOrData, 'data');
      size = checkSize('data.byteLength', range.byteLength);
      data = new Uint8Array(range.buffer, range.byteOffset, range.byteLength);
    } else {
      throw new TypeError(`sizeOrData must be a byte count or a Buffer / typed array to copy, got ${describe(sizeOrData)}`);
    }
    const old = this.#map.get(key);
    const charge = chargeOf(size);
    const hotAfter = this.#hotBytes - (old?.hot ? old.charge : 0) + charge;
    let hot = hotAfter <= this.#budget;
    const o = this.#opts;
    const base = { fallback: o.fallback, populate: o.populate, zero: data === undefined };
    let buf: PlacedBuffer;
    if (hot) {
      try {
        buf = allocate(size, { ...base, tier: o.hotTier });
      } catch (e) {
        if (!(e instanceof HmsdkError && e.code === 'ENOMEM')) throw e;
        this.#c.hotAllocFailures++;
        hot = false;
        buf = allocate(size, { ...base, tier: o.coldTier });
      }
    } else {
      buf = allocate(size, { ...base, tier: o.coldTier });
    }
    if (data !== undefined) buf.set(data);
    if (old !== undefined) {
      try {
        this.#drop(old);
      } catch (err) {
        // The caller freed the old entry's buffer itself: replacing it is
        // what they want. Anything else must not leak the new buffer.
        if (!(err instanceof HmsdkError && err.code === 'EDOUBLEFREE')) {
          free(buf);
          throw err;
        }
      }
    }
    const e: Entry<K> = { key, buf, size, charge, hot, count: 1, heat: 1, epoch: this.#epoch, last: ++this.#clock, retry: false };
    this.#map.set(key, e);
    this.#account(e, +1);
    this.#dirty = true;
    return buf;
  }

  #account(e: Entry<K>, sign: 1 | -1): void {
    if (e.hot) {
      this.#hotBytes += sign * e.charge;
      this.#hotEntries += sign;
    } else this.#coldBytes += sign * e.charge;
    if (e.retry) this.#retries += sign;
  }

  /** Forget the entry, then free its buffer (throws what free() throws, e.g. EDOUBLEFREE if the caller freed it). */
  #drop(e: Entry<K>): void {
    this.#account(e, -1);
    this.#dirty = true;
    this.#map.delete(e.key);
    free(e.buf);
  }

  /**
   * The entry's buffer, or undefined for a key not in the pool. Records the
   * access (O(1), no system call) and counts a hit on the entry's tier.
   * For entries ≤ 32 KiB call `get()` again after an `await`: a rebalance
   * may have moved them by copy.
   *
   * @example
   * ```ts
   * const b = pool.get('a');
   * if (b) process(b);
   * ```
   */
  get(key: K): PlacedBuffer | undefined {
    const e = this.#map.get(key);
    if (e === undefined) {
      this.#c.misses++;
      return undefined;
    }
    this.#access(e);
    if (e.hot) this.#c.hitsHot++;
    else this.#c.hitsCold++;
    return e.buf;
  }

  /**
   * The entry's buffer without recording an access or a hit (diagnostics:
   * `where(pool.peek(k))`), or undefined for a key not in the pool.
   *
   * @example
   * ```ts
   * const w = where(pool.peek('a')!); // does not make 'a' look used
   * ```
   */
  peek(key: K): PlacedBuffer | undefined {
    return this.#map.get(key)?.buf;
  }

  /**
   * Record an access without returning the buffer (and without counting a
   * hit). Returns false for a key not in the pool.
   *
   * @example
   * ```ts
   * pool.touch('a'); // 'a' looks used to the next rebalance
   * ```
   */
  touch(key: K): boolean {
    this.#assertOpen('touch');
    const e = this.#map.get(key);
    if (e === undefined) return false;
    this.#access(e);
    return true;
  }

  /**
   * Hint that an entry will be read soon: its heat is raised to at least 1
   * (with `promoteAfter`, to that floor, and its window count too), so it
   * takes part in the next pass's ranking like an entry just read, and
   * goes up if that heat earns it a place in the budget. Idempotent within a window: prefetching an
   * entry many times does not make it look hotter than reading it. No hit is
   * counted. Returns false for a key not in the pool. O(1).
   *
   * @example
   * ```ts
   * // a reader missed chunk i on DRAM: bring the next 4 up on the next tick
   * for (let j = i + 1; j <= i + 4; j++) pool.prefetch(`chunk:${j}`);
   * ```
   */
  prefetch(key: K): boolean {
    this.#assertOpen('prefetch');
    const e = this.#map.get(key);
    if (e === undefined) return false;
    if (e.epoch !== this.#epoch) {
      e.heat = this.#heat(e);
      e.epoch = this.#epoch;
      e.count = 0;
    }
    const p = Math.max(1, this.#opts.promoteAfter);
    if (e.count < p) e.count = p;
    if (e.heat < p) e.heat = p;
    e.last = ++this.#clock;
    this.#dirty = true;
    return true;
  }

  /**
   * Whether the key is in the pool.
   *
   * @example
   * ```ts
   * if (!pool.has(k)) pool.set(k, compute(k));
   * ```
   */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /**
   * Which tier the entry is on: `'hot'`, `'cold'`, or undefined when absent.
   *
   * @example
   * ```ts
   * pool.tierOf('a'); // 'hot'
   * ```
   */
  tierOf(key: K): PoolTier | undefined {
    const e = this.#map.get(key);
    return e === undefined ? undefined : e.hot ? 'hot' : 'cold';
  }

  /**
   * The keys, in insertion order.
   *
   * @example
   * ```ts
   * for (const k of pool.keys()) console.log(k, pool.tierOf(k));
   * ```
   */
  keys(): IterableIterator<K> {
    return this.#map.keys();
  }

  /**
   * Remove an entry and free its buffer (every reference to it drops to
   * length 0). Returns false for a key not in the pool.
   *
   * @example
   * ```ts
   * pool.delete('a');
   * ```
   */
  delete(key: K): boolean {
    const e = this.#map.get(key);
    if (e === undefined) return false;
    this.#drop(e);
    return true;
  }

  /**
   * Change the budget. Lowering it below the hot bytes makes the next pass
   * demote the coldest hot entries; raising it lets hot cold entries up.
   *
   * @example
   * ```ts
   * pool.setBudget(pool.dramBudget / 2); // memory pressure: shrink DRAM use
   * pool.rebalance();
   * ```
   * @throws TypeError / RangeError naming `bytes`.
   */
  setBudget(bytes: number): void {
    this.#budget = checkBudget('bytes', bytes);
    this.#dirty = true;
  }

  /**
   * Run a rebalance pass now, synchronously (see the module header). With
   * no `maxBytes` it does all the work there is; with `maxBytes` it is
   * bounded like a background tick. Emits `'rebalance'` and returns the
   * same summary.
   *
   * @example
   * ```ts
   * const r = pool.rebalance();
   * assert(pool.stats().hotBytes <= pool.dramBudget);
   * ```
   * @throws RangeError for a bad `maxBytes`; HmsdkError `EFREED` after close().
   */
  rebalance(options: { maxBytes?: number } = {}): RebalanceResult {
    const o = readOptions('options', options, ['maxBytes']);
    const maxBytes = o.maxBytes === undefined ? Infinity : checkNumber('options.maxBytes', o.maxBytes);
    if (!(maxBytes >= 1)) throw new RangeError(`options.maxBytes must be a number >= 1, got ${describe(maxBytes)}`);
    this.#assertOpen('rebalance');
    return this.#pass('explicit', maxBytes);
  }

  #pass(trigger: 'timer' | 'explicit', bound: number): RebalanceResult {
    const t0 = performance.now();
    const r: RebalanceResult = {
      trigger,
      demoted: 0,
      promoted: 0,
      retried: 0,
      bytesMoved: 0,
      partial: 0,
      failed: 0,
      truncated: false,
      hotBytes: 0,
      budget: this.#budget,
      durationMs: 0,
    };
    if (!this.#closed) {
      if (this.#retries > 0 || this.#hotBytes > this.#budget || this.#dirty) this.#work(r, bound);
      this.#c.rebalances++;
      if (r.truncated) this.#c.truncatedRebalances++;
      else {
        const shifted = this.#windowAccesses > 0 && this.#coldRepeats / this.#windowAccesses > SHIFT_SHARE;
        this.#epoch += shifted ? 1 + SHIFT_EXTRA : 1;
        this.#windowAccesses = 0;
        this.#coldRepeats = 0;
        this.#dirty = false;
      }
    }
    r.hotBytes = this.#hotBytes;
    r.durationMs = performance.now() - t0;
    this.emit('rebalance', r);
    return r;
  }

  #work(r: RebalanceResult, bound: number): void {
    const fits = (bytes: number) => r.bytesMoved === 0 || r.bytesMoved + bytes <= bound;
    const floor = this.#opts.promoteAfter;
    const ranked: { e: Entry<K>; score: number }[] = [];
    const retries: Entry<K>[] = [];
    for (const e of this.#map.values()) {
      if (e.retry) retries.push(e);
      const h = this.#heat(e);
      if (!e.hot && (h <= 0 || (floor > 0 && this.#count(e) < floor))) continue;
      ranked.push({ e, score: e.hot ? ((h + HYSTERESIS_ACCESSES) / e.charge) * (1 + HYSTERESIS) : h / e.charge });
    }
    // 1. finish partial moves
    for (const e of retries) {
      if (!fits(e.size)) return this.#truncate(r);
      if (!this.#move(e, e.hot, r)) return this.#truncate(r);
      r.retried++;
    }
    // 2. the target set: the best-scored prefix that fits in the budget
    const target = dramSet(ranked, this.#budget);
    const ups: { e: Entry<K>; score: number }[] = [];
    for (const x of ranked) if (!x.e.hot && target.has(x.e)) ups.push(x);
    ups.sort(byRank);
    const outside: Entry<K>[] = [];
    for (const e of this.#map.values()) if (e.hot && !target.has(e)) outside.push(e);
    const victims = new MinHeap(outside, this.#colder);
    // 3. demote while over budget
    while (this.#hotBytes > this.#budget) {
      const v = victims.pop();
      if (v === undefined) break;
      if (!fits(v.size)) return this.#truncate(r);
      if (!this.#move(v, false, r)) return this.#truncate(r);
    }
    // 4. promote the target set's cold entries, best first, making room from the coldest outside it
    for (const { e } of ups) {
      const need = this.#hotBytes + e.charge - this.#budget;
      const out: Entry<K>[] = [];
      let freed = 0;
      let moveBytes = e.size;
      while (freed < need) {
        const v = victims.pop();
        if (v === undefined) break;
        out.push(v);
        freed += v.charge;
        moveBytes += v.size;
      }
      if (freed < need || !fits(moveBytes)) {
        for (const v of out) victims.push(v);
        if (freed < need) continue;
        return this.#truncate(r);
      }
      for (const v of out) if (!this.#move(v, false, r)) return this.#truncate(r);
      if (!this.#move(e, true, r)) return this.#truncate(r);
    }
  }

  #truncate(r: RebalanceResult): void {
    r.truncated = true;
  }

  /** Move one entry; false when the move threw (counted and emitted). */
  #move(e: Entry<K>, toHot: boolean, r: RebalanceResult): boolean {
    const o = this.#opts;
    const tier = toHot ? o.hotTier : o.coldTier;
    let m;
    try {
      m = moveBuffer(e.buf, e.size, tier, o.fallback);
    } catch (err) {
      this.#c.failedMoves++;
      r.failed++;
      this.emit('moveFailed', { key: e.key, tier, error: err instanceof Error ? err : new Error(String(err)) });
      return false;
    }
    const again = e.hot === toHot; // finishing a partial move
    this.#account(e, -1);
    e.buf = m.buf;
    e.hot = toHot;
    e.retry = m.notMoved > 0;
    this.#account(e, +1);
    r.bytesMoved += e.size;
    this.#c.bytesMoved += e.size;
    if (m.copied) this.#c.copyMoves++;
    this.#c.neighbourPagesMoved += m.neighbourPagesMoved;
    if (m.notMoved > 0) {
      this.#c.partialMoves++;
      this.#c.pagesNotMoved += m.notMoved;
      r.partial++;
    }
    if (!again) {
      if (toHot) {
        this.#c.promotions++;
        r.promoted++;
      } else {
        this.#c.demotions++;
        r.demoted++;
      }
      this.emit(toHot ? 'promote' : 'demote', { key: e.key, bytes: e.size, tier, copied: m.copied, complete: m.notMoved === 0 });
    }
    if (m.notMoved > 0) this.emit('partial', { key: e.key, tier, resident: m.resident, notMoved: m.notMoved });
    return true;
  }

  /**
   * The pool's counters (no system call).
   *
   * @example
   * ```ts
   * const { hotBytes, budget, hitRatio, promotions, demotions } = pool.stats();
   * ```
   */
  stats(): TieredPoolStats {
    const c = this.#c;
    const hits = c.hitsHot + c.hitsCold;
    return {
      entries: this.#map.size,
      hotEntries: this.#hotEntries,
      coldEntries: this.#map.size - this.#hotEntries,
      hotBytes: this.#hotBytes,
      coldBytes: this.#coldBytes,
      budget: this.#budget,
      hotNodes: [...this.#hotNodes],
      coldNodes: [...this.#coldNodes],
      promotions: c.promotions,
      demotions: c.demotions,
      bytesMoved: c.bytesMoved,
      copyMoves: c.copyMoves,
      partialMoves: c.partialMoves,
      pagesNotMoved: c.pagesNotMoved,
      neighbourPagesMoved: c.neighbourPagesMoved,
      failedMoves: c.failedMoves,
      hotAllocFailures: c.hotAllocFailures,
      rebalances: c.rebalances,
      truncatedRebalances: c.truncatedRebalances,
      hits: { hot: c.hitsHot, cold: c.hitsCold },
      misses: c.misses,
      hitRatio: hits === 0 ? 0 : c.hitsHot / hits,
    };
  }

  /**
   * Where the entries' pages are, by the kernel (`move_pages` per entry, so
   * O(entries) system calls: for checks and dashboards, not hot paths).
   * Entries with their own mapping count their resident pages; an arena
   * entry (≤ 32 KiB) counts its size on a tier when all its pages are there.
   * `stats().hotBytes` is what the pool decided; this is what happened.
   *
   * @example
   * ```ts
   * const r = pool.residency();
   * console.log(`DRAM by move_pages: ${r.hotBytes} B of a ${pool.dramBudget} B budget`);
   * ```
   */
  residency(): PoolResidency {
    const out: PoolResidency = { hotBytes: 0, coldBytes: 0, otherBytes: 0, hotEntriesOffTier: 0 };
    const hot = new Set(this.#hotNodes);
    const cold = new Set(this.#coldNodes);
    for (const e of this.#map.values()) {
      const w = where(e.buf);
      let onHot = 0;
      let onCold = 0;
      let elsewhere = 0;
      for (const [node, pages] of Object.entries(w.nodes)) {
        const n = Number(node);
        if (hot.has(n) && (e.hot || !cold.has(n))) onHot += pages;
        else if (cold.has(n)) onCold += pages;
        else elsewhere += pages;
      }
      if (e.hot && onHot < w.total - w.absent - w.other) out.hotEntriesOffTier++;
      if (movesInPlace(e.size)) {
        out.hotBytes += onHot * w.pageSize;
        out.coldBytes += onCold * w.pageSize;
        out.otherBytes += elsewhere * w.pageSize;
      } else if (onHot > 0 && onCold === 0 && elsewhere === 0) out.hotBytes += e.size;
      else if (onCold > 0 && onHot === 0 && elsewhere === 0) out.coldBytes += e.size;
      else if (onHot + onCold + elsewhere > 0) out.otherBytes += e.size;
    }
    return out;
  }

  /**
   * Free every entry and stop the timer. Idempotent. Afterwards the pool is
   * empty: `get()` returns undefined, `set()`/`rebalance()` throw `EFREED`.
   * If the caller freed an entry's buffer itself, every other entry is still
   * freed and then the first error (`EDOUBLEFREE`) is thrown.
   *
   * @example
   * ```ts
   * pool.close();
   * // or: using pool = new TieredPool({ ... });  // closed at scope exit
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    let first: unknown;
    for (const e of [...this.#map.values()]) {
      try {
        this.#drop(e);
      } catch (err) {
        first ??= err;
      }
    }
    this.#dirty = false;
    this.#retries = 0;
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows the first error a cleanup step threw, as it was
    if (first !== undefined) throw first;
  }

  /** Same as {@link TieredPool.close}: `using pool = new TieredPool(...)` closes it at scope exit. */
  [Symbol.dispose](): void {
    this.close();
  }
}
