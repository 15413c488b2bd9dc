/**
 * First test of the in-VM suite: the VM really has the topology of its
 * preset. Reads sysfs directly (not through the SDK) so that a broken
 * emulator cannot hide behind a broken reader. Runs only inside
 * `hmsdk emulate`; anywhere else it fails, it is never skipped.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

const NODE = '/sys/devices/system/node';
const inVm = process.env.HMSDK_EMULATE === '1';

interface Preset {
  nodes: { id: number; cpus: number | number[]; offline?: boolean }[];
  distances?: number[][];
  hmat?: { target: number; readLatencyNs: number; readBandwidthMBps: number; writeLatencyNs?: number; writeBandwidthMBps?: number }[];
  expect: { cpulessNodes: number[] };
}

function ids(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.push(i);
  }
  return out;
}
const read = (p: string): string => fs.readFileSync(p, 'utf8').trim();

describe('emulated NUMA topology', () => {
  it('runs inside hmsdk emulate', () => {
    expect(inVm, 'this suite only runs in the VM: npm run test:numa (hmsdk emulate -- vitest run --config vitest.numa.config.ts)').toBe(true);
    expect(process.env.HMSDK_EMULATE_PRESET, 'HMSDK_EMULATE_PRESET').toBeTruthy();
    expect(['6.1', '6.12']).toContain(process.env.HMSDK_EMULATE_KERNEL);
  });

  const preset = (): Preset => JSON.parse(fs.readFileSync(process.env.HMSDK_EMULATE_PRESET ?? '/nonexistent', 'utf8')) as Preset;

  it('has the preset nodes online, offline ones only possible', () => {
    const p = preset();
    const online = p.nodes.filter((n) => !n.offline).map((n) => n.id).sort((a, b) => a - b);
    const all = p.nodes.map((n) => n.id).sort((a, b) => a - b);
    expect(ids(read(`${NODE}/online`))).toEqual(online);
    expect(ids(read(`${NODE}/possible`))).toEqual(all);
    const cpuless = online.filter((id) => !ids(read(`${NODE}/has_cpu`)).includes(id));
    expect(cpuless).toEqual(p.expect.cpulessNodes);
    for (const id of p.expect.cpulessNodes) expect(read(`${NODE}/node${id}/cpulist`)).toBe('');
  });

  it('has the preset SLIT distances', () => {
    const p = preset();
    const online = p.nodes.map((n, i) => ({ n, i })).filter(({ n }) => !n.offline);
    for (const { n, i } of online) {
      const want = online.map(({ n: m, i: j }) => (p.distances ? p.distances[i]![j]! : n.id === m.id ? 10 : 20));
      expect(read(`${NODE}/node${n.id}/distance`).split(/\s+/).map(Number), `node${n.id}/distance`).toEqual(want);
    }
  });

  it('has the preset HMAT figures in access0 (best initiator; MB/s and ns as given)', () => {
    const p = preset();
    const hmat = p.hmat ?? [];
    for (const n of p.nodes.filter((x) => !x.offline)) {
      const dir = `${NODE}/node${n.id}/access0/initiators`;
      const mine = hmat.filter((h) => h.target === n.id);
      if (mine.length === 0) {
        expect(fs.existsSync(dir), `${dir} exists without HMAT figures`).toBe(false);
        continue;
      }
      const min = (f: (h: (typeof mine)[number]) => number): number => Math.min(...mine.map(f));
      const max = (f: (h: (typeof mine)[number]) => number): number => Math.max(...mine.map(f));
      expect(Number(read(`${dir}/read_latency`)), `${dir}/read_latency`).toBe(min((h) => h.readLatencyNs));
      expect(Number(read(`${dir}/read_bandwidth`)), `${dir}/read_bandwidth`).toBe(max((h) => h.readBandwidthMBps));
      expect(Number(read(`${dir}/write_latency`)), `${dir}/write_latency`).toBe(min((h) => h.writeLatencyNs ?? h.readLatencyNs));
      expect(Number(read(`${dir}/write_bandwidth`)), `${dir}/write_bandwidth`).toBe(max((h) => h.writeBandwidthMBps ?? h.readBandwidthMBps));
    }
  });

  it('has weighted interleave exactly on kernels that support it (6.9+)', () => {
    const wi = '/sys/kernel/mm/mempolicy/weighted_interleave';
    const kernel = process.env.HMSDK_EMULATE_KERNEL;
    expect(fs.existsSync(wi), `${wi} on Linux ${kernel}`).toBe(kernel === '6.12');
    expect(read('/proc/sys/kernel/osrelease').startsWith(`${kernel}.`), 'running kernel matches HMSDK_EMULATE_KERNEL').toBe(true);
  });

  it('can write results to HMSDK_EMULATE_OUT', () => {
    const out = process.env.HMSDK_EMULATE_OUT ?? '/nonexistent';
    fs.writeFileSync(`${out}/vm-smoke.txt`, `${read(`${NODE}/online`)}\n`);
    expect(read(`${out}/vm-smoke.txt`)).toBe(read(`${NODE}/online`));
  });
});
