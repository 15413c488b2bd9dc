// Topology reader: fixture trees (test/fixtures/sysfs/<name>, mirroring /sys),
// the HMSDK_EXMEM_NODES override, edge cases built in temp trees, the live
// machine, and the capture script.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HmsdkError } from '../src/errors';
import { nodeIdsOf, readNodeMemory, readTopology } from '../src/topology';
import type { NumaNode, Topology } from '../src/topology';

const FIX = resolve(__dirname, 'fixtures/sysfs');
const fx = (name: string): string => join(FIX, name);
const read = (name: string, env: Record<string, string | undefined> = {}): Topology => readTopology({ sysRoot: fx(name), env });
const node = (t: Topology, id: number): NumaNode => {
  const n = t.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`node ${id} missing`);
  return n;
};
const KB = 1024;

const tmpRoots: string[] = [];
afterAll(() => {
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true });
});
/** Copy a fixture into a temp dir so a test can change it. */
function tmpCopy(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `hmsdk-topo-${name}-`));
  tmpRoots.push(d);
  cpSync(fx(name), d, { recursive: true });
  return d;
}
function put(root: string, rel: string, text: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
}
function expectCode(fn: () => unknown, code: string, msg?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(HmsdkError);
  expect((err as HmsdkError).code).toBe(code);
  if (msg) expect((err as HmsdkError).message).toMatch(msg);
}

describe('fixture one-node (captured from this machine, kernel 6.18)', () => {
  const t = read('one-node');
  it('has one NORMAL node 0 with CPUs 0-1', () => {
    expect(t.possible).toEqual([0]);
    expect(t.online).toEqual([0]);
    expect(t.nodes.map((n) => n.id)).toEqual([0]);
    const n0 = node(t, 0);
    expect(n0.cpus).toEqual([0, 1]);
    expect(n0.hasCpu).toBe(true);
    expect(n0.hasNormalMemory).toBe(true);
    expect(n0.memTotal).toBe(5073112 * KB);
    expect(n0.memFree).toBe(4372412 * KB);
    expect(n0.distances).toEqual({ 0: 10 });
    expect(n0.access0).toBeUndefined();
    expect(n0.access1).toBeUndefined();
    expect(n0.tier).toBe(4);
    expect(n0.type).toBe('NORMAL');
    expect(n0.typeReason).toBe('has CPUs 0-1, memory tier 4');
  });
  it('has no EXMEM, tier 4, weighted interleave with the misnamed auto file', () => {
    expect(t.exmemNodes).toEqual([]);
    expect(t.normalNodes).toEqual([0]);
    expect(t.exmemSource).toBe('none');
    expect(t.tiers).toEqual([{ id: 4, nodes: [0] }]);
    // 6.18 exposes `auto` as `__auto_type` (#define auto __auto_type meets __ATTR(auto, ...))
    expect(t.weightedInterleave).toEqual({ available: true, weights: { 0: 1 }, auto: true });
    expect(t.cxlDevices).toEqual([]);
    expect(t.warnings).toEqual([]); // one node: HMAT is irrelevant, no warning
    expect(t.sysRoot).toBe(fx('one-node'));
  });
});

