/**
 * Regression tests for the hardening of the public API against hostile
 * callers (src/util/validate.ts and its users). One block per finding: bounded
 * descriptions of user values, bounded walks over user collections, options
 * read once into a snapshot (getters, Proxies, inherited keys), Arena
 * alignment and dispose, leaks on failed calls, and internal errors that
 * used to escape. Leak checks compare stats().sdk.liveAllocations before and
 * after: every buffer made here is freed explicitly, so garbage collection
 * cannot move the count.
 */
import { describe, expect, it } from 'vitest';
import {
  allocate,
  allocateTyped,
  createArena,
  free,
  HmsdkError,
  migrate,
  placementOf,
  readTopology,
  s_calloc,
  s_malloc,
  s_realloc,
  s_stats_print,
  stats,
  TieredPool,
  type AllocateOptions,
  type Tier,
  where,
} from '../src/index';
import { describe as describeValue } from '../src/util/validate';
import { errorCode, thrown } from './helpers/error-code';

const live = (): number => stats().sdk.liveAllocations;


function timed(fn: () => unknown): { error: Error; ms: number } {
  const t0 = performance.now();
  const error = thrown(fn);
  return { error, ms: performance.now() - t0 };
}

describe('describe(value): bounded, runs no user code', () => {
  it('says type and a short preview', () => {
    expect(describeValue(Buffer.alloc(10))).toBe('a Buffer of 10 bytes');
    expect(describeValue(new Float32Array(4))).toBe('a Float32Array of 16 bytes');
    expect(describeValue('abc')).toBe("string 'abc'");
    expect(describeValue('a'.repeat(1000))).toBe(`string '${'a'.repeat(24)}…' (1000 chars)`);
    expect(describeValue(5n)).toBe('bigint 5n');
    expect(describeValue(10n ** 400n)).toBe('a bigint of more than 20 digits');
    expect(describeValue(-0)).toBe('number -0');
    expect(describeValue(function foo() {})).toBe('function foo');
    expect(describeValue(new Proxy({}, {}))).toBe('a Proxy');
    expect(describeValue([1, 2])).toBe('an array of length 2');
  });

  it('never calls toJSON, toString, getters or traps', () => {
    const calls: string[] = [];
    const hostile = {
      toJSON: () => calls.push('toJSON'),
      toString: () => calls.push('toString'),
      get byteLength() {
        calls.push('getter');
        return 1;
      },
    };
    const trap = new Proxy({}, { get: () => calls.push('trap'), getPrototypeOf: () => (calls.push('trap'), null) });
    expect(describeValue(hostile)).toBe('an object');
    expect(describeValue(trap)).toBe('a Proxy');
    const shadowed = Object.defineProperty(Buffer.alloc(3), 'byteLength', { get: () => calls.push('own getter') });
    expect(describeValue(shadowed)).toBe('a Buffer of 3 bytes');
    expect(calls).toEqual([]);
  });
});

describe('a huge Buffer (or BigInt, circular object, toJSON) where a string belongs', () => {
  const huge = Buffer.allocUnsafe(160 * 2 ** 20);
  const sites: [string, (v: unknown) => unknown, string][] = [
    ['s_malloc type', (v) => s_malloc(v as Tier, 16), 'type'],
    ['options.tier', (v) => allocate(16, { tier: v as Tier }), 'options.tier'],
    ['options.policy', (v) => allocate(16, { policy: v as 'bind' }), 'options.policy'],
    ['options.fallback', (v) => allocate(16, { fallback: v as 'none' }), 'options.fallback'],
    ['TieredPool hotTier', (v) => new TieredPool({ dramBudget: 1, hotTier: v as Tier }), 'options.hotTier'],
    ['TieredPool coldTier', (v) => new TieredPool({ dramBudget: 1, coldTier: v as Tier }), 'options.coldTier'],
    ['TieredPool fallback', (v) => new TieredPool({ dramBudget: 1, fallback: v as 'none' }), 'options.fallback'],
    ['s_stats_print unit', (v) => s_stats_print(v as string), 'unit'],
  ];

  it.each(sites)('%s: a fast TypeError with a bounded message', (_, call, name) => {
    const { error, ms } = timed(() => call(huge));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message.startsWith(name)).toBe(true);
    expect(error.message).toContain('a Buffer of 167772160 bytes');
    expect(error.message.length).toBeLessThan(300);
    expect(ms).toBeLessThan(200);
  });

  it.each(sites)('%s: BigInt, circular and toJSON values give the TypeError, toJSON never runs', (_, call, name) => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    let ran = false;
    const withToJSON = {
      toJSON() {
        ran = true;
        throw new Error('toJSON ran');
      },
    };
    for (const [value, text] of [
      [5n, 'bigint 5n'],
      [circular, 'an object'],
      [withToJSON, 'an object'],
    ] as const) {
      const e = thrown(() => call(value));
      expect(e, text).toBeInstanceOf(TypeError);
      expect(e.message.startsWith(name)).toBe(true);
      expect(e.message).toContain(text);
    }
    expect(ran).toBe(false);
  });
});

