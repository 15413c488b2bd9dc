import { describe, expect, it } from 'vitest';
import { HmsdkError } from '../src/errors';
import { planInterleave, type InterleavePlan } from '../src/policy/plan';
import { availableBytes, nodeReserve } from '../src/policy/capacity';
import { GiB, MiB, dramPlusCxl, dramPlusTwoCxl, node, perf, topology, twoSockets } from './helpers/policy-topologies';

function expectValidWeights(plan: InterleavePlan): void {
  expect(plan.weights).toHaveLength(plan.nodes.length);
  for (const w of plan.weights) {
    expect(Number.isInteger(w)).toBe(true);
    expect(w).toBeGreaterThanOrEqual(1);
    expect(w).toBeLessThanOrEqual(255);
  }
  const sum = plan.weights.reduce((a, b) => a + b, 0);
  plan.shares.forEach((s, i) => expect(s).toBeCloseTo((plan.weights[i] ?? 0) / sum, 12));
}

describe('planInterleave: DRAM 204800 + CXL 65536 MB/s', () => {
  const plan = planInterleave(dramPlusCxl());

  it('gives 3:1 from HMAT access1, within rounding of the 75.76 % ideal', () => {
    expect(plan.source).toBe('hmat');
    expect(plan.nodes).toEqual([0, 1]);
    expect(plan.weights).toEqual([3, 1]);
    expectValidWeights(plan);
    expect(plan.idealShares?.[0]).toBeCloseTo(204800 / 270336, 12);
    expect(plan.roundingError).toBeCloseTo(0.7576, 3);
    expect(plan.initiators).toEqual([0]);
    expect(plan.model).toMatch(/HMAT access1 min\(read, write\) bandwidth from initiator node0/);
    expect(plan.warnings).toEqual([]);
  });

  it('predicts min(204800/0.75, 65536/0.25) = 262144, +28 % over DRAM, 1:1 interleave at 131072', () => {
    if (plan.source !== 'hmat') throw new Error('unexpected source');
    const p = plan.predicted;
    expect(p.aggregateMBps).toBe(262144);
    expect(p.dramOnlyMBps).toBe(204800);
    expect(p.gainOverDramOnly).toBeCloseTo(1.28, 12);
    expect(p.interleave11MBps).toBe(131072);
    expect(p.idealMBps).toBe(270336);
    expect(p.perNodeMBps[1]).toBeCloseTo(65536, 9);
    // 0.75·100 ns + 0.25·250 ns
    expect(p.latencyNs).toBeCloseTo(137.5, 9);
  });

  it("method 'kernel-auto' gives 24:7, predicted 264533 (min-link favours under-weighting CXL)", () => {
    const k = planInterleave(dramPlusCxl(), { method: 'kernel-auto' });
    expect(k.weights).toEqual([24, 7]);
    // DRAM saturates first: 204800 / (24/31)
    expect(k.predicted?.aggregateMBps).toBeCloseTo((204800 * 31) / 24, 6);
  });

  it('maxWeight bounds the weights', () => {
    const p = planInterleave(dramPlusCxl(), { maxWeight: 2 });
    expect(p.weights).toEqual([2, 1]);
  });

  it('workload hint chooses the figure: write-heavy uses write bandwidth', () => {
    const t = dramPlusCxl({
      dram: { access1: perf(204800, 100, [0], 102400) },
      cxl: { access1: perf(65536, 250, [0], 51200) },
    });
    // write: 102400:51200 = 2:1; read: 204800:65536 = 3:1; mixed = min = 102400:51200 = 2:1
    expect(planInterleave(t, { workload: 'write-heavy' }).weights).toEqual([2, 1]);
    expect(planInterleave(t, { workload: 'read-heavy' }).weights).toEqual([3, 1]);
    expect(planInterleave(t, { workload: 'mixed' }).weights).toEqual([2, 1]);
  });

  it('notes that the kernel lacks weighted interleave when it does', () => {
    const t = dramPlusCxl();
    t.weightedInterleave = { available: false, weights: {}, auto: undefined };
    expect(planInterleave(t).notes.join('\n')).toMatch(/userspace stripe/);
  });
});