describe('fixture cxl-expander (QEMU, 6.12, HMAT, node1 CPU-less)', () => {
  const t = read('cxl-expander');
  it('reads nodes, cpus, memory, distances', () => {
    expect(t.possible).toEqual([0, 1]);
    expect(t.online).toEqual([0, 1]);
    expect(t.nodes.map((n) => n.id)).toEqual([0, 1]);
    expect(node(t, 0).cpus).toEqual([0, 1]);
    expect(node(t, 1).cpus).toEqual([]);
    expect(node(t, 1).hasCpu).toBe(false);
    expect(node(t, 1).hasMemory).toBe(true);
    expect(node(t, 1).hasNormalMemory).toBe(true);
    expect(node(t, 1).memTotal).toBe(1015808 * KB);
    expect(node(t, 1).memFree).toBe(999492 * KB);
    expect(node(t, 0).memTotal).toBe(3008396 * KB);
    expect(node(t, 0).distances).toEqual({ 0: 10, 1: 20 });
    expect(node(t, 1).distances).toEqual({ 0: 20, 1: 10 });
  });
  it('reads HMAT access0 and access1', () => {
    const fast = { readBandwidth: 204800, writeBandwidth: 204800, readLatency: 100, writeLatency: 100, initiators: [0] };
    const slow = { readBandwidth: 65536, writeBandwidth: 65536, readLatency: 250, writeLatency: 250, initiators: [0] };
    expect(node(t, 0).access0).toEqual(fast);
    expect(node(t, 0).access1).toEqual(fast);
    expect(node(t, 1).access0).toEqual(slow);
    expect(node(t, 1).access1).toEqual(slow);
  });
  it('classifies node1 EXMEM from CPU-lessness', () => {
    expect(t.exmemNodes).toEqual([1]);
    expect(t.normalNodes).toEqual([0]);
    expect(t.exmemSource).toBe('cpuless');
    expect(node(t, 1).type).toBe('EXMEM');
    expect(node(t, 1).typeReason).toBe('CPU-less, memory tier 22 below DRAM tier 4, HMAT 65536 MB/s, 250 ns vs DRAM 204800 MB/s, 100 ns');
    expect(node(t, 0).typeReason).toBe('has CPUs 0-1, memory tier 4');
    expect(nodeIdsOf(t, 'EXMEM')).toEqual([1]);
    expect(nodeIdsOf(t, 'NORMAL')).toEqual([0]);
  });
  it('reads tiers and weighted interleave', () => {
    expect(t.tiers).toEqual([
      { id: 4, nodes: [0] },
      { id: 22, nodes: [1] },
    ]);
    expect(node(t, 0).tier).toBe(4);
    expect(node(t, 1).tier).toBe(22);
    expect(t.weightedInterleave).toEqual({ available: true, weights: { 0: 1, 1: 1 }, auto: undefined });
    expect(t.cxlDevices).toEqual([]);
    expect(node(t, 1).cxlEvidence).toEqual([]);
    expect(t.warnings).toEqual([]);
  });
});

describe('fixture two-socket-cxl (nodes 2,3 CXL behind sockets 0,1)', () => {
  const t = read('two-socket-cxl');
  it('reads four nodes with interleaved SMT cpulists', () => {
    expect(t.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3]);
    expect(node(t, 0).cpus).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
    expect(node(t, 1).cpus).toEqual([4, 5, 6, 7, 12, 13, 14, 15]);
    expect(node(t, 2).cpus).toEqual([]);
    expect(t.nodes.map((n) => n.hasNormalMemory)).toEqual([true, true, false, false]); // CXL onlined movable
    expect(node(t, 2).memTotal).toBe(16777216 * KB);
  });
  it('maps SLIT distances to node ids', () => {
    expect(node(t, 0).distances).toEqual({ 0: 10, 1: 21, 2: 14, 3: 24 });
    expect(node(t, 2).distances).toEqual({ 0: 14, 1: 24, 2: 10, 3: 26 });
    expect(node(t, 3).distances).toEqual({ 0: 24, 1: 14, 2: 26, 3: 10 });
  });
  it('reads HMAT per initiator', () => {
    expect(node(t, 2).access1).toEqual({ readBandwidth: 65536, writeBandwidth: 32768, readLatency: 250, writeLatency: 300, initiators: [0] });
    expect(node(t, 3).access0?.initiators).toEqual([1]);
    expect(node(t, 1).access1?.initiators).toEqual([1]);
  });
  it('finds CXL devices and per-node evidence (regions and dax target_node)', () => {
    expect(t.cxlDevices).toEqual([
      'dax_region0', 'dax_region1', 'decoder0.0', 'decoder0.1', 'decoder1.0', 'decoder2.0', 'decoder3.0', 'decoder4.0',
      'endpoint3', 'endpoint4', 'mem0', 'mem1', 'nvdimm-bridge0', 'port1', 'port2', 'region0', 'region1', 'root0',
    ]);
    expect(t.nodes.map((n) => n.cxlEvidence)).toEqual([[], [], ['dax0.0', 'region0'], ['dax1.0', 'region1']]);
  });
  it('classifies 2,3 EXMEM from CXL evidence; reasons use min bandwidth / max latency', () => {
    expect(t.exmemSource).toBe('cxl');
    expect(t.exmemNodes).toEqual([2, 3]);
    expect(t.normalNodes).toEqual([0, 1]);
    expect(node(t, 2).typeReason).toBe(
      'CPU-less, CXL evidence dax0.0 region0, memory tier 22 below DRAM tier 4, HMAT 32768 MB/s, 300 ns vs DRAM 204800 MB/s, 90 ns',
    );
    expect(node(t, 1).typeReason).toBe('has CPUs 4-7,12-15, memory tier 4');
    expect(t.tiers).toEqual([
      { id: 4, nodes: [0, 1] },
      { id: 22, nodes: [2, 3] },
    ]);
    expect(t.weightedInterleave.weights).toEqual({ 0: 1, 1: 1, 2: 1, 3: 1 });
    expect(t.warnings).toEqual([]);
  });
});

