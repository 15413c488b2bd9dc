// Allocation API on this machine (any node count): shape, safety, accounting.
// Placement on a real EXMEM node is shown in test/numa/ inside the VM.
import { describe, expect, it } from 'vitest';
import { allocate, allocateTyped, free, HmsdkError, stats, trim, where } from '../src/index';
import { topology } from '../src/topology/current';
import { errorCode } from './helpers/error-code';

const node0 = () => topology().normalNodes[0] as number;
const usedNormal = () => stats().tiers.NORMAL.used;

const code = errorCode;

describe('allocate', () => {
  it('returns a zeroed, writable Buffer of the asked size, small and large', () => {
    for (const size of [1, 16, 100, 4096, 32 * 1024, 32 * 1024 + 1, 1 << 20, (8 << 20) + 3]) {
      const b = allocate(size);
      expect(Buffer.isBuffer(b)).toBe(true);
      expect(b.length).toBe(size);
      expect(b.every((x) => x === 0)).toBe(true);
      b.fill(0xab);
      expect(b[size - 1]).toBe(0xab);
      expect(b.toString('hex', 0, 2)).toBe(size > 1 ? 'abab' : 'ab');
      free(b);
    }
  });

  it('zeroes reused small blocks unless zero: false', () => {
    const a = allocate(64);
    a.fill(7);
    free(a);
    const b = allocate(64);
    expect(b.every((x) => x === 0)).toBe(true);
    free(b);
  });

  it('places pages on the asked node, by the kernel\'s count (move_pages)', () => {
    const n = node0();
    const b = allocate(4 << 20, { node: n, populate: true });
    const w = where(b);
    expect(w.total).toBe((4 << 20) / w.pageSize);
    expect(w.nodes[n]).toBe(w.total);
    expect(w.absent).toBe(0);
    free(b);
  });

  it('leaves pages absent until touched without populate', () => {
    trim(); // no cached (already faulted) mapping may be reused
    const b = allocate(4 << 20, { zero: false });
    const w = where(b);
    expect(w.absent).toBe(w.total);
    b[0] = 1;
    expect(where(b).nodes[node0()]).toBe(1);
    free(b);
  });

  it('counts used bytes exactly, per tier and node, and gives them back on free', () => {
    const before = usedNormal();
    const sizes = [1, 17, 4096, 33_000, 1 << 20, 5_000_000];
    const bufs = sizes.map((s) => allocate(s));
    const sum = sizes.reduce((a, b) => a + b, 0);
    expect(usedNormal() - before).toBe(sum);
    expect(stats().nodes.find((x) => x.id === node0())!.used).toBeGreaterThanOrEqual(sum);
    bufs.forEach((b) => free(b));
    expect(usedNormal()).toBe(before);
  });

  it('typed arrays: allocateTyped gives the right length and type, using frees', () => {
    const before = usedNormal();
    {
      using f = allocateTyped(Float32Array, 1000, { node: node0() });
      expect(f).toBeInstanceOf(Float32Array);
      expect(f.length).toBe(1000);
      f[999] = 1.5;
      expect(f[999]).toBe(1.5);
      expect(usedNormal() - before).toBe(4000);
    }
    expect(usedNormal()).toBe(before);
  });

  it('using frees a PlacedBuffer at scope exit and detaches it', () => {
    let keep: Buffer;
    {
      using b = allocate(1000);
      keep = b;
      expect(keep.length).toBe(1000);
    }
    expect(keep.length).toBe(0);
    expect(code(() => free(keep))).toBe('EDOUBLEFREE');
  });
});

