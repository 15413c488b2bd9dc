// The hmsdk binary, run for real (bin/hmsdk.js over dist/), on fixture sysfs
// trees and on this machine.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hmsdk, sysfsFixtures as fixtures } from './helpers/cli';

describe('hmsdk stats', () => {
  it('prints nodes, tiers and a total row on this machine', () => {
    const r = hmsdk('stats');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^NODE\s+TIER\s+CPUS\s+TOTAL\s+USED\s+FREE\s+USE%/);
    expect(r.out).toMatch(/^tier\s+NORMAL/m);
    expect(r.out).toMatch(/^tier\s+EXMEM/m);
    expect(r.out).toMatch(/^total\s+\d/m);
    // eslint-disable-next-line no-control-regex -- looks for an ANSI escape
    expect(r.out).not.toMatch(/\x1b\[/); // no colour when not a TTY
  });

  it('--json on a two-socket CXL fixture: schema and sums', () => {
    const r = hmsdk('stats', '--json', '--sys-root', path.join(fixtures, 'two-socket-cxl'));
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.nodes.map((n: { id: number }) => n.id)).toEqual([0, 1, 2, 3]);
    expect(s.tiers.EXMEM.nodes).toEqual([2, 3]);
    expect(s.tiers.NORMAL.nodes).toEqual([0, 1]);
    for (const n of s.nodes) {
      expect(n.inUse + n.free).toBe(n.total);
      expect(typeof n.cpus).toBe('string');
    }
    expect(s.total.total).toBe(s.tiers.NORMAL.total + s.tiers.EXMEM.total);
  });

  it('-p PID reads the process numa_maps', () => {
    const r = hmsdk('stats', '-p', String(process.pid), '--json');
    expect(r.code).toBe(0);
    const p = JSON.parse(r.out);
    expect(p.pid).toBe(process.pid);
    expect(p.total).toBeGreaterThan(1 << 20);
    expect(p.tiers.NORMAL + p.tiers.EXMEM).toBe(p.total);
  });

  it('user errors: one line, exit 2, no stack trace', () => {
    for (const args of [['stats', '--bogus'], ['stats', '--watch', 'x'], ['stats', 'extra'], ['nope']]) {
      const r = hmsdk(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).not.toMatch(/at .*\.js/);
    }
    // a value the preload library would refuse is refused by hmsdk run first (its own parser)
    const stripe = hmsdk('run', '--nodes', '0', '--weighted', '0:1', '--stripe', '1000', '--', 'true');
    expect(stripe.code).toBe(2);
    expect(stripe.err.trim().split('\n')).toHaveLength(1);
    expect(stripe.err).toMatch(/bad value '1000' for key 'stripe'/);
    const r = hmsdk('stats', '-p', '999999999');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no process 999999999/);
  });

  it('--help has examples, exit 0', () => {
    const r = hmsdk('stats', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/examples:/);
  });
});

describe('hmsdk topology', () => {
  it('explains the EXMEM classification on a fixture', () => {
    const r = hmsdk('topology', '--sys-root', path.join(fixtures, 'cxl-expander'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/node 1 EXMEM: CPU-less/);
    expect(r.out).toMatch(/distances/);
  });

  it('--json is the Topology object', () => {
    const r = hmsdk('topology', '--json', '--sys-root', path.join(fixtures, 'non-contiguous'));
    expect(r.code).toBe(0);
    const t = JSON.parse(r.out);
    expect(Array.isArray(t.nodes)).toBe(true);
    expect(t.exmemNodes.length).toBeGreaterThan(0);
  });
});

describe('hmsdk weights', () => {
  it('HMAT 200:64 GB/s fixture -> 3:1 with the predicted gain', () => {
    const r = hmsdk('weights', '--json', '--sys-root', path.join(fixtures, 'cxl-expander'));
    expect(r.code).toBe(0);
    const { plan, system } = JSON.parse(r.out);
    expect(plan.nodes).toEqual([0, 1]);
    expect(plan.weights).toEqual([3, 1]);
    expect(plan.predicted.aggregateMBps).toBeGreaterThan(plan.predicted.dramOnlyMBps);
    expect(system.writes.map((w: { value: number }) => w.value)).toEqual([3, 1]);
  });

  it('--apply writes the kernel files of a (copied) sysfs tree', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-sys-'));
    fs.cpSync(path.join(fixtures, 'cxl-expander'), dir, { recursive: true });
    const r = hmsdk('weights', '--apply', '--sys-root', dir);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/applied 2 write/);
    const wi = path.join(dir, 'kernel/mm/mempolicy/weighted_interleave');
    expect(fs.readFileSync(path.join(wi, 'node0'), 'utf8').trim()).toBe('3');
    expect(fs.readFileSync(path.join(wi, 'node1'), 'utf8').trim()).toBe('1');
    fs.rmSync(dir, { recursive: true });
  });

  it('--from-bench uses measured bandwidth; a bad file is one clear line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-bench-'));
    const file = path.join(dir, 'bench.json');
    fs.writeFileSync(file, JSON.stringify({ version: 1, nodes: [{ node: 0, readMBps: 100000, writeMBps: 100000 }, { node: 1, readMBps: 100000, writeMBps: 100000 }] }));
    const r = hmsdk('weights', '--json', '--from-bench', file, '--sys-root', path.join(fixtures, 'cxl-expander'));
    expect(r.code, r.err).toBe(0);
    const { plan } = JSON.parse(r.out);
    expect(plan.source).toBe('measured');
    expect(plan.weights).toEqual([1, 1]);
    fs.writeFileSync(file, '{"nope":1}');
    const bad = hmsdk('weights', '--from-bench', file);
    expect(bad.code).toBe(1);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
    fs.rmSync(dir, { recursive: true });
  });

  it('kernel without weighted interleave: --apply is ENOTSUP, exit 1', () => {
    const r = hmsdk('weights', '--apply', '--sys-root', path.join(fixtures, 'kernel-6.1'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ENOTSUP/);
  });
});

describe('hmsdk bench', () => {
  it('measures each node with SDK buffers and writes JSON for weights', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-bench-'));
    const file = path.join(dir, 'b.json');
    const r = hmsdk('bench', '--size', '16MiB', '--repeats', '1', '--out', file);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/READ MB\/s/);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(doc.nodes.length).toBeGreaterThan(0);
    for (const n of doc.nodes) {
      expect(n.readMBps).toBeGreaterThan(100);
      expect(n.writeMBps).toBeGreaterThan(100);
      expect(n.latencyNs).toBeGreaterThan(1);
    }
    expect(hmsdk('bench', '--size', '1K').code).toBe(2);
    fs.rmSync(dir, { recursive: true });
  });
});