describe('fixture non-contiguous (online 0,2,5,7; 7 CPU-only; 5 CPU-less)', () => {
  const t = read('non-contiguous');
  it('keeps ids as they are and drops the memory-less CPU node', () => {
    expect(t.possible).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(t.online).toEqual([0, 2, 5, 7]);
    expect(t.nodes.map((n) => n.id)).toEqual([0, 2, 5]);
    expect(node(t, 2).cpus).toEqual([2, 3]);
    expect(t.nodes.map((n) => n.hasNormalMemory)).toEqual([true, true, false]);
  });
  it('maps distance columns to online ids, not to 0..n-1', () => {
    expect(node(t, 5).distances).toEqual({ 0: 28, 2: 28, 5: 10, 7: 34 });
    expect(node(t, 2).distances).toEqual({ 0: 16, 2: 10, 5: 28, 7: 22 });
  });
  it('classifies 5 EXMEM', () => {
    expect(t.exmemNodes).toEqual([5]);
    expect(t.normalNodes).toEqual([0, 2]);
    expect(t.exmemSource).toBe('cpuless');
    expect(node(t, 5).access0?.initiators).toEqual([0, 2]);
    expect(node(t, 5).tier).toBe(22);
    expect(node(t, 5).typeReason).toBe('CPU-less, memory tier 22 below DRAM tier 4, HMAT 51200 MB/s, 300 ns vs DRAM 102400 MB/s, 80 ns');
    expect(t.weightedInterleave.weights).toEqual({ 0: 3, 1: 1, 2: 3, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1 });
    expect(t.warnings).toEqual([]);
  });
});

describe('fixture missing-hmat (node0 CPU-less, DRAM on node1, no access dirs)', () => {
  const t = read('missing-hmat');
  it('does not assume DRAM comes first', () => {
    expect(t.exmemNodes).toEqual([0]);
    expect(t.normalNodes).toEqual([1]);
    expect(t.exmemSource).toBe('cpuless');
    expect(node(t, 1).cpus).toEqual([0, 1, 2, 3]);
  });
  it('warns about missing HMAT instead of failing', () => {
    expect(node(t, 0).access0).toBeUndefined();
    expect(node(t, 1).access1).toBeUndefined();
    expect(t.warnings).toEqual([
      'no HMAT data: nodes 0-1 have no access0/access1 bandwidth or latency in sysfs; CPU-less nodes are assumed slower than DRAM',
    ]);
    expect(node(t, 0).typeReason).toBe('CPU-less, memory tier 4 same as DRAM, no HMAT data');
  });
});

