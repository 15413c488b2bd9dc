/**
 * Seeded fuzzing of the public API: every function and method exported by
 * src/index.ts is called with hostile arguments drawn from one pool of value
 * classes (numbers of every kind, strings, BigInt, symbols, arrays sparse
 * and huge, buffers live / freed / foreign / detached / empty, plain and
 * circular objects, Proxies with throwing or changing traps, throwing
 * getters, getters that re-enter the SDK and free or dispose things
 * mid-call), mixed with valid arguments so that allocations really happen.
 *
 * What must hold, checked as the calls run:
 * - every throw is a TypeError / RangeError whose message starts with the
 *   name of an argument of the call, or an HmsdkError with a documented
 *   code; messages stay short (no serialised user values);
 * - the live SDK buffers handed out never overlap: each is filled with its
 *   own byte pattern when it is returned and all patterns are re-checked
 *   after every batch of calls;
 * - nothing leaks: once everything is freed, stats().sdk.liveAllocations and
 *   the per-tier `used` counters are back where they started.
 *
 * The store (`connect` and every `Store` method, async) is fuzzed the same
 * way in its own run: hostile keys, sizes, targets, patterns and options
 * mixed with valid calls on a few keys; afterwards every object is deleted
 * and the store lists nothing.
 *
 * The seed is fixed (HMSDK_FUZZ_SEED overrides it, HMSDK_FUZZ_CALLS the
 * number of calls) so a failure reproduces; the report names the seed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as hm from '../src/index';
import { topology } from '../src/topology/current';
import { rng } from './helpers/rng';

const SEED = Number(process.env.HMSDK_FUZZ_SEED ?? 0x5eed);
const CALLS = Number(process.env.HMSDK_FUZZ_CALLS ?? 100_000);
const BATCH = 200;
/** Buffers kept live at once; the oldest are freed beyond this. */
const MAX_TRACKED = 48;
/** Results larger than this are freed at once instead of being filled (the fuzzer must not eat memory). */
const MAX_FILL_BYTES = 8 << 20;
const MAX_MESSAGE_CHARS = 1000;
const DOCUMENTED_CODES = new Set<hm.HmsdkErrorCode>([
  'ENOMEM',
  'ENODEV',
  'ENOTSUP',
  'EDOUBLEFREE',
  'EFREED',
  'EFOREIGN',
  'EDETACHED',
  'ESYSCALL',
  'ECONFIG',
  // the store (connect / Store methods)
  'EEXIST',
  'ENOENT',
  'ENOTSEALED',
  'ENOTOWNER',
  'EMANAGER',
  'ECLOSED',
]);

const random = rng(SEED);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
const chance = (p: number): boolean => random() < p;

// ---- tracked state ---------------------------------------------------------

interface Tracked {
  bytes: Uint8Array;
  pattern: number;
}
const tracked: Tracked[] = [];
const freedViews: Uint8Array[] = [];
const arenas: hm.Arena[] = [];
const pools: hm.TieredPool<unknown>[] = [];
let nextPattern = 0;

const patternBlocks = new Map<number, Buffer>();
const PATTERN_BLOCK = 64 << 10;
function intact(t: Tracked): boolean {
  let block = patternBlocks.get(t.pattern);
  if (!block) patternBlocks.set(t.pattern, (block = Buffer.alloc(PATTERN_BLOCK, t.pattern)));
  const b = Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  for (let off = 0; off < b.length; off += PATTERN_BLOCK) {
    const end = Math.min(off + PATTERN_BLOCK, b.length);
    if (b.compare(block, 0, end - off, off, end) !== 0) return false;
  }
  return true;
}

function bytesOf(v: unknown): Uint8Array | undefined {
  if (!ArrayBuffer.isView(v)) return undefined;
  return new Uint8Array(v.buffer as ArrayBuffer, v.byteOffset, v.byteLength);
}

function freeQuietly(v: ArrayBufferView): void {
  try {
    hm.free(v);
  } catch {
    /* freed already (by a re-entrant getter, a pool or an arena dispose) */
  }
}