describe('user collections are walked with a bound', () => {
  it('a 2 MiB Buffer as weights is a RangeError at once', () => {
    const { error, ms } = timed(() => allocate(4096, { policy: 'weighted', weights: Buffer.alloc(2 << 20, 1) as unknown as number[] }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(/^options\.weights has 2097152 entries/);
    expect(ms).toBeLessThan(200);
  });

  it('huge node lists and records are RangeErrors before a walk', () => {
    const sparse = new Array(2 ** 32 - 1) as number[];
    const { error, ms } = timed(() => allocate(16, { nodes: sparse }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(/^options\.nodes has 4294967295 entries/);
    expect(ms).toBeLessThan(50);
    const record = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [i, 1]));
    expect(thrown(() => allocate(16, { policy: 'weighted', weights: record })).message).toMatch(/^options\.weights has 2000 keys/);
  });
});

describe('options are read once, into a snapshot', () => {
  it('a getter changing its answer is read once and cannot poison the placement cache', () => {
    const exmemBefore = errorCode(() => placementOf({ tier: 'EXMEM', fallback: 'none' }));
    const exmemNodesBefore = exmemBefore === undefined ? placementOf({ tier: 'EXMEM', fallback: 'none' }).nodes : undefined;
    let reads = 0;
    const flipping = {
      get tier(): Tier {
        reads++;
        return reads % 2 === 1 ? 'NORMAL' : 'EXMEM';
      },
      fallback: 'none' as const,
    };
    const b = allocate(4096, flipping);
    free(b);
    expect(reads).toBe(1);
    // Later callers get the placement of what they ask for.
    expect(errorCode(() => placementOf({ tier: 'EXMEM', fallback: 'none' }))).toBe(exmemBefore);
    if (exmemNodesBefore) expect(placementOf({ tier: 'EXMEM', fallback: 'none' }).nodes).toEqual(exmemNodesBefore);
  });

  it('a Proxy is read through one trap per key, and its answers cannot disagree with each other', () => {
    const exmemBefore = errorCode(() => placementOf({ tier: 'EXMEM', policy: 'bind' }));
    const reads = new Map<PropertyKey, number>();
    let n = 0;
    const count = (k: PropertyKey) => reads.set(k, (reads.get(k) ?? 0) + 1);
    const target = { tier: 'NORMAL', policy: 'bind' };
    const proxy = new Proxy(target, {
      get(t, k) {
        count(k);
        return k === 'tier' ? (n++ % 2 === 0 ? 'NORMAL' : 'EXMEM') : Reflect.get(t, k);
      },
      getOwnPropertyDescriptor(t, k) {
        count(k);
        const d = Reflect.getOwnPropertyDescriptor(t, k);
        return d && k === 'tier' ? { ...d, value: n++ % 2 === 0 ? 'NORMAL' : 'EXMEM' } : d;
      },
    });
    const normal = placementOf({ tier: 'NORMAL' }).nodes;
    expect(placementOf(proxy as AllocateOptions).nodes).toEqual(normal);
    expect(reads.get('tier')).toBe(1);
    expect(reads.get('policy')).toBe(1);
    expect(errorCode(() => placementOf({ tier: 'EXMEM', policy: 'bind' }))).toBe(exmemBefore);
  });

  it('inherited keys are ignored: Object.prototype.node does not re-target allocate()', () => {
    const expected = placementOf({});
    const proto = Object.prototype as unknown as Record<string, unknown>;
    try {
      proto.node = 5;
      proto.tier = 'EXMEM';
      expect(placementOf({})).toEqual(expected);
      const b = allocate(4096, {});
      free(b);
      const pool = new TieredPool({ dramBudget: 1 << 20, coldTier: 'NORMAL', intervalMs: 0 });
      pool.close();
    } finally {
      delete proto.node;
      delete proto.tier;
    }
  });

  it('a throwing getter or trap is a TypeError naming the option (cause kept)', () => {
    const boom = new Error('boom');
    const getter = {
      get tier(): Tier {
        throw boom;
      },
    };
    const e = thrown(() => allocate(16, getter));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^options\.tier could not be read/);
    expect((e as Error & { cause: unknown }).cause).toBe(boom);
    const trap = new Proxy({}, { ownKeys: () => { throw boom; } });
    expect(thrown(() => allocate(16, trap)).message).toMatch(/^options could not be read/);
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(thrown(() => allocate(16, proxy)).message).toMatch(/^options could not be read/);
  });

  it('readTopology reads its options once and checks them', () => {
    expect(thrown(() => readTopology({ sysRoot: 5 as unknown as string })).message).toMatch(/^options\.sysRoot must be a string, got number 5/);
    expect(thrown(() => readTopology({ sysRoot: '/sys\0' })).message).toMatch(/^options\.sysRoot must not contain NUL/);
    expect(thrown(() => readTopology({ env: { HMSDK_EXMEM_NODES: 1 } as never })).message).toMatch(/^options\.env\.HMSDK_EXMEM_NODES must be a string/);
    expect(readTopology({ sysRoot: '/nonexistent', env: Object.create({ HMSDK_EXMEM_NODES: '5' }) }).nodes).toEqual([]);
  });
});

describe('Arena', () => {
  it('align must be a power-of-two integer 1..4096', () => {
    const a = createArena(1 << 16);
    try {
      for (const align of [0, -8, 0.5, 3, NaN, Infinity, 2 ** 32, 8192]) {
        const e = thrown(() => a.alloc(16, align));
        expect(e, String(align)).toBeInstanceOf(RangeError);
        expect(e.message).toMatch(/^align must be a power of two in 1\.\.4096/);
      }
      expect(thrown(() => a.alloc(16, '8' as unknown as number))).toBeInstanceOf(TypeError);
      const views = [1, 2, 4, 8, 16, 4096].map((align, i) => {
        const v = a.alloc(24, align);
        expect(v.byteOffset % align).toBe(0);
        v.fill(i + 1);
        return v;
      });
      views.forEach((v, i) => expect(v.every((x) => x === i + 1)).toBe(true));
    } finally {
      a.dispose();
    }
  });

  it('offsets above 2 GiB stay correct (no 32-bit mask)', () => {
    const a = createArena(3 * 2 ** 30); // lazily mapped, never touched
    try {
      a.alloc(2 ** 31 + 3);
      const v = a.alloc(16, 8);
      expect(v.byteOffset).toBe(2 ** 31 + 8);
      expect(v.length).toBe(16);
    } finally {
      a.dispose();
    }
  });

  it('dispose frees every chunk even when the caller freed one', () => {
    const live0 = live();
    const a = createArena(1024);
    const first = a.alloc(1000);
    for (let i = 0; i < 4; i++) a.alloc(1000); // 5 chunks
    expect(live()).toBe(live0 + 5);
    free(first); // frees chunk 0
    a.dispose();
    expect(live()).toBe(live0);
  });

  it('alloc from a chunk the caller freed is EFREED, not a detached-buffer error', () => {
    const a = createArena(4096);
    free(a.alloc(16));
    expect(errorCode(() => a.alloc(16))).toBe('EFREED');
    a.dispose();
  });
});

describe('no leak on failed calls, allocation after validation', () => {
  it('s_realloc of a foreign or freed buffer allocates nothing', () => {
    const live0 = live();
    expect(errorCode(() => s_realloc('NORMAL', Buffer.alloc(64), 128))).toBe('EFOREIGN');
    expect(live()).toBe(live0);
    const b = s_malloc('NORMAL', 64);
    free(b);
    expect(errorCode(() => s_realloc('NORMAL', b, 128))).toBe('EFREED');
    expect(live()).toBe(live0);
  });

  it('allocateTyped with a throwing or lying constructor frees the buffer', () => {
    const live0 = live();
    class Throws extends Float32Array {
      // @ts-expect-error -- deliberately throws before super(): a constructor that never builds the view
      constructor(..._: unknown[]) {
        throw new Error('no');
      }
    }
    const e = thrown(() => allocateTyped(Throws, 16));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^type /);
    expect(live()).toBe(live0);
    class Lies {
      static readonly BYTES_PER_ELEMENT = 4;
      constructor() {
        return new Float32Array(4);
      }
    }
    expect(thrown(() => allocateTyped(Lies as never, 16))).toBeInstanceOf(TypeError);
    expect(live()).toBe(live0);
    expect(thrown(() => allocateTyped(Float32Array, 16, { tier: 'DRAM' as Tier }))).toBeInstanceOf(TypeError);
    expect(live()).toBe(live0);
  });

  it('TieredPool.set on an entry whose buffer the caller freed replaces it without a leak', () => {
    const live0 = live();
    const pool = new TieredPool({ dramBudget: 1 << 20, coldTier: 'NORMAL', intervalMs: 0 });
    free(pool.set('k', 100));
    const b = pool.set('k', 200);
    expect(b.length).toBe(200);
    expect(pool.get('k')).toBe(b);
    expect(live()).toBe(live0 + 1);
    pool.close();
    expect(live()).toBe(live0);
  });

  it('TieredPool.set with freed data is EFREED before anything is allocated', () => {
    const pool = new TieredPool({ dramBudget: 1 << 20, coldTier: 'NORMAL', intervalMs: 0 });
    const data = allocate(64);
    free(data);
    const live0 = live();
    expect(errorCode(() => pool.set('k', data))).toBe('EFREED');
    expect(live()).toBe(live0);
    pool.close();
  });
});