describe('fixture hbm (CPU-less node faster than DRAM)', () => {
  const t = read('hbm');
  it('keeps the HBM-like node NORMAL', () => {
    expect(node(t, 1).type).toBe('NORMAL');
    expect(node(t, 1).typeReason).toBe(
      'CPU-less but HBM-like, HMAT 1048576 MB/s, 100 ns vs DRAM 307200 MB/s, 110 ns, memory tier 1 above DRAM tier 4',
    );
    expect(t.exmemNodes).toEqual([]);
    expect(t.normalNodes).toEqual([0, 1]);
    expect(t.exmemSource).toBe('none');
    expect(t.tiers).toEqual([
      { id: 1, nodes: [1] },
      { id: 4, nodes: [0] },
    ]);
    expect(t.weightedInterleave).toEqual({ available: true, weights: { 0: 1, 1: 1 }, auto: true });
    expect(t.warnings).toEqual([]);
  });
  it('is EXMEM as soon as latency is worse than DRAM', () => {
    const root = tmpCopy('hbm');
    for (const a of ['access0', 'access1']) put(root, `devices/system/node/node1/${a}/initiators/read_latency`, '120\n');
    const u = readTopology({ sysRoot: root, env: {} });
    expect(u.exmemNodes).toEqual([1]);
    expect(u.exmemSource).toBe('cpuless');
    expect(node(u, 1).typeReason).toBe('CPU-less, memory tier 1 above DRAM tier 4, HMAT 1048576 MB/s, 120 ns vs DRAM 307200 MB/s, 110 ns');
  });
  it('is EXMEM as soon as bandwidth is below DRAM', () => {
    const root = tmpCopy('hbm');
    for (const a of ['access0', 'access1']) put(root, `devices/system/node/node1/${a}/initiators/write_bandwidth`, '204800\n');
    expect(readTopology({ sysRoot: root, env: {} }).exmemNodes).toEqual([1]);
  });
  it('accepts equal figures as HBM-like (>= and <=)', () => {
    const root = tmpCopy('hbm');
    for (const a of ['access0', 'access1']) {
      put(root, `devices/system/node/node1/${a}/initiators/read_bandwidth`, '307200\n');
      put(root, `devices/system/node/node1/${a}/initiators/write_bandwidth`, '307200\n');
      put(root, `devices/system/node/node1/${a}/initiators/read_latency`, '110\n');
      put(root, `devices/system/node/node1/${a}/initiators/write_latency`, '110\n');
    }
    expect(readTopology({ sysRoot: root, env: {} }).exmemNodes).toEqual([]);
  });
});

describe('fixture kernel-6.1 (no memory tiers, no weighted interleave)', () => {
  const t = read('kernel-6.1');
  it('reads without tiers or weighted interleave', () => {
    expect(t.tiers).toEqual([]);
    expect(t.nodes.map((n) => n.tier)).toEqual([undefined, undefined]);
    expect(t.weightedInterleave).toEqual({ available: false, weights: {}, auto: undefined });
    expect(t.exmemNodes).toEqual([1]);
    expect(t.exmemSource).toBe('cpuless');
    expect(node(t, 1).typeReason).toBe('CPU-less, HMAT 65536 MB/s, 250 ns vs DRAM 204800 MB/s, 100 ns');
    expect(node(t, 0).typeReason).toBe('has CPUs 0-1');
    expect(t.warnings).toEqual([]);
  });
});