/** Take an SDK buffer a call returned: fill it with its own pattern (or free it at once when big). */
function track(v: unknown): void {
  const bytes = bytesOf(v);
  if (!bytes || bytes.byteLength === 0) return;
  if (bytes.byteLength > MAX_FILL_BYTES) {
    freeQuietly(bytes);
    return;
  }
  const pattern = 1 + (nextPattern++ % 32);
  bytes.fill(pattern);
  tracked.push({ bytes, pattern });
  while (tracked.length > MAX_TRACKED) {
    const old = tracked.shift() as Tracked;
    freeQuietly(old.bytes);
    if (freedViews.length < 8) freedViews.push(old.bytes);
  }
}

const overlaps: string[] = [];
function checkTracked(call: number): void {
  for (let i = tracked.length - 1; i >= 0; i--) {
    const t = tracked[i] as Tracked;
    if (t.bytes.byteLength === 0) {
      tracked.splice(i, 1); // freed (detached) by the SDK
      continue;
    }
    if (!intact(t)) overlaps.push(`call ${call}: a live buffer of ${t.bytes.byteLength} bytes (pattern ${t.pattern}) was overwritten`);
    t.bytes.fill(t.pattern); // re-arm, so one overlap is reported once
  }
}

// ---- hostile values ----------------------------------------------------------

const HUGE_STRING = 'x'.repeat(1 << 20);
const BIG_FOREIGN = Buffer.alloc(2 << 20, 7);
const circular: Record<string, unknown> = { tier: 'NORMAL' };
circular.self = circular;

function reenter(): void {
  try {
    switch (int(5)) {
      case 0:
        if (tracked.length > 0) hm.free(pick(tracked).bytes);
        break;
      case 1:
        hm.trim();
        break;
      case 2:
        if (arenas.length > 0) pick(arenas).dispose();
        break;
      case 3:
        if (pools.length > 0) pick(pools).close();
        break;
      default:
        hm.s_disable_node_interleave();
    }
  } catch {
    /* the re-entrant action itself may fail (double free ...): not what is tested */
  }
}

/** A view (or the buffer itself) over an ArrayBuffer detached by a structuredClone transfer. */
function detached<T>(make: (ab: ArrayBuffer) => T): T {
  const ab = new ArrayBuffer(16);
  const view = make(ab);
  structuredClone(ab, { transfer: [ab] });
  return view;
}

/** A tracked buffer that is still live (a re-entrant getter may have freed any of them). */
function liveBuffer(): Uint8Array | undefined {
  const bytes = tracked.length > 0 ? pick(tracked).bytes : undefined;
  return bytes && bytes.byteLength > 0 ? bytes : undefined;
}

const NUMBERS = [NaN, Infinity, -Infinity, -0, 0, 1, 7, 8, 16, 64, 4096, 0.5, 1.5, -1, -4096, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, 1e308, Number.MAX_VALUE, Number.MIN_VALUE, hm.MAX_SIZE, hm.MAX_SIZE + 1, 1023, 1024];
const STRINGS = ['', 'NORMAL', 'EXMEM', 'normal', 'bind', 'weighted', 'interleave', 'preferred', 'none', '0', '0-1', '0-65535', 'K', 'g', 'B', '日本語🎉', '\0', '__proto__', HUGE_STRING];

function hostileObject(): unknown {
  switch (int(12)) {
    case 0:
      return {};
    case 1:
      return circular;
    case 2:
      return {
        toJSON() {
          throw new Error('toJSON ran');
        },
        toString() {
          throw new Error('toString ran');
        },
      };
    case 3:
      return Object.create(null);
    case 4:
      return {
        get tier(): never {
          throw new Error('getter threw');
        },
      };
    case 5: {
      let n = 0;
      return {
        get tier() {
          return n++ % 2 === 0 ? 'NORMAL' : 'EXMEM';
        },
        get node() {
          return n++ % 2 === 0 ? 0 : 5;
        },
      };
    }
    case 6:
      return new Proxy(
        {},
        {
          get() {
            throw new Error('trap');
          },
          ownKeys() {
            throw new Error('trap');
          },
          getOwnPropertyDescriptor() {
            throw new Error('trap');
          },
          getPrototypeOf() {
            throw new Error('trap');
          },
          has() {
            throw new Error('trap');
          },
        },
      );
    case 7: {
      let n = 0;
      const target = { tier: 'NORMAL', node: 0 };
      return new Proxy(target, {
        get: () => pick(['NORMAL', 'EXMEM', 0, 9, undefined, HUGE_STRING, ++n]),
        getOwnPropertyDescriptor: (t, k) => (chance(0.5) ? Reflect.getOwnPropertyDescriptor(t, k) : undefined),
      });
    }
    case 8: {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    }
    case 9:
      return {
        get tier() {
          reenter();
          return 'NORMAL';
        },
      };
    case 10:
      return new Date(0);
    default:
      return new Map([[1, 2]]);
  }
}

