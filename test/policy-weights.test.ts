import { describe, expect, it } from 'vitest';
import { gcdOf, reduceWeights, shareError, weightShares, type WeightMethod } from '../src/policy/weights';
import { optimalSplit, predictBandwidth, splitLatency, linkBandwidth } from '../src/policy/model';
import { capSplit, nodeReserve, availableBytes } from '../src/policy/capacity';
import { rng } from './helpers/rng';


/** Every weight vector of length n with entries >= 1 summing to `sum`. */
function* compositions(n: number, sum: number): Generator<number[]> {
  if (n === 1) {
    yield [sum];
    return;
  }
  for (let first = 1; first <= sum - (n - 1); first++) for (const rest of compositions(n - 1, sum - first)) yield [first, ...rest];
}

describe('reduceWeights: 204800:64 GiB-class DRAM + CXL', () => {
  const bw = [204800, 65536];
  // ideal DRAM share = 204800 / 270336 = 0.757575…

  it("'exact' (default) gives 3:1, error 0.76 pp", () => {
    const r = reduceWeights(bw);
    // 1:1 is 25.8 pp off, 2:1 is 9.1 pp off, 3:1 (sum 4) is 0.76 pp off: first within 1 pp.
    expect(r.weights).toEqual([3, 1]);
    expect(r.error).toBeCloseTo((204800 / 270336 - 0.75) * 100, 10);
    expect(r.error).toBeCloseTo(0.7576, 3);
  });

  it("'kernel-auto' reproduces floor(32·share) then GCD: 24:7", () => {
    // 32·0.7576 = 24.24 → 24; 32·0.2424 = 7.76 → 7; gcd(24, 7) = 1.
    const r = reduceWeights(bw, { method: 'kernel-auto' });
    expect(r.weights).toEqual([24, 7]);
    expect(r.error).toBeCloseTo((24 / 31 - 204800 / 270336) * 100, 10);
  });

  it("'hmsdk' halves to 6.25:2, rounds to 6:2, divides by 2: 3:1", () => {
    expect(reduceWeights(bw, { method: 'hmsdk' }).weights).toEqual([3, 1]);
  });
});

describe("reduceWeights 'hmsdk' matches HMSDK iw_ratio.py", () => {
  // Expected values from running HMSDK tools/iw_ratio.py get_iw_ratio() with python3.
  it('stops halving before a value would drop to <= 1 (1000:3 → 500:1.5 → 500:2 → 250:1)', () => {
    expect(reduceWeights([1000, 3], { method: 'hmsdk' }).weights).toEqual([250, 1]);
  });
  it('rounds half to even like Python (25:10 → 6.25:2.5 → 6:2 → 3:1, not 2:1)', () => {
    expect(reduceWeights([25, 10], { method: 'hmsdk' }).weights).toEqual([3, 1]);
  });
  it('three nodes 204800:65536:32768 → 6:2:1', () => {
    expect(reduceWeights([204800, 65536, 32768], { method: 'hmsdk' }).weights).toEqual([6, 2, 1]);
  });
  it('300000:120000:45000 → 9:4:1', () => {
    expect(reduceWeights([300000, 120000, 45000], { method: 'hmsdk' }).weights).toEqual([9, 4, 1]);
  });
  it('scales down above max (our addition): 1000:3 with max 100 keeps ratio ≈ 250:1 → 100:1 is the best within 100', () => {
    const r = reduceWeights([1000, 3], { method: 'hmsdk', max: 100 });
    expect(Math.max(...r.weights)).toBeLessThanOrEqual(100);
    expect(r.weights).toEqual([100, 1]);
  });
});

describe("reduceWeights 'kernel-auto'", () => {
  it('divides by the GCD: equal bandwidth 16:16 → 1:1', () => {
    expect(reduceWeights([100, 100], { method: 'kernel-auto' }).weights).toEqual([1, 1]);
  });
  it('a node under 1/32 of the total still gets 1', () => {
    // 32·1/1001 < 1 → 1; 32·1000/1001 = 31.97 → 31.
    expect(reduceWeights([1000, 1], { method: 'kernel-auto' }).weights).toEqual([31, 1]);
  });
  it('three nodes 204800:65536:32768 → 21:6:3 → 7:2:1', () => {
    expect(reduceWeights([204800, 65536, 32768], { method: 'kernel-auto' }).weights).toEqual([7, 2, 1]);
  });
});