describe('HMSDK_EXMEM_NODES override', () => {
  it('names exactly the EXMEM nodes (source env)', () => {
    const t = read('two-socket-cxl', { HMSDK_EXMEM_NODES: '3' });
    expect(t.exmemSource).toBe('env');
    expect(t.exmemNodes).toEqual([3]);
    expect(t.normalNodes).toEqual([0, 1, 2]);
    expect(node(t, 2).typeReason).toBe('not named in HMSDK_EXMEM_NODES=3');
    expect(node(t, 3).typeReason).toBe('named in HMSDK_EXMEM_NODES=3, CPU-less');
    expect(t.warnings).toEqual([]);
  });
  it.each([
    ['2,3', [2, 3]],
    ['2-3', [2, 3]],
    [' 2 , 3 \n', [2, 3]],
    ['3,2,2', [2, 3]],
  ])('accepts %j', (value, ids) => {
    expect(read('two-socket-cxl', { HMSDK_EXMEM_NODES: value }).exmemNodes).toEqual(ids);
  });
  it('can make a CPU node EXMEM, with a warning', () => {
    const t = read('cxl-expander', { HMSDK_EXMEM_NODES: '0' });
    expect(t.exmemNodes).toEqual([0]);
    expect(t.normalNodes).toEqual([1]);
    expect(t.warnings).toEqual(['HMSDK_EXMEM_NODES makes node 0 EXMEM although it has CPUs 0-1']);
  });
  it('warns when no NORMAL node is left', () => {
    const t = read('cxl-expander', { HMSDK_EXMEM_NODES: '0-1' });
    expect(t.normalNodes).toEqual([]);
    expect(t.warnings).toContain('no NORMAL node: every memory node (0-1) is EXMEM');
  });
  it('is ignored when blank', () => {
    expect(read('two-socket-cxl', { HMSDK_EXMEM_NODES: '' }).exmemSource).toBe('cxl');
    expect(read('two-socket-cxl', { HMSDK_EXMEM_NODES: '  ' }).exmemSource).toBe('cxl');
  });
  it('throws ECONFIG naming a node that does not exist', () => {
    expectCode(() => read('two-socket-cxl', { HMSDK_EXMEM_NODES: '2,7' }), 'ECONFIG', /names node 7, .*online memory nodes: 0-3/);
  });
  it('throws ECONFIG for an online node without memory', () => {
    expectCode(() => read('non-contiguous', { HMSDK_EXMEM_NODES: '7' }), 'ECONFIG', /node 7/);
  });
  it('throws ECONFIG for an offline possible node', () => {
    expectCode(() => read('non-contiguous', { HMSDK_EXMEM_NODES: '5,6' }), 'ECONFIG', /node 6/);
  });
  it.each(['two', '2;3', '3-2', '2 3', '-1'])('throws ECONFIG for malformed %j', (value) => {
    expectCode(() => read('two-socket-cxl', { HMSDK_EXMEM_NODES: value }), 'ECONFIG', /HMSDK_EXMEM_NODES/);
  });
  it('reads process.env by default', () => {
    const saved = process.env.HMSDK_EXMEM_NODES;
    process.env.HMSDK_EXMEM_NODES = '2';
    try {
      const t = readTopology({ sysRoot: fx('two-socket-cxl') });
      expect(t.exmemSource).toBe('env');
      expect(t.exmemNodes).toEqual([2]);
    } finally {
      if (saved === undefined) delete process.env.HMSDK_EXMEM_NODES;
      else process.env.HMSDK_EXMEM_NODES = saved;
    }
  });
});

describe('CXL evidence edge cases', () => {
  it('a CPU-less node without evidence is still EXMEM in cxl mode, and says so', () => {
    const root = tmpCopy('two-socket-cxl');
    rmSync(join(root, 'bus/dax/devices/dax1.0'), { recursive: true });
    rmSync(join(root, 'bus/cxl/devices/region1'), { recursive: true });
    const t = readTopology({ sysRoot: root, env: {} });
    expect(t.exmemSource).toBe('cxl');
    expect(t.exmemNodes).toEqual([2, 3]);
    expect(node(t, 3).cxlEvidence).toEqual([]);
    expect(node(t, 3).typeReason).toBe('CPU-less, no CXL evidence, memory tier 22 below DRAM tier 4, HMAT 32768 MB/s, 300 ns vs DRAM 204800 MB/s, 90 ns');
  });
  it('CXL devices without region/dax evidence do not switch to cxl mode', () => {
    const root = tmpCopy('two-socket-cxl');
    rmSync(join(root, 'bus/dax'), { recursive: true });
    for (const r of ['region0', 'region1']) rmSync(join(root, `bus/cxl/devices/${r}`), { recursive: true });
    const t = readTopology({ sysRoot: root, env: {} });
    expect(t.exmemSource).toBe('cpuless');
    expect(t.exmemNodes).toEqual([2, 3]);
    expect(t.cxlDevices).toContain('mem0');
  });
  it('a dax device alone is evidence', () => {
    const root = tmpCopy('cxl-expander');
    put(root, 'bus/dax/devices/dax0.0/target_node', '1\n');
    const t = readTopology({ sysRoot: root, env: {} });
    expect(t.exmemSource).toBe('cxl');
    expect(node(t, 1).cxlEvidence).toEqual(['dax0.0']);
  });
  it('a platform hmem dax device (soft-reserved, not CXL) is not evidence', () => {
    const root = tmpCopy('cxl-expander');
    put(root, 'devices/platform/hmem.0/dax0.0/target_node', '1\n');
    mkdirSync(join(root, 'bus/dax/devices'), { recursive: true });
    symlinkSync('../../../devices/platform/hmem.0/dax0.0', join(root, 'bus/dax/devices/dax0.0'));
    const t = readTopology({ sysRoot: root, env: {} });
    expect(node(t, 1).cxlEvidence).toEqual([]);
    expect(t.exmemSource).toBe('cpuless');
  });
  it('a dax target_node of -1 or of a node without memory is ignored', () => {
    const root = tmpCopy('cxl-expander');
    put(root, 'bus/dax/devices/dax0.0/target_node', '-1\n');
    put(root, 'bus/dax/devices/dax1.0/target_node', '6\n');
    const t = readTopology({ sysRoot: root, env: {} });
    expect(t.exmemSource).toBe('cpuless');
  });
  it('evidence naming a CPU node keeps it NORMAL, with a warning', () => {
    const root = tmpCopy('cxl-expander');
    put(root, 'bus/dax/devices/dax0.0/target_node', '0\n');
    const t = readTopology({ sysRoot: root, env: {} });
    expect(node(t, 0).type).toBe('NORMAL');
    expect(t.exmemNodes).toEqual([1]);
    expect(node(t, 1).typeReason).toMatch(/^CPU-less, no CXL evidence, /);
    expect(t.warnings).toEqual(['CXL evidence (dax0.0) names node 0, which has CPUs; kept NORMAL']);
  });
});

