// The topology reader on sysfs trees captured inside the QEMU VM
// (scripts/capture-sysfs.js, preset cxl-expander) from real Debian kernels
// 6.1 and 6.12: the reader must report exactly the preset.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTopology } from '../src/topology';

const preset = JSON.parse(fs.readFileSync(path.join(__dirname, '../presets/cxl-expander.json'), 'utf8'));

for (const kernel of ['6.1', '6.12']) {
  describe(`captured on Linux ${kernel} (preset cxl-expander)`, () => {
    const t = readTopology({ sysRoot: path.join(__dirname, `fixtures/sysfs/qemu-cxl-expander-${kernel}`), env: {} });

    it('nodes, CPU-less set and EXMEM classification match the preset', () => {
      expect(t.nodes.map((n) => n.id)).toEqual(preset.nodes.map((n: { id: number }) => n.id));
      expect(t.normalNodes).toEqual(preset.expect.normalNodes);
      expect(t.exmemNodes).toEqual(preset.expect.exmemNodes);
      expect(t.nodes.filter((n) => !n.hasCpu).map((n) => n.id)).toEqual(preset.expect.cpulessNodes);
      expect(t.exmemSource).toBe('cpuless');
      expect(t.nodes[0]!.cpus).toEqual([0, 1]);
    });

    it('HMAT figures are the preset\'s (MB/s and ns as sysfs prints them)', () => {
      for (const h of preset.hmat as { target: number; readLatencyNs: number; readBandwidthMBps: number }[]) {
        const n = t.nodes.find((x) => x.id === h.target)!;
        expect(n.access1?.readBandwidth).toBe(h.readBandwidthMBps);
        expect(n.access1?.readLatency).toBe(h.readLatencyNs);
        expect(n.access1?.initiators).toEqual([0]);
      }
      expect(t.warnings).toEqual([]);
    });

    it('distances and sizes', () => {
      expect(t.nodes[0]!.distances).toEqual({ 0: 10, 1: 20 });
      const memMiB = (id: number) => preset.nodes.find((n: { id: number }) => n.id === id).memMiB;
      for (const n of t.nodes) {
        expect(n.memTotal).toBeLessThanOrEqual(memMiB(n.id) * 2 ** 20);
        expect(n.memTotal).toBeGreaterThan(memMiB(n.id) * 2 ** 20 * 0.85);
      }
    });

    it('tiers and weighted interleave as the kernel has them', () => {
      if (kernel === '6.1') {
        // 6.1 has memory tiers but puts the CPU-less node in the DRAM tier; no weighted interleave.
        expect(t.weightedInterleave.available).toBe(false);
        expect(t.nodes.map((n) => n.tier)).toEqual([4, 4]);
      } else {
        // 6.12: the HMAT-slower node gets a lower tier; weighted interleave with weights 1.
        expect(t.weightedInterleave.available).toBe(true);
        expect(t.weightedInterleave.weights).toEqual({ 0: 1, 1: 1 });
        expect(t.nodes[0]!.tier).toBe(4);
        expect(t.nodes[1]!.tier).toBeGreaterThan(4);
      }
    });
  });
}
