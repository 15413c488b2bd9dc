// The hmsdk binary, run for real (bin/hmsdk.js over dist/), on fixture sysfs
// trees and on this machine.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');
const fixtures = path.join(root, 'test/fixtures/sysfs');

function hmsdk(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/hmsdk.js'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('hmsdk stats', () => {
  it('prints nodes, tiers and a total row on this machine', () => {
    const r = hmsdk('stats');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^NODE\s+TIER\s+CPUS\s+TOTAL\s+USED\s+FREE\s+USE%/);
    expect(r.out).toMatch(/^tier\s+NORMAL/m);
    expect(r.out).toMatch(/^tier\s+EXMEM/m);
    expect(r.out).toMatch(/^total\s+\d/m);
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
      expect(n.used + n.free).toBe(n.total);
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