describe('robustness', () => {
  it('prefers access1 figures and falls back to access0', () => {
    const root = tmpCopy('cxl-expander');
    for (const n of [0, 1]) rmSync(join(root, `devices/system/node/node${n}/access1`), { recursive: true });
    put(root, 'devices/system/node/node1/access0/initiators/read_latency', '260\n');
    put(root, 'devices/system/node/node1/access0/initiators/write_latency', '260\n');
    const t = readTopology({ sysRoot: root, env: {} });
    expect(node(t, 1).access1).toBeUndefined();
    expect(node(t, 1).typeReason).toMatch(/HMAT 65536 MB\/s, 260 ns vs DRAM 204800 MB\/s, 100 ns$/);
  });
  it('partial HMAT files give undefined figures', () => {
    const root = tmpCopy('cxl-expander');
    rmSync(join(root, 'devices/system/node/node1/access0/initiators/write_bandwidth'));
    const t = readTopology({ sysRoot: root, env: {} });
    expect(node(t, 1).access0).toEqual({ readBandwidth: 65536, writeBandwidth: undefined, readLatency: 250, writeLatency: 250, initiators: [0] });
  });
  it('warns when only some nodes have HMAT', () => {
    const root = tmpCopy('cxl-expander');
    for (const a of ['access0', 'access1']) rmSync(join(root, `devices/system/node/node1/${a}`), { recursive: true });
    const t = readTopology({ sysRoot: root, env: {} });
    expect(t.warnings).toEqual([
      'no HMAT data: node 1 has no access0/access1 bandwidth or latency in sysfs; CPU-less nodes are assumed slower than DRAM',
    ]);
    expect(t.exmemNodes).toEqual([1]);
  });
  it('warns when a distance row does not match the online nodes', () => {
    const root = tmpCopy('cxl-expander');
    put(root, 'devices/system/node/node1/distance', '20\n');
    const t = readTopology({ sysRoot: root, env: {} });
    expect(node(t, 1).distances).toEqual({ 0: 20 });
    expect(t.warnings).toEqual(['node 1: distance lists 1 values for 2 online nodes; mapped in order as far as they go']);
  });
  it('returns an empty topology with a warning when there is no NUMA sysfs', () => {
    const root = mkdtempSync(join(tmpdir(), 'hmsdk-topo-empty-'));
    tmpRoots.push(root);
    const t = readTopology({ sysRoot: root, env: {} });
    expect(t.nodes).toEqual([]);
    expect(t.exmemSource).toBe('none');
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings[0]).toMatch(/^no NUMA information: /);
  });
  it('throws RangeError for a malformed node list file', () => {
    const root = tmpCopy('cxl-expander');
    put(root, 'devices/system/node/online', '0-\n');
    expect(() => readTopology({ sysRoot: root, env: {} })).toThrow(RangeError);
  });
  it('falls back to MemTotal > 0 without has_memory, and to cpulist without has_cpu', () => {
    const root = tmpCopy('non-contiguous');
    rmSync(join(root, 'devices/system/node/has_memory'));
    rmSync(join(root, 'devices/system/node/has_cpu'));
    const t = readTopology({ sysRoot: root, env: {} });
    expect(t.nodes.map((n) => n.id)).toEqual([0, 2, 5]);
    expect(t.exmemNodes).toEqual([5]);
  });
  it('accepts a sysRoot with a trailing slash', () => {
    expect(readTopology({ sysRoot: fx('cxl-expander') + '/', env: {} }).exmemNodes).toEqual([1]);
  });
  it('reads the `auto` file name of 6.16+ kernels', () => {
    const root = tmpCopy('cxl-expander');
    put(root, 'kernel/mm/mempolicy/weighted_interleave/auto', 'false\n');
    expect(readTopology({ sysRoot: root, env: {} }).weightedInterleave.auto).toBe(false);
  });
});

