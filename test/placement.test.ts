// Every placement decision of src/alloc/placement.ts on fixture topologies
// (test/fixtures/sysfs) and fixture kernel capabilities: decidePlacement()
// is pure, so nothing here needs the addon, a NUMA machine or a VM. The VM
// suite (test/numa/placement.test.ts) checks that the kernel then does what
// was decided; placementOf() is checked against the same decision on this
// host at the end. Also parseNumaMaps, the evidence those VM tests read.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HmsdkError } from '../src/errors';
import { MPOL, native } from '../src/alloc/native';
import { decidePlacement, describePlacement, type KernelCaps, type PlacementDecision, placementOf } from '../src/alloc/placement';
import type { AllocateOptions } from '../src/alloc/options';
import { readTopology } from '../src/topology';
import { topology as current } from '../src/topology/current';
import { bytesPerNode, parseNumaMaps } from '../src/topology/numa-maps';
import type { Topology } from '../src/topology/types';
import { checkAllocateOptions } from '../src/util/validate';

const FIX = resolve(__dirname, 'fixtures/sysfs');
const fixture = (name: string, env: Record<string, string | undefined> = {}): Topology => readTopology({ sysRoot: resolve(FIX, name), env });

/** A kernel 6.9+ (both modes), a 5.15..6.8 kernel, and one older than 5.15. */
const MODERN: KernelCaps = { weightedInterleave: true, preferredMany: true };
const NO_WEIGHTED: KernelCaps = { weightedInterleave: false, preferredMany: true };
const OLD: KernelCaps = { weightedInterleave: false, preferredMany: false };

const decide = (t: Topology, caps: KernelCaps, options?: AllocateOptions): PlacementDecision =>
  decidePlacement(t, caps, checkAllocateOptions('options', options).placement);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof HmsdkError) return e.code;
    if (e instanceof RangeError || e instanceof TypeError) return e.name;
    throw e;
  }
  return undefined;
}