function hostileArray(): unknown {
  switch (int(8)) {
    case 0:
      return [];
    case 1:
      return [0];
    case 2:
      return [0, 0];
    case 3:
      return new Array(5); // holes
    case 4:
      return new Array(2 ** 32 - 1); // huge length, no elements
    case 5:
      return [0, 'a', 1n];
    case 6:
      return new Proxy([0], { get: (t, k) => (k === 'length' ? 2 ** 31 : Reflect.get(t, k)) });
    default:
      return Object.defineProperty([0], '0', {
        get() {
          reenter();
          return 0;
        },
        enumerable: true,
      });
  }
}

function hostileBuffer(): unknown {
  switch (int(14)) {
    case 0:
    case 1:
    case 2:
      return liveBuffer() ?? Buffer.alloc(8);
    case 3:
      return freedViews.length > 0 ? pick(freedViews) : Buffer.alloc(1);
    case 4:
      return Buffer.alloc(16);
    case 5:
      return new Uint8Array(0);
    case 6:
      return detached((ab) => ab);
    case 7:
      return detached((ab) => new Uint8Array(ab, 4));
    case 8: {
      const live = liveBuffer();
      return live ? new DataView(live.buffer, live.byteOffset, live.byteLength) : new DataView(new ArrayBuffer(4));
    }
    case 9:
      return liveBuffer()?.buffer ?? new ArrayBuffer(4);
    case 10:
      return BIG_FOREIGN;
    case 11:
      return new Float64Array(new SharedArrayBuffer(16));
    case 12:
      return new BigInt64Array(2);
    default: {
      const live = liveBuffer();
      return live ? new Proxy(live, {}) : detached((ab) => new DataView(ab));
    }
  }
}

function hostileFunction(): unknown {
  switch (int(7)) {
    case 0:
      return Float32Array;
    case 1:
      return BigInt64Array;
    case 2:
      return class Throws extends Uint8Array {
        // @ts-expect-error -- deliberately throws before super(): a constructor that never builds the view
        constructor() {
          throw new Error('ctor threw');
        }
      };
    case 3:
      return class Other {
        static BYTES_PER_ELEMENT = 4;
        constructor() {
          return new Float32Array(4);
        }
      };
    case 4:
      return () => 1;
    case 5:
      return new Proxy(Uint16Array, {});
    default:
      return class Freeing extends Uint8Array {
        static override get BYTES_PER_ELEMENT() {
          reenter();
          return 1;
        }
      };
  }
}

/** Any value, from every class. */
function hostile(): unknown {
  switch (int(12)) {
    case 0:
    case 1:
      return pick(NUMBERS);
    case 2:
      return pick(STRINGS);
    case 3:
      return pick([5n, -1n, 2n ** 70n, 10n ** 400n]);
    case 4:
      return pick([Symbol('s'), Symbol.iterator]);
    case 5:
      return pick([null, undefined, true, false]);
    case 6:
      return hostileArray();
    case 7:
    case 8:
      return hostileBuffer();
    case 9:
    case 10:
      return hostileObject();
    default:
      return hostileFunction();
  }
}

// ---- mostly-valid arguments ------------------------------------------------

const normalNode = topology().normalNodes[0] ?? 0;

function size(): unknown {
  const r = random();
  if (r < 0.65) return 1 + int(65536);
  if (r < 0.7) return (1 << 20) + int(3 << 20);
  return hostile();
}

function tier(): unknown {
  return chance(0.7) ? pick(['NORMAL', 'EXMEM', hm.SMDK_MEM_NORMAL]) : hostile();
}