describe('readNodeMemory', () => {
  it('reads one node in bytes', () => {
    expect(readNodeMemory(2, fx('two-socket-cxl'))).toEqual({ total: 16777216 * KB, free: 16709632 * KB });
    expect(readNodeMemory(5, fx('non-contiguous'))).toEqual({ total: 4194304 * KB, free: 4190208 * KB });
  });
  it('throws ENODEV for a node that is not online', () => {
    expectCode(() => readNodeMemory(3, fx('non-contiguous')), 'ENODEV', /node 3/);
  });
  it('rejects bad ids', () => {
    expect(() => readNodeMemory(-1, fx('one-node'))).toThrow(RangeError);
    expect(() => readNodeMemory(1.5, fx('one-node'))).toThrow(RangeError);
    expect(() => readNodeMemory('1' as unknown as number, fx('one-node'))).toThrow(TypeError);
  });
});

// ---- the live machine: compare with /sys read here independently -----------
function listFromSys(path: string): number[] {
  const s = readFileSync(path, 'latin1').trim();
  if (s === '') return [];
  return s.split(',').flatMap((p) => {
    const [a, b] = p.split('-').map(Number) as [number, number | undefined];
    return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
  });
}

describe('live /sys', () => {
  const NODE = '/sys/devices/system/node';
  const t = readTopology({ env: {} });
  it('agrees with /sys', () => {
    expect(t.sysRoot).toBe('/sys');
    const online = listFromSys(`${NODE}/online`);
    const memory = listFromSys(`${NODE}/has_memory`);
    expect(t.online).toEqual(online);
    expect(t.possible).toEqual(listFromSys(`${NODE}/possible`));
    expect(t.nodes.length).toBeGreaterThanOrEqual(1);
    expect(t.nodes.map((n) => n.id)).toEqual(online.filter((id) => memory.includes(id)));
    for (const n of t.nodes) {
      expect(n.cpus).toEqual(listFromSys(`${NODE}/node${n.id}/cpulist`));
      const mi = readFileSync(`${NODE}/node${n.id}/meminfo`, 'latin1');
      expect(n.memTotal).toBe(Number(/MemTotal:\s+(\d+) kB/.exec(mi)?.[1]) * KB);
      expect(n.memFree).toBeGreaterThan(0);
      expect(n.memFree).toBeLessThanOrEqual(n.memTotal);
      const dist = readFileSync(`${NODE}/node${n.id}/distance`, 'latin1').trim().split(/\s+/).map(Number);
      expect(Object.values(n.distances)).toEqual(dist);
      expect(n.distances[n.id]).toBe(10);
      expect(readNodeMemory(n.id).total).toBe(n.memTotal);
    }
    expect([...t.normalNodes, ...t.exmemNodes].sort((a, b) => a - b)).toEqual(t.nodes.map((n) => n.id));
    expect(t.normalNodes.length).toBeGreaterThanOrEqual(1);
    const cpuCount = t.nodes.reduce((s, n) => s + n.cpus.length, 0);
    expect(cpuCount).toBeGreaterThanOrEqual(1);
  });
  it('agrees with /sys on tiers and weighted interleave', () => {
    const tierDir = '/sys/devices/virtual/memory_tiering';
    let tiers: string[] = [];
    try {
      tiers = readdirSync(tierDir).filter((d) => /^memory_tier\d+$/.test(d));
    } catch {
      /* no tiers */
    }
    expect(t.tiers.map((x) => `memory_tier${x.id}`).sort()).toEqual(tiers.sort());
    let wi: string[] | undefined;
    try {
      wi = readdirSync('/sys/kernel/mm/mempolicy/weighted_interleave');
    } catch {
      wi = undefined;
    }
    expect(t.weightedInterleave.available).toBe(wi !== undefined);
    if (wi) expect(Object.keys(t.weightedInterleave.weights).map((k) => `node${k}`).sort()).toEqual(wi.filter((f) => /^node\d+$/.test(f)).sort());
  });
  it('reads in well under 5 ms', () => {
    for (const root of ['/sys', fx('two-socket-cxl')]) {
      readTopology({ sysRoot: root, env: {} });
      const times: number[] = [];
      for (let i = 0; i < 31; i++) {
        const t0 = performance.now();
        readTopology({ sysRoot: root, env: {} });
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      expect(times[15]).toBeLessThan(5);
    }
  });
  it('keeps the import graph of src/topology tiny', () => {
    const dir = resolve(__dirname, '../src/topology');
    const files = [...readdirSync(dir).filter((x) => x.endsWith('.ts')).map((f) => join(dir, f)), resolve(__dirname, '../src/kernel/files.ts')];
    for (const file of files) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
        expect(['node:fs', '../errors', './errors', '../kernel/files', '../util/validate', './types', './read', './sysfs', './numa-maps'], `${file} imports ${m[1]}`).toContain(m[1]);
      }
      expect(src).not.toMatch(/\brequire\(/);
    }
  });
});