describe("reduceWeights 'exact'", () => {
  it('three nodes 204800:65536:32768 → 6:2:1 (sum 9 is the first within 1 pp)', () => {
    const r = reduceWeights([204800, 65536, 32768]);
    expect(r.weights).toEqual([6, 2, 1]);
    expect(r.error).toBeLessThanOrEqual(1);
  });

  it('respects max: with max 2, 2:1 is the best for 204800:65536', () => {
    expect(reduceWeights([204800, 65536], { max: 2 }).weights).toEqual([2, 1]);
  });

  it('respects capShares: DRAM capped at 21 % → 1:4', () => {
    const r = reduceWeights([0.21, 0.79], { capShares: [0.21, 1] });
    expect(weightShares(r.weights)[0]).toBeLessThanOrEqual(0.21);
    expect(r.weights).toEqual([1, 4]);
  });

  it('property: the chosen sum is the smallest with a vector within tolerance (brute force, n = 2..3)', () => {
    const rand = rng(7);
    for (let iter = 0; iter < 150; iter++) {
      const n = 2 + Math.floor(rand() * 2);
      const values = Array.from({ length: n }, () => 1 + Math.floor(rand() * 300000));
      const ideal = values.map((v) => v / values.reduce((a, b) => a + b, 0));
      const tolerance = [0.5, 1, 2][iter % 3] as number;
      const r = reduceWeights(values, { tolerance, maxSum: 40 });
      const sum = r.weights.reduce((a, b) => a + b, 0);
      expect(r.error).toBeCloseTo(shareError(r.weights, ideal), 12);
      // Best achievable error at each sum, by brute force.
      const bestAt = (s: number): number => Math.min(...[...compositions(n, s)].map((w) => shareError(w, ideal)));
      if (r.error <= tolerance + 1e-9) {
        for (let s = n; s < sum; s++) expect(bestAt(s)).toBeGreaterThan(tolerance);
        // and the greedy apportionment is optimal at its sum
        expect(r.error).toBeCloseTo(bestAt(sum), 9);
      } else {
        // nothing within tolerance up to 40: the result is the overall best
        let best = Infinity;
        for (let s = n; s <= 40; s++) best = Math.min(best, bestAt(s));
        expect(r.error).toBeCloseTo(best, 9);
      }
    }
  });
});

describe('reduceWeights invariants (all methods)', () => {
  const methods: WeightMethod[] = ['exact', 'kernel-auto', 'hmsdk'];
  it('integers in 1..max, error = max share deviation, for random vectors', () => {
    const rand = rng(42);
    for (let iter = 0; iter < 600; iter++) {
      const n = 1 + Math.floor(rand() * 6);
      const values: number[] = Array.from({ length: n }, () => (rand() < 0.1 ? 0 : rand() * 10 ** (1 + rand() * 5)));
      if (!values.some((v) => v > 0)) values[0] = 1;
      const max = [255, 32, 10, 3][iter % 4] as number;
      const method = methods[iter % 3] as WeightMethod;
      const { weights, error } = reduceWeights(values, { method, max });
      expect(weights).toHaveLength(n);
      for (const w of weights) {
        expect(Number.isInteger(w)).toBe(true);
        expect(w).toBeGreaterThanOrEqual(1);
        expect(w).toBeLessThanOrEqual(max);
      }
      const total = values.reduce((a, b) => a + b, 0);
      expect(error).toBeCloseTo(shareError(weights, values.map((v) => v / total)), 12);
      // All three reduce by the GCD ('exact': a common factor would mean a smaller sum with the same shares).
      expect(gcdOf(weights)).toBe(1);
    }
  });

  it('rejects bad input with errors naming the argument', () => {
    expect(() => reduceWeights([])).toThrow(RangeError);
    expect(() => reduceWeights([0, 0])).toThrow(/values/);
    expect(() => reduceWeights([1, -1])).toThrow(/values\[1\]/);
    expect(() => reduceWeights([1, Number.NaN])).toThrow(RangeError);
    expect(() => reduceWeights([1, 2], { max: 0 })).toThrow(/opts\.max/);
    expect(() => reduceWeights([1, 2], { max: 256 })).toThrow(RangeError);
    expect(() => reduceWeights([1, 2], { method: 'nope' as WeightMethod })).toThrow(/opts\.method/);
    expect(() => reduceWeights('12' as unknown as number[])).toThrow(TypeError);
  });

  it('a zero value still gets weight 1 (the kernel has no weight 0)', () => {
    for (const method of methods) expect(reduceWeights([5, 0], { method }).weights[1]).toBe(1);
  });
});