function node(): unknown {
  return chance(0.6) ? pick([normalNode, normalNode, 1, 3, 1023]) : hostile();
}

function options(): unknown {
  if (chance(0.2)) return chance(0.5) ? undefined : hostile();
  const o: Record<string, unknown> = {};
  const valid = chance(0.6);
  const value = (good: () => unknown) => (valid || chance(0.5) ? good() : hostile());
  if (chance(0.4)) o.tier = value(() => pick(['NORMAL', 'EXMEM']));
  if (chance(0.2)) o.node = value(() => normalNode);
  else if (chance(0.15)) o.nodes = value(() => [normalNode]);
  if (chance(0.3)) o.policy = value(() => pick(['bind', 'preferred', 'interleave', 'weighted']));
  if (chance(0.1)) {
    o.policy = 'weighted';
    o.weights = value(() => pick([[3], { [normalNode]: 2 }, BIG_FOREIGN]));
  }
  if (chance(0.3)) o.fallback = value(() => 'normal');
  if (chance(0.1)) o.populate = value(() => chance(0.5));
  if (chance(0.2)) o.zero = value(() => chance(0.5));
  if (chance(0.03)) o.unknownKey = 1;
  return o;
}

function poolOptions(): unknown {
  if (chance(0.15)) return hostile();
  const o: Record<string, unknown> = { dramBudget: chance(0.8) ? int(1 << 20) : hostile(), coldTier: 'NORMAL', intervalMs: 0 };
  if (chance(0.2)) o.hotTier = tier();
  if (chance(0.2)) o.coldTier = tier();
  if (chance(0.2)) o.fallback = chance(0.5) ? 'normal' : hostile();
  if (chance(0.1)) o.promoteAfter = chance(0.5) ? 1 + int(4) : hostile();
  if (chance(0.1)) o.maxBytesPerTick = chance(0.5) ? 1 + int(1 << 20) : hostile();
  if (chance(0.05)) o.intervalMs = hostile();
  return o;
}

function pool(): hm.TieredPool<unknown> | undefined {
  return pools.length > 0 ? pick(pools) : undefined;
}

function arena(): hm.Arena | undefined {
  return arenas.length > 0 ? pick(arenas) : undefined;
}

// ---- the calls ---------------------------------------------------------------

interface Call {
  name: string;
  /** Argument names an argument error may start with. */
  args: readonly string[];
  weight: number;
  run(): unknown;
}

const anyCall = hm as unknown as Record<string, (...a: unknown[]) => unknown>;
const s = (name: string, args: readonly string[], weight: number, make: () => unknown[]): Call => ({
  name,
  args,
  weight,
  run: () => anyCall[name]?.(...make()),
});