describe('placement: weighted, kernel MPOL_WEIGHTED_INTERLEAVE vs userspace stripe', () => {
  // cxl-expander: node0 NORMAL, node1 EXMEM, kernel global weights 1:1.
  const cxl = fixture('cxl-expander');
  // non-contiguous: memory nodes 0, 2 (NORMAL) and 5 (EXMEM); global weights 0=3, 2=3, 5=1.
  const nc = fixture('non-contiguous');

  it('uses the kernel when it has the mode and the weights are its global weights', () => {
    expect(decide(cxl, MODERN, { nodes: [0, 1], policy: 'weighted', weights: [1, 1] })).toEqual({
      kind: 'kernel',
      policy: 'weighted',
      mode: MPOL.weightedInterleave,
      nodes: [0, 1],
      charge: [1, 1],
    });
    expect(decide(nc, MODERN, { nodes: [0, 2, 5], policy: 'weighted', weights: [3, 3, 1] })).toMatchObject({
      kind: 'kernel',
      mode: MPOL.weightedInterleave,
      nodes: [0, 2, 5],
      charge: [3, 3, 1],
    });
  });
  it('uses the kernel for weights in the same ratio as the global ones (charged by the kernel weights)', () => {
    expect(decide(nc, MODERN, { nodes: [0, 2, 5], policy: 'weighted', weights: [6, 6, 2] })).toMatchObject({
      kind: 'kernel',
      mode: MPOL.weightedInterleave,
      charge: [3, 3, 1],
    });
    expect(decide(nc, MODERN, { nodes: [2, 5], policy: 'weighted', weights: { 2: 9, 5: 3 } })).toMatchObject({ kind: 'kernel', nodes: [2, 5], charge: [3, 1] });
  });
  it('stripes when the weights differ from the global ones, even if the kernel has the mode', () => {
    expect(decide(cxl, MODERN, { nodes: [0, 1], policy: 'weighted', weights: [3, 1] })).toEqual({
      kind: 'stripe',
      policy: 'weighted',
      nodes: [0, 1],
      weights: [3, 1],
    });
    expect(decide(nc, MODERN, { nodes: [0, 2, 5], policy: 'weighted', weights: [1, 1, 1] })).toMatchObject({ kind: 'stripe', weights: [1, 1, 1] });
    expect(decide(nc, MODERN, { nodes: [0, 2, 5], policy: 'weighted', weights: [3, 3, 2] })).toMatchObject({ kind: 'stripe' });
  });
  it('stripes when the kernel lacks the mode, even with the global weights', () => {
    expect(decide(cxl, NO_WEIGHTED, { nodes: [0, 1], policy: 'weighted', weights: [1, 1] })).toMatchObject({ kind: 'stripe', weights: [1, 1] });
    expect(decide(nc, OLD, { nodes: [0, 2, 5], policy: 'weighted', weights: [3, 3, 1] })).toMatchObject({ kind: 'stripe', weights: [3, 3, 1] });
  });
  it('stripes when sysfs has no weighted_interleave directory, whatever the addon probed', () => {
    const k61 = fixture('kernel-6.1');
    expect(k61.weightedInterleave.available).toBe(false);
    expect(decide(k61, MODERN, { nodes: [0, 1], policy: 'weighted', weights: [1, 1] })).toMatchObject({ kind: 'stripe' });
  });
  it('a one-node weighted placement is MPOL_PREFERRED on that node (no interleave to do)', () => {
    expect(decide(cxl, MODERN, { node: 1, policy: 'weighted', weights: [7] })).toEqual({
      kind: 'kernel',
      policy: 'weighted',
      mode: MPOL.preferred,
      nodes: [1],
      charge: [1],
    });
    expect(decide(cxl, OLD, { node: 1, policy: 'weighted' })).toMatchObject({ mode: MPOL.preferred, nodes: [1] });
  });
  it('without weights, takes the policy engine plan and still picks the path by it', () => {
    // cxl-expander HMAT: the plan is 3:1, not the kernel's 1:1 -> stripe.
    expect(decide(cxl, MODERN, { policy: 'weighted' })).toEqual({ kind: 'stripe', policy: 'weighted', nodes: [0, 1], weights: [3, 1] });
    // missing-hmat: no performance figures, the plan is 1:1 = the kernel's -> kernel.
    expect(decide(fixture('missing-hmat'), MODERN, { policy: 'weighted' })).toMatchObject({
      kind: 'kernel',
      mode: MPOL.weightedInterleave,
      nodes: [0, 1],
      charge: [1, 1],
    });
    expect(decide(fixture('missing-hmat'), NO_WEIGHTED, { policy: 'weighted' })).toMatchObject({ kind: 'stripe', weights: [1, 1] });
  });
  it('weights must match the nodes', () => {
    expect(codeOf(() => decide(cxl, MODERN, { nodes: [0, 1], policy: 'weighted', weights: [1, 1, 1] }))).toBe('RangeError');
    expect(codeOf(() => decide(cxl, MODERN, { nodes: [0], policy: 'weighted', weights: { 1: 2 } }))).toBe('RangeError');
    expect(codeOf(() => decide(nc, MODERN, { nodes: [0, 2], policy: 'weighted', weights: { 0: 2 } }))).toBe('RangeError');
  });
});

describe('placement: preferred vs preferred-many', () => {
  const two = fixture('two-socket-cxl'); // NORMAL 0,1; EXMEM 2,3
  it('one node is MPOL_PREFERRED, several MPOL_PREFERRED_MANY', () => {
    expect(decide(two, MODERN, { node: 2, policy: 'preferred' })).toEqual({ kind: 'kernel', policy: 'preferred', mode: MPOL.preferred, nodes: [2], charge: [1] });
    expect(decide(two, MODERN, { tier: 'EXMEM', policy: 'preferred' })).toEqual({
      kind: 'kernel',
      policy: 'preferred',
      mode: MPOL.preferredMany,
      nodes: [2, 3],
      charge: [1, 1],
    });
  });
  it('several nodes without MPOL_PREFERRED_MANY is ENOTSUP; one node still works', () => {
    expect(codeOf(() => decide(two, OLD, { tier: 'EXMEM', policy: 'preferred' }))).toBe('ENOTSUP');
    expect(codeOf(() => decide(two, OLD, { nodes: [0, 2], policy: 'preferred' }))).toBe('ENOTSUP');
    expect(decide(two, OLD, { node: 3, policy: 'preferred' })).toMatchObject({ mode: MPOL.preferred, nodes: [3] });
  });
});