describe('planInterleave: three nodes (DRAM + two CXL)', () => {
  it('gives 6:2:1 and +44 % over DRAM only', () => {
    const plan = planInterleave(dramPlusTwoCxl());
    // ideal 67.6 / 21.6 / 10.8 %; 6:2:1 = 66.7 / 22.2 / 11.1 %, the first sum within 1 pp.
    expect(plan.weights).toEqual([6, 2, 1]);
    expectValidWeights(plan);
    // min(204800/(6/9), 65536/(2/9), 32768/(1/9)) = min(307200, 294912, 294912)
    expect(plan.predicted?.aggregateMBps).toBeCloseTo(294912, 6);
    expect(plan.predicted?.gainOverDramOnly).toBeCloseTo(294912 / 204800, 12);
    // 1:1:1 → 3 · 32768
    expect(plan.predicted?.interleave11MBps).toBeCloseTo(98304, 6);
  });

  it('candidate nodes restrict the set', () => {
    const plan = planInterleave(dramPlusTwoCxl(), { nodes: [0, 2] });
    // 204800:32768 = 6.25:1 → 6:1 (85.7 % vs 86.2 %)
    expect(plan.nodes).toEqual([0, 2]);
    expect(plan.weights).toEqual([6, 1]);
  });
});

describe('planInterleave: two sockets, the initiator changes the answer', () => {
  it('from socket 0: local DRAM largest, remote DRAM scaled by SLIT 10/21, CXL direct', () => {
    const plan = planInterleave(twoSockets(), { initiatorNodes: [0] });
    const remote = (204800 * 10) / 21;
    const total = 204800 + remote + 65536;
    expect(plan.idealShares?.[0]).toBeCloseTo(204800 / total, 12);
    expect(plan.idealShares?.[1]).toBeCloseTo(remote / total, 12);
    expect(plan.idealShares?.[2]).toBeCloseTo(65536 / total, 12);
    expect(plan.weights[0]).toBeGreaterThan(plan.weights[1] ?? Infinity);
    expect(plan.notes.join('\n')).toMatch(/node 1 is for initiator node1, not node0.*10\/21/);
  });

  it('from socket 1 (via CPU affinity 2-3): node1 largest, CXL penalised by d(0,2)/d(1,2) = 20/30', () => {
    const plan = planInterleave(twoSockets(), { cpus: [2, 3] });
    expect(plan.initiators).toEqual([1]);
    expect(plan.weights[1]).toBeGreaterThan(plan.weights[0] ?? Infinity);
    const remote = (204800 * 10) / 21;
    const cxl = (65536 * 20) / 30;
    const total = remote + 204800 + cxl;
    expect(plan.idealShares?.[2]).toBeCloseTo(cxl / total, 12);
    expect(plan.model).toMatch(/from initiator node1/);
  });

  it('the same node set gives different weights for different initiators', () => {
    const a = planInterleave(twoSockets(), { initiatorNodes: [0], nodes: [0, 2] });
    const b = planInterleave(twoSockets(), { initiatorNodes: [1], nodes: [0, 2] });
    // from 0: 204800:65536 → 3:1; from 1: 97524:43691 = 2.23:1 (69.1 %): 2:1 is 2.4 pp off, 7:3 (70 %) is within 1 pp
    expect(a.weights).toEqual([3, 1]);
    expect(b.weights).toEqual([7, 3]);
    expect((b.weights[0] ?? 0) / (b.weights[1] ?? 1)).toBeCloseTo(((204800 * 10) / 21 / ((65536 * 20) / 30)), 0);
  });

  it('both sockets: figures averaged over the initiators, symmetric DRAM weights', () => {
    const plan = planInterleave(twoSockets());
    expect(plan.initiators).toEqual([0, 1]);
    expect(plan.weights[0]).toBe(plan.weights[1]);
    expect(plan.model).toMatch(/averaged over initiators node0, node1/);
  });

  it('latency-sensitive from socket 1 keeps only node1 (remote latency 100·21/10 = 210 ns)', () => {
    const plan = planInterleave(twoSockets(), { initiatorNodes: [1], workload: 'latency-sensitive' });
    expect(plan.nodes).toEqual([1]);
    expect(plan.weights).toEqual([1]);
  });
});