const CALL_LIST: Call[] = [
  { name: 'allocate', args: ['size', 'options'], weight: 10, run: () => track(hm.allocate(size() as number, options() as hm.AllocateOptions)) },
  {
    name: 'allocateTyped',
    args: ['type', 'length', 'options'],
    weight: 4,
    run: () => track(hm.allocateTyped((chance(0.5) ? pick([Float32Array, Uint8Array, Int32Array]) : hostileFunction()) as never, (chance(0.7) ? 1 + int(4096) : hostile()) as number, options() as hm.AllocateOptions)),
  },
  { name: 'free', args: ['buffer'], weight: 6, run: () => hm.free((chance(0.8) ? hostileBuffer() : hostile()) as ArrayBuffer) },
  { name: 'where', args: ['buffer'], weight: 4, run: () => hm.where((chance(0.8) ? hostileBuffer() : hostile()) as ArrayBuffer) },
  {
    name: 'createArena',
    args: ['bytes', 'options'],
    weight: 2,
    run: () => {
      const a = hm.createArena((chance(0.7) ? 1024 + int(64 << 10) : hostile()) as number, options() as hm.AllocateOptions);
      arenas.push(a);
      if (arenas.length > 4) (arenas.shift() as hm.Arena).dispose();
    },
  },
  {
    name: 'Arena.alloc',
    args: ['size', 'align'],
    weight: 8,
    run: () => {
      const a = arena();
      if (!a) return;
      const sz = chance(0.8) ? 1 + int(512) : hostile();
      const align = chance(0.5) ? undefined : chance(0.5) ? pick([1, 2, 8, 64, 4096]) : hostile();
      track(a.alloc(sz as number, align as number));
    },
  },
  {
    name: 'Arena.dispose',
    args: [],
    weight: 1,
    run: () => {
      const a = arena();
      if (!a) return;
      void a.used;
      void a.capacity;
      a[Symbol.dispose]();
    },
  },
  { name: 'migrate', args: ['buffer', 'options'], weight: 4, run: () => hm.migrate(hostileBuffer() as ArrayBuffer, options() as hm.MigrateOptions) },
  { name: 'placementOf', args: ['options'], weight: 4, run: () => hm.placementOf(options() as hm.AllocateOptions) },
  { name: 'stats', args: [], weight: 1, run: () => hm.stats() },
  { name: 'trim', args: [], weight: 1, run: () => hm.trim() },
  { name: 's_malloc', args: ['type', 'size'], weight: 6, run: () => track(hm.s_malloc(tier() as hm.Tier, size() as number)) },
  {
    name: 's_calloc',
    args: ['type', 'num', 'size'],
    weight: 3,
    run: () => track(hm.s_calloc(tier() as hm.Tier, (chance(0.7) ? 1 + int(16) : hostile()) as number, (chance(0.7) ? 1 + int(4096) : hostile()) as number)),
  },
  {
    name: 's_realloc',
    args: ['type', 'buf', 'size'],
    weight: 4,
    run: () => track(hm.s_realloc(tier() as hm.Tier, (chance(0.2) ? pick([null, undefined]) : hostileBuffer()) as Uint8Array, size() as number)),
  },
  {
    name: 's_posix_memalign',
    args: ['type', 'alignment', 'size'],
    weight: 2,
    run: () => track(hm.s_posix_memalign(tier() as hm.Tier, (chance(0.6) ? pick([8, 16, 64, 4096]) : hostile()) as number, (chance(0.7) ? 1 + int(4096) : hostile()) as number)),
  },
  s('s_free', ['buffer'], 3, () => [hostileBuffer()]),
  s('s_free_node', ['type', 'buffer'], 2, () => [tier(), hostileBuffer()]),
  { name: 's_malloc_node', args: ['type', 'size', 'node'], weight: 3, run: () => track(hm.s_malloc_node(tier() as hm.Tier, size() as number, node() as number)) },
  s('s_get_memsize_total', ['type'], 1, () => [tier()]),
  s('s_get_memsize_used', ['type'], 2, () => [tier()]),
  s('s_get_memsize_available', ['type'], 1, () => [tier()]),
  s('s_get_memsize_node_total', ['type', 'node'], 1, () => [tier(), node()]),
  s('s_get_memsize_node_available', ['type', 'node'], 1, () => [tier(), node()]),
  s('s_stats_print', ['unit'], 1, () => [chance(0.5) ? pick(['B', 'k', 'M', 'G']) : hostile()]),
  s('s_stats_node_print', ['unit'], 1, () => [chance(0.5) ? pick(['B', 'K', 'm', 'G']) : hostile()]),
  s('s_enable_node_interleave', ['nodes'], 1, () => [chance(0.5) ? pick([[normalNode], String(normalNode), '0-1']) : hostile()]),
  s('s_disable_node_interleave', [], 1, () => []),
  {
    name: 'new TieredPool',
    args: ['options'],
    weight: 1,
    run: () => {
      pools.push(new hm.TieredPool(poolOptions() as hm.TieredPoolOptions));
      if (pools.length > 4) (pools.shift() as hm.TieredPool<unknown>).close();
    },
  },
  {
    name: 'TieredPool.set',
    args: ['size', 'data', 'sizeOrData'],
    weight: 5,
    run: () => {
      const p = pool();
      if (!p) return;
      const value = chance(0.6) ? 1 + int(40_000) : chance(0.5) ? hostileBuffer() : hostile();
      track(p.set(pick(['a', 'b', 'c', 1, hostile()]), value as number));
    },
  },
  {
    name: 'TieredPool methods',
    args: ['bytes', 'options'],
    weight: 5,
    run: () => {
      const p = pool();
      if (!p) return;
      const key = pick(['a', 'b', 'c', 1, hostile()]);
      switch (int(11)) {
        case 0:
          return p.get(key);
        case 1:
          return p.peek(key);
        case 2:
          return p.touch(key);
        case 3:
          return p.prefetch(key);
        case 4:
          return [p.has(key), p.tierOf(key), [...p.keys()], p.size, p.dramBudget, p.sameNodes, p.closed];
        case 5:
          return p.delete(key);
        case 6:
          return p.setBudget((chance(0.5) ? int(1 << 20) : hostile()) as number);
        case 7:
          return p.rebalance((chance(0.3) ? undefined : chance(0.5) ? { maxBytes: 1 + int(1 << 16) } : chance(0.5) ? { maxBytes: hostile() } : hostile()) as never);
        case 8:
          return p.stats();
        case 9:
          return p.close();
        default:
          return p[Symbol.dispose]();
      }
    },
  },
  {
    name: 'readTopology',
    args: ['options'],
    weight: 0.3,
    run: () => {
      const r = random();
      const opts = r < 0.3 ? hostile() : r < 0.6 ? { sysRoot: chance(0.5) ? pick(['/nonexistent', '', '/sys', 'test/fixtures/sysfs/hbm']) : hostile() } : { env: chance(0.5) ? { HMSDK_EXMEM_NODES: chance(0.5) ? pick(['0', '9', 'x', '']) : hostile() } : hostile() };
      return hm.readTopology(opts as hm.ReadTopologyOptions);
    },
  },
];