describe('placement: bind and interleave, tiers and defaults', () => {
  const two = fixture('two-socket-cxl');
  it('no options: strict NORMAL (every NORMAL node), charged equally', () => {
    expect(decide(two, MODERN)).toEqual({ kind: 'kernel', policy: 'bind', mode: MPOL.bind, nodes: [0, 1], charge: [1, 1] });
    expect(decide(two, MODERN, {})).toEqual(decide(two, OLD, undefined));
  });
  it('a tier is all of its nodes', () => {
    expect(decide(two, MODERN, { tier: 'EXMEM' })).toMatchObject({ mode: MPOL.bind, nodes: [2, 3] });
    expect(decide(two, MODERN, { tier: 'NORMAL', policy: 'interleave' })).toMatchObject({ mode: MPOL.interleave, nodes: [0, 1] });
  });
  it('interleave and weighted without nodes or tier spread over every memory node; bind and preferred default to NORMAL', () => {
    expect(decide(two, MODERN, { policy: 'interleave' })).toMatchObject({ mode: MPOL.interleave, nodes: [0, 1, 2, 3], charge: [1, 1, 1, 1] });
    expect(decide(two, MODERN, { policy: 'weighted' })).toMatchObject({ nodes: [0, 1, 2, 3] });
    expect(decide(two, MODERN, { policy: 'preferred' })).toMatchObject({ mode: MPOL.preferredMany, nodes: [0, 1] });
    expect(decide(two, MODERN, { policy: 'bind' })).toMatchObject({ mode: MPOL.bind, nodes: [0, 1] });
  });
  it('explicit nodes are kept in the given order', () => {
    expect(decide(two, MODERN, { nodes: [3, 0], policy: 'interleave' })).toMatchObject({ nodes: [3, 0] });
  });
  it('non-contiguous ids: tiers are the ids the topology lists', () => {
    const nc = fixture('non-contiguous');
    expect(decide(nc, MODERN, { tier: 'EXMEM' })).toMatchObject({ nodes: [5] });
    expect(decide(nc, MODERN, { tier: 'NORMAL' })).toMatchObject({ nodes: [0, 2] });
    expect(decide(nc, MODERN, { policy: 'interleave' })).toMatchObject({ nodes: [0, 2, 5] });
  });
  it('HMSDK_EXMEM_NODES reclassifies nodes, and placement follows', () => {
    const t = fixture('hbm', { HMSDK_EXMEM_NODES: '1' });
    expect(decide(t, MODERN, { tier: 'EXMEM' })).toMatchObject({ nodes: [1] });
    expect(decide(t, MODERN)).toMatchObject({ nodes: [0] });
  });
});