describe('model', () => {
  it('min-link: the slowest relative link bounds the aggregate', () => {
    expect(predictBandwidth([204800, 65536], [0.75, 0.25]).aggregateMBps).toBe(262144);
    expect(predictBandwidth([204800, 65536], [0.75, 0.25]).bottleneck).toBe(1);
    expect(predictBandwidth([204800, 65536], [0.5, 0.5]).aggregateMBps).toBe(131072);
    expect(predictBandwidth([204800, 65536], [1, 0]).aggregateMBps).toBe(204800);
    // split is normalised: weights 3:1 work as well
    expect(predictBandwidth([204800, 65536], [3, 1]).aggregateMBps).toBe(262144);
  });

  it('optimal split reaches Σ B, and no random split beats it', () => {
    const bw = [204800, 65536, 32768];
    const s = optimalSplit(bw);
    expect(predictBandwidth(bw, s).aggregateMBps).toBeCloseTo(303104, 6);
    const rand = rng(3);
    for (let i = 0; i < 200; i++) {
      const split = bw.map(() => rand());
      expect(predictBandwidth(bw, split).aggregateMBps).toBeLessThanOrEqual(303104 + 1e-6);
    }
  });

  it('perNodeMBps are the link loads at the aggregate, the bottleneck link at its bandwidth', () => {
    const p = predictBandwidth([204800, 65536], [0.75, 0.25]);
    expect(p.perNodeMBps[1]).toBeCloseTo(65536, 9);
    expect(p.perNodeMBps[0]).toBeCloseTo(196608, 9);
  });

  it('latency of a split is the weighted average', () => {
    expect(splitLatency([100, 250], [0.75, 0.25])).toBe(137.5);
  });

  it('workload picks the figure', () => {
    const f = { read: 200, write: 100 };
    expect(linkBandwidth(f, 'read-heavy')).toBe(200);
    expect(linkBandwidth(f, 'write-heavy')).toBe(100);
    expect(linkBandwidth(f, 'mixed')).toBe(100);
    // half the bytes each way: 1 / (0.5/200 + 0.5/100) = 133.33
    expect(linkBandwidth(f, 'mixed', 0.5)).toBeCloseTo(400 / 3, 9);
    expect(linkBandwidth({ read: 200, write: undefined }, 'write-heavy')).toBe(200);
    expect(() => linkBandwidth(f, 'mixed', 2)).toThrow(/readFraction/);
  });

  it('rejects mismatched inputs', () => {
    expect(() => predictBandwidth([1, 2], [1])).toThrow(/split/);
    expect(() => predictBandwidth([0, 2], [1, 1])).toThrow(/bandwidthsMBps\[0\]/);
    expect(() => optimalSplit([0, 0])).toThrow(RangeError);
  });
});

describe('capacity', () => {
  it('reserve is max(64 MiB, 2 % of memTotal)', () => {
    expect(nodeReserve({ memTotal: 1024 * 2 ** 20 })).toBe(64 * 2 ** 20);
    expect(nodeReserve({ memTotal: 100 * 2 ** 30 })).toBeCloseTo(2 * 2 ** 30, 0);
    expect(availableBytes({ memTotal: 1024 * 2 ** 20, memFree: 32 * 2 ** 20 })).toBe(0);
  });
  it('water-filling keeps the ratio among uncapped nodes', () => {
    const r = capSplit([0.6, 0.3, 0.1], [0.2, 1, 1]);
    expect(r.fits).toBe(true);
    expect(r.shares[0]).toBeCloseTo(0.2, 12);
    expect((r.shares[1] ?? 0) / (r.shares[2] ?? 1)).toBeCloseTo(3, 12);
    expect(r.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
  it('reports when the caps cannot hold the allocation', () => {
    const r = capSplit([0.5, 0.5], [0.3, 0.2]);
    expect(r.fits).toBe(false);
    expect(r.shares[0]).toBeCloseTo(0.6, 12);
  });
});