const TOTAL_WEIGHT = CALL_LIST.reduce((a, c) => a + c.weight, 0);
function pickCall(): Call {
  let r = random() * TOTAL_WEIGHT;
  for (const c of CALL_LIST) if ((r -= c.weight) < 0) return c;
  return CALL_LIST[0] as Call;
}

// ---- the run -------------------------------------------------------------------

/** Distinct bad throws, by call and message shape (digits elided). */
const badThrows = new Map<string, number>();
function judge(call: Call, err: unknown): void {
  let verdict: string | undefined;
  if (err instanceof hm.HmsdkError) {
    if (!DOCUMENTED_CODES.has(err.code)) verdict = `HmsdkError with undocumented code ${err.code}`;
  } else if (err instanceof TypeError || err instanceof RangeError) {
    if (!call.args.some((a) => err.message.startsWith(a))) verdict = `${err.name} not naming an argument (${call.args.join(', ')})`;
  } else {
    verdict = `${Object.prototype.toString.call(err)} (not TypeError/RangeError/HmsdkError)`;
  }
  const message = err instanceof Error ? err.message : '';
  if (message.length > MAX_MESSAGE_CHARS) verdict = `message of ${message.length} chars`;
  if (verdict === undefined) return;
  const key = `${call.name}: ${verdict}: ${message.slice(0, 160).replace(/\d+/g, 'N')}`;
  badThrows.set(key, (badThrows.get(key) ?? 0) + 1);
}

describe(`fuzz (seed ${SEED}, ${CALLS} calls)`, () => {
  let live0 = 0;
  let used0: Record<hm.Tier, number>;

  beforeAll(() => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true); // s_stats_print output
    const st = hm.stats();
    live0 = st.sdk.liveAllocations;
    used0 = { NORMAL: st.tiers.NORMAL.used, EXMEM: st.tiers.EXMEM.used };
  });

  afterAll(() => {
    vi.restoreAllMocks();
  });

  it('every throw is an argument error naming the argument or a documented HmsdkError; live buffers never overlap; nothing leaks', { timeout: 120_000 }, () => {
    const counts = new Map<string, number>();
    for (let i = 1; i <= CALLS; i++) {
      const call = pickCall();
      counts.set(call.name, (counts.get(call.name) ?? 0) + 1);
      try {
        call.run();
      } catch (err) {
        judge(call, err);
      }
      if (i % BATCH === 0) checkTracked(i);
    }
    checkTracked(CALLS);

    // Free everything: arenas, pools, buffers. Errors here are expected
    // (buffers freed by pools, arena views freed with their chunk).
    for (const a of arenas.splice(0)) {
      try {
        a.dispose();
      } catch {
        /* a chunk detached elsewhere is reported, all others were freed */
      }
    }
    for (const p of pools.splice(0)) {
      try {
        p.close();
      } catch {
        /* an entry the fuzzer freed directly: EDOUBLEFREE, the rest are freed */
      }
    }
    for (const t of tracked.splice(0)) freeQuietly(t.bytes);
    hm.s_disable_node_interleave();

    expect([...badThrows].map(([k, n]) => `${n}× ${k}`)).toEqual([]);
    expect(overlaps).toEqual([]);
    const st = hm.stats();
    expect(st.sdk.liveAllocations).toBe(live0);
    expect({ NORMAL: st.tiers.NORMAL.used, EXMEM: st.tiers.EXMEM.used }).toEqual(used0);
    // Every export was exercised.
    for (const c of CALL_LIST) expect(counts.get(c.name) ?? 0, c.name).toBeGreaterThan(0);
  });
});