describe('placement: fallbacks and node checks', () => {
  it('EXMEM on a machine without EXMEM nodes is ENODEV unless fallback: normal', () => {
    for (const name of ['one-node', 'hbm']) {
      const t = fixture(name);
      expect(t.exmemNodes).toEqual([]);
      expect(codeOf(() => decide(t, MODERN, { tier: 'EXMEM' }))).toBe('ENODEV');
      expect(codeOf(() => decide(t, MODERN, { tier: 'EXMEM', fallback: 'none' }))).toBe('ENODEV');
      expect(codeOf(() => decide(t, MODERN, { tier: 'EXMEM', policy: 'interleave' }))).toBe('ENODEV');
      expect(decide(t, MODERN, { tier: 'EXMEM', fallback: 'normal' })).toMatchObject({ mode: MPOL.bind, nodes: t.normalNodes });
    }
  });
  it('fallback only applies to a missing EXMEM tier', () => {
    const cxl = fixture('cxl-expander');
    expect(decide(cxl, MODERN, { tier: 'EXMEM', fallback: 'normal' })).toMatchObject({ nodes: [1] });
    expect(decide(cxl, MODERN, { tier: 'NORMAL', fallback: 'normal' })).toMatchObject({ nodes: [0] });
  });
  it('a node that is not an online memory node is ENODEV', () => {
    const nc = fixture('non-contiguous'); // node 7 has CPUs but no memory; node 1 is not online
    expect(codeOf(() => decide(nc, MODERN, { node: 7 }))).toBe('ENODEV');
    expect(codeOf(() => decide(nc, MODERN, { nodes: [0, 1], policy: 'interleave' }))).toBe('ENODEV');
    expect(codeOf(() => decide(nc, MODERN, { node: 1023 }))).toBe('ENODEV');
  });
  it('a node outside the requested tier is a RangeError naming options.nodes', () => {
    const two = fixture('two-socket-cxl');
    let err: unknown;
    try {
      decide(two, MODERN, { tier: 'EXMEM', nodes: [1, 2] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/^options\.nodes: node 1 is not in tier EXMEM \(EXMEM nodes: 2,3\)/);
    expect(decide(two, MODERN, { tier: 'EXMEM', nodes: [3] })).toMatchObject({ nodes: [3] });
    expect(decide(two, MODERN, { tier: 'NORMAL', node: 1, policy: 'preferred' })).toMatchObject({ mode: MPOL.preferred, nodes: [1] });
  });
});

describe('placement: describePlacement (what placementOf reports)', () => {
  const cxl = fixture('cxl-expander');
  it('names the path, the kernel mode and the weights', () => {
    expect(describePlacement(decide(cxl, MODERN, { nodes: [0, 1], policy: 'weighted', weights: [3, 1] }))).toEqual({
      path: 'stripe',
      policy: 'weighted',
      mode: undefined,
      nodes: [0, 1],
      weights: [3, 1],
    });
    expect(describePlacement(decide(cxl, MODERN, { nodes: [0, 1], policy: 'weighted', weights: [2, 2] }))).toEqual({
      path: 'kernel',
      policy: 'weighted',
      mode: 'weighted-interleave',
      nodes: [0, 1],
      weights: [1, 1],
    });
    expect(describePlacement(decide(cxl, MODERN, { tier: 'EXMEM' }))).toEqual({ path: 'kernel', policy: 'bind', mode: 'bind', nodes: [1], weights: undefined });
    expect(describePlacement(decide(cxl, MODERN, { nodes: [0, 1], policy: 'preferred' })).mode).toBe('preferred-many');
    expect(describePlacement(decide(cxl, MODERN, { node: 0, policy: 'preferred' })).mode).toBe('preferred');
    expect(describePlacement(decide(cxl, MODERN, { policy: 'interleave' })).mode).toBe('interleave');
  });
});

describe('placementOf on this host (the addon and /sys)', () => {
  const caps = (): KernelCaps => {
    const i = native().info();
    return { weightedInterleave: i.weightedInterleave, preferredMany: i.preferredMany };
  };
  const cases: AllocateOptions[] = [
    {},
    { tier: 'NORMAL' },
    { tier: 'EXMEM', fallback: 'normal' },
    { policy: 'interleave' },
    { policy: 'weighted' },
    { node: 0, policy: 'preferred' },
    { node: 0, policy: 'weighted', weights: [5] },
  ];
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('placementOf(%s) is the pure decision for /sys and the probed kernel', (_, opts) => {
    expect(placementOf(opts)).toEqual(describePlacement(decide(current(), caps(), opts)));
  });
  it('reports the default placement as strict NORMAL', () => {
    expect(placementOf()).toEqual({ path: 'kernel', policy: 'bind', mode: 'bind', nodes: current().normalNodes, weights: undefined });
  });
  it('EXMEM on this host: the same answer as the decision (nodes, or ENODEV when there are none)', () => {
    const expected = codeOf(() => decide(current(), caps(), { tier: 'EXMEM' }));
    expect(codeOf(() => placementOf({ tier: 'EXMEM' }))).toBe(expected);
  });
  it('validates its options like allocate()', () => {
    expect(() => placementOf({ tier: 'DRAM' as never })).toThrow(/^options\.tier/);
    expect(() => placementOf({ node: 0, nodes: [0] })).toThrow(TypeError);
  });
});

describe('parseNumaMaps / bytesPerNode', () => {
  const text = [
    '7f1c2c000000 bind:1 anon=16384 dirty=16384 N1=16384 kernelpagesize_kB=4',
    '55d0a8e4b000 default heap anon=33 dirty=33 N0=33 kernelpagesize_kB=4',
    '7f1c31a00000 default file=/usr/lib/x86_64-linux-gnu/libc.so.6 mapped=40 N0=40 kernelpagesize_kB=4',
    '7f0000000000 weighted interleave:0-1 anon=768 dirty=768 N0=512 N1=256 kernelpagesize_kB=4',
    '7ffd1e5a1000 default stack anon=9 dirty=9 N0=9 kernelpagesize_kB=4',
    '7e0000000000 prefer:1 huge anon=2 dirty=2 N1=2 kernelpagesize_kB=2048',
    '7d0000000000 interleave:0-1 anon=4 dirty=4 N0=2 N1=2 kernelpagesize_kB=4',
    '',
  ].join('\n');
  const maps = parseNumaMaps(text);
  it('parses one mapping per line: address, policy (two words for weighted interleave), kind, file, pages, page size', () => {
    expect(maps).toHaveLength(7);
    expect(maps[0]).toEqual({ address: '7f1c2c000000', policy: 'bind:1', kind: 'anon', file: undefined, anon: 16384, pages: { 1: 16384 }, pageSize: 4096 });
    expect(maps[1]).toMatchObject({ policy: 'default', kind: 'heap', anon: 33, pages: { 0: 33 } });
    expect(maps[2]).toMatchObject({ kind: 'file', file: '/usr/lib/x86_64-linux-gnu/libc.so.6', anon: 0, pages: { 0: 40 } });
    expect(maps[3]).toMatchObject({ policy: 'weighted interleave:0-1', pages: { 0: 512, 1: 256 } });
    expect(maps[4]).toMatchObject({ kind: 'stack' });
    expect(maps[5]).toMatchObject({ policy: 'prefer:1', kind: 'huge', pageSize: 2 * 2 ** 20, pages: { 1: 2 } });
    expect(maps[6]).toMatchObject({ policy: 'interleave:0-1', pages: { 0: 2, 1: 2 } });
  });
  it('ignores words it does not know and N-keys that are not node ids', () => {
    const [m] = parseNumaMaps('7f00 default anon=1 Nx=5 N=3 active=1 swapcache=2 N2=1 kernelpagesize_kB=4\n');
    expect(m).toMatchObject({ anon: 1, pages: { 2: 1 } });
    expect(Object.keys(m!.pages)).toEqual(['2']);
  });
  it('empty text is no mappings', () => {
    expect(parseNumaMaps('')).toEqual([]);
    expect(parseNumaMaps('\n\n')).toEqual([]);
  });
  it('bytesPerNode sums pages times the mapping page size per node', () => {
    expect(bytesPerNode(maps)).toEqual({
      0: (33 + 40 + 512 + 9 + 2) * 4096,
      1: (16384 + 256 + 2) * 4096 + 2 * 2 * 2 ** 20,
    });
    expect(bytesPerNode([])).toEqual({});
  });
});