describe('internal errors do not escape', () => {
  it('DataViews, proxies and detached buffers get the documented errors', () => {
    const b = allocate(1 << 16); // its own, page-aligned mapping
    try {
      expect(where(new DataView(b.buffer, 4096, 4096)).total).toBe(1);
      expect(thrown(() => free(new Proxy(b, {}) as unknown as Buffer)).message).toMatch(/^buffer must be a Buffer/);
      const ab = new ArrayBuffer(8);
      const view = new Uint8Array(ab);
      structuredClone(ab, { transfer: [ab] });
      expect(errorCode(() => free(view))).toBe('EFOREIGN');
      expect(errorCode(() => free(new DataView(new ArrayBuffer(4))))).toBe('EFOREIGN');
    } finally {
      free(b);
    }
  });

  it('size arithmetic overflow names the arguments', () => {
    expect(thrown(() => s_calloc('NORMAL', 2 ** 31, 4)).message).toMatch(/^num \* size/);
    expect(thrown(() => allocateTyped(BigInt64Array, 2 ** 30)).message).toMatch(/^length /);
    expect(thrown(() => allocate(2 ** 53)).message).toMatch(/^size /);
    expect(errorCode(() => allocate(1, { node: 1023 }))).toBe('ENODEV');
  });

  it('a getter that frees the buffer mid-call gives EFREED from migrate', () => {
    const b = allocate(1 << 16);
    const opts = {
      get tier(): Tier {
        free(b);
        return 'NORMAL';
      },
    };
    const e = thrown(() => migrate(b, opts));
    expect(e).toBeInstanceOf(HmsdkError);
    expect((e as HmsdkError).code).toBe('EFREED');
  });
});
