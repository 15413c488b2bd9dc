// Memory use per node and tier (src/topology/usage.ts), what `hmsdk stats` prints,
// on fixture topologies and numa_maps text.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTopology } from '../src/topology';
import { parseNumaMaps } from '../src/topology/numa-maps';
import { processStats, systemStats } from '../src/topology/usage';

const two = readTopology({ sysRoot: resolve(__dirname, 'fixtures/sysfs/two-socket-cxl'), env: {} }); // NORMAL 0,1; EXMEM 2,3

describe('systemStats', () => {
  it('one row per memory node from meminfo; tiers and total are sums of the rows', () => {
    const s = systemStats(two);
    expect(s.nodes.map((n) => [n.id, n.tier])).toEqual([[0, 'NORMAL'], [1, 'NORMAL'], [2, 'EXMEM'], [3, 'EXMEM']]);
    for (const n of s.nodes) expect(n.inUse).toBe(n.total - n.free);
    expect(s.nodes[2]!.cpus).toBe('-');
    expect(s.tiers.EXMEM.nodes).toEqual([2, 3]);
    expect(s.tiers.NORMAL.total + s.tiers.EXMEM.total).toBe(s.total.total);
    expect(s.total.free).toBe(s.nodes.reduce((a, n) => a + n.free, 0));
  });
});

describe('processStats', () => {
  const maps = parseNumaMaps(
    [
      '7f00 bind:2 anon=256 N2=256 kernelpagesize_kB=4',
      '5500 default heap anon=10 N0=10 kernelpagesize_kB=4',
      '7e00 default file=/lib/x.so mapped=4 N1=4 kernelpagesize_kB=4',
      '7d00 default huge anon=1 N3=1 kernelpagesize_kB=2048',
      '7c00 default anon=3 N9=3 kernelpagesize_kB=4',
    ].join('\n'),
  );
  it('bytes per node split by kind, per tier, in total; a node the topology lacks is listed (as NORMAL)', () => {
    const p = processStats(two, 1, maps);
    expect(p.pid).toBe(1);
    expect(p.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3, 9]);
    expect(p.nodes.find((n) => n.id === 2)).toMatchObject({ tier: 'EXMEM', anon: 256 * 4096, total: 256 * 4096 });
    expect(p.nodes.find((n) => n.id === 0)).toMatchObject({ heap: 10 * 4096 });
    expect(p.nodes.find((n) => n.id === 1)).toMatchObject({ file: 4 * 4096 });
    expect(p.nodes.find((n) => n.id === 3)).toMatchObject({ huge: 2 ** 21 });
    expect(p.nodes.find((n) => n.id === 9)).toMatchObject({ tier: 'NORMAL', anon: 3 * 4096 });
    expect(p.tiers).toEqual({ NORMAL: (10 + 4 + 3) * 4096, EXMEM: 256 * 4096 + 2 ** 21 });
    expect(p.total).toBe(p.tiers.NORMAL + p.tiers.EXMEM);
  });
});