describe('planInterleave: free memory', () => {
  it('a nearly full DRAM node gets less: no more than it holds above its reserve', () => {
    const dram = { memTotal: 16 * GiB, memFree: 2 * GiB };
    const t = dramPlusCxl({ dram });
    const size = 8 * GiB;
    // reserve = floor(16 GiB / 50) ≈ 327.68 MiB; available ≈ 2048 − 327.68 = 1720.32 MiB = 21 % of 8 GiB
    const capShare = (2 * GiB - Math.floor((16 * GiB) / 50)) / size;
    expect(capShare).toBeCloseTo(0.21, 9);
    const plan = planInterleave(t, { size });
    expect(plan.nodes).toEqual([0, 1]);
    expect(plan.shares[0]).toBeLessThanOrEqual(capShare);
    expect(plan.shares[0]).toBeGreaterThanOrEqual(capShare - 0.01);
    expect(plan.idealShares?.[0]).toBeCloseTo(capShare, 12);
    expect(plan.notes.join('\n')).toMatch(/node 0 gets 21\.0% instead of 75\.8%/);
    // the model sees the CXL link as the bottleneck now: 65536 / share
    expect(plan.predicted?.aggregateMBps).toBeCloseTo(65536 / (plan.shares[1] ?? 1), 6);
    expect(plan.predicted?.aggregateMBps).toBeLessThan(204800);
  });

  it('a node within its reserve is excluded, with the reason in notes', () => {
    const t = dramPlusCxl({ dram: { memTotal: 16 * GiB, memFree: 256 * MiB } });
    const plan = planInterleave(t, { size: GiB });
    expect(plan.nodes).toEqual([1]);
    expect(plan.weights).toEqual([1]);
    expect(plan.notes.join('\n')).toMatch(/node 0 excluded: .*within its .*reserve/);
  });

  it('a node that can hold less than one weight unit (1/64) is excluded', () => {
    // available on node0: 64 MiB + 2 % reserve → free = reserve + 10 MiB; size 1 GiB → 1 % < 1/64
    const memTotal = 16 * GiB;
    const t = dramPlusCxl({ dram: { memTotal, memFree: nodeReserve({ memTotal }) + 10 * MiB } });
    const plan = planInterleave(t, { size: GiB });
    expect(plan.nodes).toEqual([1]);
    expect(plan.notes.join('\n')).toMatch(/node 0 excluded: it can hold less than 1\/64/);
  });

  it('warns when the allocation does not fit anywhere', () => {
    const t = dramPlusCxl({ dram: { memTotal: 4 * GiB, memFree: GiB }, cxl: { memTotal: 4 * GiB, memFree: GiB } });
    const plan = planInterleave(t, { size: 8 * GiB });
    expect(plan.warnings.join('\n')).toMatch(/does not fit/);
  });

  it('property: every plan node can hold its share (random free memory)', () => {
    let seed = 11;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 200; i++) {
      const t = dramPlusTwoCxl();
      for (const n of t.nodes) {
        n.memTotal = (4 + Math.floor(rand() * 60)) * GiB;
        n.memFree = rand() * n.memTotal;
      }
      const total = t.nodes.reduce((a, n) => a + availableBytes(n), 0);
      const size = Math.max(MiB, rand() * total * 0.95);
      const plan = planInterleave(t, { size });
      expectValidWeights(plan);
      if (plan.warnings.length > 0) continue;
      plan.nodes.forEach((id, k) => {
        const n = t.nodes.find((x) => x.id === id);
        if (!n) throw new Error('plan names an unknown node');
        expect((plan.shares[k] ?? 0) * size).toBeLessThanOrEqual(availableBytes(n) + 1);
      });
    }
  });
});

describe('planInterleave: missing HMAT', () => {
  it('uniform weights and a warning per node without bandwidth', () => {
    const t = dramPlusCxl({ cxl: { access0: undefined, access1: undefined } });
    const plan = planInterleave(t);
    expect(plan.source).toBe('uniform');
    expect(plan.weights).toEqual([1, 1]);
    expect(plan.warnings).toContain('no HMAT bandwidth for node 1: uniform weights');
    if (plan.source === 'uniform') {
      expect(plan.missingBandwidth).toEqual([1]);
      expect(plan.predicted).toBeUndefined();
    }
  });

  it('access0 is used when access1 is absent', () => {
    const t = dramPlusCxl({ cxl: { access1: undefined } });
    const plan = planInterleave(t);
    expect(plan.source).toBe('hmat');
    expect(plan.weights).toEqual([3, 1]);
    expect(plan.model).toMatch(/access1\+access0/);
  });

  it('access1 is preferred over access0 when both exist', () => {
    // access0 (any initiator, e.g. a GPU) says 32768; access1 (CPUs) says 65536.
    const t = dramPlusCxl({ cxl: { access0: perf(32768, 250, [0]), access1: perf(65536, 250, [0]) } });
    expect(planInterleave(t).weights).toEqual([3, 1]);
  });
});

describe('planInterleave: latency-sensitive', () => {
  it('DRAM only, no interleave onto CXL', () => {
    const plan = planInterleave(dramPlusTwoCxl(), { workload: 'latency-sensitive' });
    expect(plan.nodes).toEqual([0]);
    expect(plan.weights).toEqual([1]);
    expect(plan.predicted?.latencyNs).toBe(100);
    expect(plan.notes.join('\n')).toMatch(/node 1 250 ns, node 2 400 ns left out/);
  });

  it('without latency figures: the fastest tier', () => {
    const t = dramPlusCxl({ dram: { access1: undefined, access0: undefined } });
    const plan = planInterleave(t, { workload: 'latency-sensitive' });
    expect(plan.nodes).toEqual([0]);
    expect(plan.notes.join('\n')).toMatch(/fastest memory tier 4/);
  });
});