describe('free', () => {
  it('detaches every view at once before releasing', () => {
    const b = allocate(1 << 20);
    const f64 = new Float64Array(b.buffer, 0, 1000);
    const sub = b.subarray(10, 20);
    free(b);
    expect(b.length).toBe(0);
    expect(f64.length).toBe(0);
    expect(sub.length).toBe(0);
    expect(b.buffer.byteLength).toBe(0);
    expect(b[0]).toBeUndefined();
  });

  it('subarray views are plain Buffers: disposing them is not possible', () => {
    const b = allocate(100);
    const sub = b.subarray(0, 10);
    expect(Buffer.isBuffer(sub)).toBe(true);
    expect((sub as unknown as Record<symbol, unknown>)[Symbol.dispose]).toBeUndefined();
    free(b);
  });

  it('frees through any view, including typed arrays over the buffer', () => {
    const before = usedNormal();
    const b = allocate(4096);
    free(new Uint32Array(b.buffer));
    expect(b.length).toBe(0);
    expect(usedNormal()).toBe(before);
  });

  it('double free, foreign and non-buffers give typed errors', () => {
    const b = allocate(64);
    free(b);
    expect(code(() => free(b))).toBe('EDOUBLEFREE');
    expect(code(() => free(Buffer.alloc(64)))).toBe('EFOREIGN');
    expect(code(() => free(Buffer.allocUnsafe(64)))).toBe('EFOREIGN');
    expect(code(() => free(new ArrayBuffer(8)))).toBe('EFOREIGN');
    expect(code(() => free(42 as never))).toBe('TypeError');
    expect(code(() => free(null as never))).toBe('TypeError');
  });

  it('using a freed buffer in SDK calls gives EFREED', () => {
    const b = allocate(64);
    free(b);
    expect(code(() => where(b))).toBe('EFREED');
  });

  it('transfer cannot move SDK memory away: Node copies external buffers, the copy is foreign', () => {
    const b = allocate(4096);
    b.fill(9);
    const ab = b.buffer as ArrayBuffer;
    const moved = structuredClone(ab, { transfer: [ab] });
    expect(b.length).toBe(4096); // not detached: Node marks external ArrayBuffers untransferable
    expect(new Uint8Array(moved)[4095]).toBe(9);
    expect(code(() => free(moved))).toBe('EFOREIGN');
    free(b);
  });
});

describe('garbage collection', () => {
  it('releases memory nobody freed once it is collected', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'run with --expose-gc (vitest.config.ts sets it)').toBeTypeOf('function');
    const before = stats().sdk.liveAllocations;
    const beforeUsed = usedNormal();
    (() => {
      for (let i = 0; i < 100; i++) allocate(1 << 16);
    })();
    expect(stats().sdk.liveAllocations).toBe(before + 100);
    for (let i = 0; i < 10 && stats().sdk.liveAllocations > before; i++) {
      gc!();
      await new Promise((r) => setImmediate(r));
    }
    // <=: buffers earlier tests dropped without freeing are collected too.
    expect(stats().sdk.liveAllocations).toBeLessThanOrEqual(before);
    expect(usedNormal()).toBeLessThanOrEqual(beforeUsed);
  });
});

describe('argument errors', () => {
  it('sizes', () => {
    expect(code(() => allocate(0))).toBe('RangeError');
    expect(code(() => allocate(-1))).toBe('RangeError');
    expect(code(() => allocate(1.5))).toBe('RangeError');
    expect(code(() => allocate(NaN))).toBe('RangeError');
    expect(code(() => allocate(2 ** 60))).toBe('RangeError');
    expect(code(() => allocate('1' as never))).toBe('TypeError');
  });

  it('options', () => {
    expect(code(() => allocate(1, { tire: 'EXMEM' } as never))).toBe('TypeError');
    expect(code(() => allocate(1, { tier: 'CXL' } as never))).toBe('TypeError');
    expect(code(() => allocate(1, { policy: 'spread' } as never))).toBe('TypeError');
    expect(code(() => allocate(1, { node: 0, nodes: [0] }))).toBe('TypeError');
    expect(code(() => allocate(1, { nodes: [] }))).toBe('RangeError');
    expect(code(() => allocate(1, { nodes: [0, 0] }))).toBe('RangeError');
    expect(code(() => allocate(1, { node: -1 }))).toBe('RangeError');
    expect(code(() => allocate(1, { node: 1023 }))).toBe('ENODEV');
    expect(code(() => allocate(1, { populate: 1 } as never))).toBe('TypeError');
    expect(code(() => allocate(1, { weights: [1] }))).toBe('TypeError');
    expect(code(() => allocate(1, { policy: 'weighted', weights: [0] }))).toBe('RangeError');
    expect(code(() => allocate(1, null as never))).toBe('TypeError');
  });

  it('error messages name the argument', () => {
    expect(() => allocate(0)).toThrow(/size/);
    expect(() => allocate(1, { node: -1 })).toThrow(/options\.node/);
    expect(() => allocateTyped(Float32Array, 0)).toThrow(/length/);
  });
});

// Tier resolution on this machine's real topology (was test/tier.test.ts; the
// decisions on fixture topologies are in test/placement.test.ts).
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