describe('scripts/capture-sysfs.js', () => {
  const script = resolve(__dirname, '../scripts/capture-sysfs.js');
  const strip = (t: Topology): unknown => ({ ...t, sysRoot: '' });
  it('round-trips a fixture: the capture reads the same', () => {
    for (const name of ['two-socket-cxl', 'non-contiguous', 'hbm', 'kernel-6.1']) {
      const out = mkdtempSync(join(tmpdir(), `hmsdk-capture-${name}-`));
      tmpRoots.push(out);
      execFileSync(process.execPath, [script, out, '--sys-root', fx(name), '--force'], { stdio: 'pipe' });
      expect(strip(readTopology({ sysRoot: out, env: {} }))).toEqual(strip(read(name)));
    }
  });
  it('captures the live /sys into a tree that reads like /sys', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hmsdk-capture-live-')), 'tree');
    tmpRoots.push(join(out, '..'));
    execFileSync(process.execPath, [script, out], { stdio: 'pipe' });
    const live = readTopology({ env: {} });
    const cap = readTopology({ sysRoot: out, env: {} });
    const stable = (t: Topology): unknown => ({ ...t, sysRoot: '', nodes: t.nodes.map((n) => ({ ...n, memFree: 0 })) });
    expect(stable(cap)).toEqual(stable(live));
  });
  it('refuses to write into a non-empty directory without --force', () => {
    const out = mkdtempSync(join(tmpdir(), 'hmsdk-capture-busy-'));
    tmpRoots.push(out);
    writeFileSync(join(out, 'x'), '');
    expect(() => execFileSync(process.execPath, [script, out], { stdio: 'pipe' })).toThrow(/not empty/);
  });
  it('prints usage without OUTDIR', () => {
    expect(() => execFileSync(process.execPath, [script], { stdio: 'pipe' })).toThrow(/usage/);
  });
});