describe('planInterleave: overrides', () => {
  it('user weights are used as given', () => {
    const plan = planInterleave(dramPlusCxl(), { weights: { 0: 5, 1: 2 } });
    expect(plan.source).toBe('override');
    expect(plan.nodes).toEqual([0, 1]);
    expect(plan.weights).toEqual([5, 2]);
    // 5/7 = 71.4 % vs 75.76 % ideal
    expect(plan.roundingError).toBeCloseTo((204800 / 270336 - 5 / 7) * 100, 9);
    // CXL saturates: 65536 / (2/7)
    expect(plan.predicted?.aggregateMBps).toBeCloseTo(229376, 6);
  });

  it('user weights must be integers 1..255 on known nodes', () => {
    expect(() => planInterleave(dramPlusCxl(), { weights: { 0: 0, 1: 1 } })).toThrow(RangeError);
    expect(() => planInterleave(dramPlusCxl(), { weights: { 0: 256 } })).toThrow(/options\.weights\[0\]/);
    expect(() => planInterleave(dramPlusCxl(), { weights: { 0: 1.5 } })).toThrow(RangeError);
    expect(() => planInterleave(dramPlusCxl(), { weights: { 7: 1 } })).toThrow(/node 7/);
    expect(() => planInterleave(dramPlusCxl(), { weights: { 0: 3 }, nodes: [0, 1] })).toThrow(/no weight for node 1/);
  });

  it('measured bandwidth wins over HMAT', () => {
    const measured = { 0: { readMBps: 100000, writeMBps: 80000 }, 1: { readMBps: 50000, writeMBps: 20000 } };
    const mixed = planInterleave(dramPlusCxl(), { measured });
    expect(mixed.source).toBe('measured');
    // min(read, write): 80000:20000 = 4:1 (HMAT would say 3:1)
    expect(mixed.weights).toEqual([4, 1]);
    expect(mixed.model).toMatch(/measured min\(read, write\) bandwidth/);
    // read-heavy: 100000:50000 = 2:1
    expect(planInterleave(dramPlusCxl(), { measured, workload: 'read-heavy' }).weights).toEqual([2, 1]);
  });

  it('partial measurement: HMAT fills the gap, with a warning', () => {
    const plan = planInterleave(dramPlusCxl(), { measured: { 1: { readMBps: 40960, writeMBps: 40960 } } });
    expect(plan.source).toBe('measured');
    // 204800:40960 = 5:1
    expect(plan.weights).toEqual([5, 1]);
    expect(plan.warnings.join('\n')).toMatch(/no measured bandwidth for node 0/);
  });
});

describe('planInterleave: arguments', () => {
  it('rejects bad options with errors naming them', () => {
    const t = dramPlusCxl();
    expect(() => planInterleave(t, { nodes: [0, 5] })).toThrow(/options\.nodes: node 5/);
    expect(() => planInterleave(t, { nodes: [] })).toThrow(RangeError);
    expect(() => planInterleave(t, { nodes: [0, 0] })).toThrow(/twice/);
    expect(() => planInterleave(t, { initiatorNodes: [9] })).toThrow(/options\.initiatorNodes/);
    expect(() => planInterleave(t, { cpus: [99] })).toThrow(/CPU 99/);
    expect(() => planInterleave(t, { size: -1 })).toThrow(/options\.size/);
    expect(() => planInterleave(t, { maxWeight: 300 })).toThrow(/options\.maxWeight/);
    expect(() => planInterleave(t, { workload: 'fast' as never })).toThrow(/options\.workload/);
    expect(() => planInterleave(t, { measured: { 0: { readMBps: 0, writeMBps: 1 } } })).toThrow(/readMBps/);
  });

  it('HmsdkError ENODEV for a topology without memory nodes', () => {
    const t = topology([]);
    try {
      planInterleave(t);
      throw new Error('no throw');
    } catch (e) {
      expect(e).toBeInstanceOf(HmsdkError);
      expect((e as HmsdkError).code).toBe('ENODEV');
    }
  });

  it('single-node machine: weight 1, nothing to interleave', () => {
    const t = topology([node(0, { cpus: [0], access1: perf(50000, 90, [0]) })]);
    const plan = planInterleave(t);
    expect(plan.nodes).toEqual([0]);
    expect(plan.weights).toEqual([1]);
    expect(plan.predicted?.gainOverDramOnly).toBe(1);
  });
});