const STORE_CALLS = Number(process.env.HMSDK_FUZZ_STORE_CALLS ?? 1500);

describe(`fuzz: store (seed ${SEED}, ${STORE_CALLS} calls)`, () => {
  it('every throw or rejection is an argument error naming the argument or a documented HmsdkError; nothing is left', { timeout: 120_000 }, async () => {
    process.env.HMSDK_STORE_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-fuzz-store-'));
    const name = `fuzz-${process.pid}`;
    const store = await hm.connect({ name });
    const keys = ['a', 'b', 'c/d'];
    const key = (): unknown => (chance(0.75) ? pick(keys) : hostile());
    const views: unknown[] = [];
    // A hostile size that is a valid one is kept small: the store populates what it creates.
    const smallOrHostile = (): unknown => {
      const h = hostile();
      return typeof h === 'number' && h > 1 << 20 ? 1 << 20 : h;
    };
    const calls: Call[] = [
      { name: 'connect', args: ['options'], weight: 1, run: () => hm.connect((chance(0.5) ? { name: chance(0.5) ? hostile() : name, tier: tier(), serve: false, timeout: 50 } : hostile()) as hm.ConnectOptions).then((st) => st.disconnect()) },
      { name: 'create', args: ['key', 'size'], weight: 4, run: () => store.create(key() as string, (chance(0.8) ? 1 + int(64 << 10) : smallOrHostile()) as number) },
      { name: 'seal', args: ['key'], weight: 3, run: () => store.seal(key() as string) },
      { name: 'get', args: ['key'], weight: 4, run: () => store.get(key() as string).then((v) => void views.push(v)) },
      { name: 'release', args: ['target'], weight: 3, run: () => store.release((chance(0.5) && views.length ? pick(views) : chance(0.5) ? key() : hostileBuffer()) as string) },
      { name: 'delete', args: ['key'], weight: 2, run: () => store.delete(key() as string) },
      { name: 'subscribe', args: ['pattern', 'listener'], weight: 1, run: () => store.subscribe((chance(0.5) ? key() : { prefix: key() }) as string, (chance(0.8) ? () => undefined : hostile()) as () => void).unsubscribe() },
      { name: 'list/stat', args: ['key'], weight: 1, run: () => (chance(0.5) ? store.list() : store.stat(key() as string)) },
    ];
    const total = calls.reduce((a, c) => a + c.weight, 0);
    const counts = new Map<string, number>();
    for (let i = 0; i < STORE_CALLS; i++) {
      let r = random() * total;
      const call = calls.find((c) => (r -= c.weight) < 0) ?? calls[0];
      if (!call) continue;
      counts.set(call.name, (counts.get(call.name) ?? 0) + 1);
      try {
        await call.run();
      } catch (err) {
        judge(call, err);
      }
    }
    for (const o of await store.list()) if (o.state !== 'deleted') await store.delete(o.key);
    const left = await store.list();
    await store.disconnect();
    expect([...badThrows].map(([k, n]) => `${n}× ${k}`)).toEqual([]);
    expect(left.filter((o) => o.state !== 'deleted')).toEqual([]);
    for (const c of calls) expect(counts.get(c.name) ?? 0, c.name).toBeGreaterThan(0);
  });
});
