// hmsdk doctor: the findings (topology/doctor.ts) on fixture trees — the
// captured QEMU trees of 6.1 (one tier) and 6.12 (two tiers), a hand-written
// one-tier tree with DAMON, a tree edited so that one EXMEM node shares the
// DRAM tier — and the command's flags and JSON.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnose, releaseVersion, selectedChoice, type DoctorReport } from '../src/topology/doctor';
import { hmsdk, repoRoot, sysfsFixtures } from './helpers/cli';

const procfs = path.join(repoRoot, 'test/fixtures/procfs');
const run = (sys: string, proc: string): DoctorReport => diagnose({ sysRoot: path.join(sysfsFixtures, sys), procRoot: path.join(procfs, proc) });
const finding = (r: DoctorReport, topic: string) => r.findings.filter((f) => f.topic === topic);
const ids = (r: DoctorReport) => r.findings.map((f) => f.id);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-doctor-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('diagnose', () => {
  it('6.1 in the emulator: both nodes in one tier is a problem, with the fix', () => {
    const r = run('qemu-cxl-expander-6.1', 'debian-6.1');
    expect(r.kernel).toBe('6.1.0-57-amd64');
    expect(r.tiers).toEqual([{ id: 4, nodes: [0, 1], types: ['NORMAL', 'EXMEM'], total: expect.any(Number), free: expect.any(Number) }]);
    const [t] = finding(r, 'tiers');
    expect(t?.id).toBe('tiers.single');
    expect(t?.severity).toBe('problem');
    expect(t?.meaning).toMatch(/never demotes/);
    expect(t?.fix).toMatch(/daxctl reconfigure-device --mode=system-ram/);
    expect(t?.fix).toMatch(/although HMAT describes it.*--kernel 6\.12/);
    // Demotion is off, but turning it on would not help: the finding says so.
    expect(finding(r, 'demotion')[0]?.meaning).toMatch(/no target/);
    expect(r.damon).toEqual({ sysfs: false, kdamonds: undefined, migrateActions: false, nodeMemGoals: false, vaddrMigrate: false, source: 'absent' });
    expect(ids(r)).toContain('damon.absent');
    expect(ids(r)).toContain('weighted-interleave.absent');
    expect(r.thp).toEqual({ enabled: 'always', defrag: 'madvise' });
  });

  it('6.12 in the emulator: two tiers; demotion and tiering-mode balancing are the fixes offered', () => {
    const r = run('qemu-cxl-expander-6.12', 'debian-6.12');
    expect(r.tiers.map((t) => [t.id, t.nodes, t.types])).toEqual([
      [4, [0], ['NORMAL']],
      [35, [1], ['EXMEM']],
    ]);
    expect(finding(r, 'tiers').map((f) => [f.id, f.severity])).toEqual([['tiers.ok', 'ok']]);
    expect(r.findings.some((f) => f.severity === 'problem')).toBe(false);
    const dem = finding(r, 'demotion')[0];
    expect([dem?.id, dem?.fix]).toEqual(['demotion.off', 'echo true | sudo tee /sys/kernel/mm/numa/demotion_enabled']);
    const nb = finding(r, 'numa-balancing')[0];
    expect([nb?.id, nb?.fix]).toEqual(['numa-balancing.normal', 'echo 2 | sudo tee /proc/sys/kernel/numa_balancing']);
    expect(r.numaBalancing).toEqual({ value: 1, mode: 'normal' });
    // No scheme exists, so the migrate actions are inferred from the release (6.12 >= 6.11).
    expect(r.damon).toEqual({ sysfs: true, kdamonds: 0, migrateActions: true, nodeMemGoals: false, vaddrMigrate: false, source: 'kernel-release' });
    expect(finding(r, 'damon')[0]?.meaning).toMatch(/paddr operations: whole nodes/);
  });

  it('capacity per tier is the sum of its nodes\' meminfo', () => {
    const r = run('qemu-cxl-expander-6.12', 'debian-6.12');
    for (const t of r.tiers) {
      const nodes = r.nodes.filter((n) => t.nodes.includes(n.id));
      expect(t.total).toBe(nodes.reduce((s, n) => s + n.total, 0));
      expect(t.free).toBe(nodes.reduce((s, n) => s + n.free, 0));
      expect(t.total).toBeGreaterThan(0);
    }
    expect(finding(r, 'capacity')[0]?.summary).toMatch(/^tier 4: .* total, .* free; tier 35: /);
  });

  it('one-tier fixture: demotion on but without a target; DAMON on an old release lacks migrate actions', () => {
    const r = run('one-tier', 'debian-6.1');
    expect(ids(r)).toEqual(expect.arrayContaining(['tiers.single', 'demotion.no-target', 'damon.no-migrate', 'thp.never']));
    const tiering = run('one-tier', 'tiering-6.16');
    expect(tiering.numaBalancing.mode).toBe('tiering');
    expect(ids(tiering)).toContain('numa-balancing.tiering-no-tiers');
    expect(tiering.damon).toMatchObject({ migrateActions: true, nodeMemGoals: true, vaddrMigrate: false, source: 'kernel-release' });
  });

  it('one tier without HMAT figures: the fix is HMAT or dax kmem, not a newer kernel', () => {
    const r = run('missing-hmat', 'debian-6.12');
    const [t] = finding(r, 'tiers');
    expect([t?.id, t?.severity]).toEqual(['tiers.single', 'problem']);
    expect(t?.fix).toMatch(/^the firmware gives no HMAT figures for node\(s\) 0, so no kernel can rank them: online the CXL memory through the dax kmem driver/);
  });

  it('an EXMEM node in the DRAM tier next to a separate slower tier is found by name', () => {
    const tree = path.join(tmp, 'mixed');
    fs.cpSync(path.join(sysfsFixtures, 'two-socket-cxl'), tree, { recursive: true });
    const tiers = path.join(tree, 'devices/virtual/memory_tiering');
    fs.writeFileSync(path.join(tiers, 'memory_tier4/nodelist'), '0-2\n');
    fs.writeFileSync(path.join(tiers, 'memory_tier22/nodelist'), '3\n');
    const r = diagnose({ sysRoot: tree, procRoot: path.join(procfs, 'debian-6.12') });
    const t = finding(r, 'tiers');
    expect(t.map((f) => [f.id, f.severity])).toEqual([['tiers.exmem-with-dram', 'problem']]);
    expect(t[0]?.summary).toBe('EXMEM node(s) 2 share memory_tier4 with DRAM node(s) 0-1');
    // The untouched tree has them apart.
    expect(ids(run('two-socket-cxl', 'debian-6.12'))).toContain('tiers.ok');
  });

  it('an existing DAMON scheme decides the migrate actions, not the release', () => {
    const tree = path.join(tmp, 'scheme');
    fs.cpSync(path.join(sysfsFixtures, 'qemu-cxl-expander-6.12'), tree, { recursive: true });
    const scheme = path.join(tree, 'kernel/mm/damon/admin/kdamonds/0/contexts/0/schemes/0');
    fs.mkdirSync(scheme, { recursive: true });
    fs.writeFileSync(path.join(tree, 'kernel/mm/damon/admin/kdamonds/nr_kdamonds'), '1\n');
    fs.writeFileSync(path.join(scheme, 'action'), 'stat\n');
    const old = diagnose({ sysRoot: tree, procRoot: path.join(procfs, 'tiering-6.16') });
    expect(old.damon).toMatchObject({ kdamonds: 1, migrateActions: false, source: 'scheme' });
    fs.writeFileSync(path.join(scheme, 'target_nid'), '0\n');
    const now = diagnose({ sysRoot: tree, procRoot: path.join(procfs, 'debian-6.1') });
    expect(now.damon).toMatchObject({ migrateActions: true, source: 'scheme' });
  });

  it('one node and no memory tiers: nothing to tier, no problem', () => {
    const one = run('one-node', 'debian-6.12');
    expect(ids(one)[0]).toBe('tiers.one-node');
    expect(one.findings.some((f) => f.topic === 'demotion' || f.topic === 'numa-balancing')).toBe(false);
    const none = run('kernel-6.1', 'debian-6.1');
    expect(finding(none, 'tiers')[0]?.id).toBe('tiers.none');
    expect(none.tiers).toEqual([]);
    expect(none.demotion).toBeUndefined();
  });

  it('every finding has a meaning; problems and notes with a fix name a command', () => {
    for (const [sys, proc] of [['qemu-cxl-expander-6.1', 'debian-6.1'], ['qemu-cxl-expander-6.12', 'debian-6.12'], ['one-tier', 'tiering-6.16'], ['two-socket-cxl', 'debian-6.1'], ['hbm', 'debian-6.12']] as const) {
      const r = run(sys, proc);
      expect(new Set(r.findings.map((f) => f.id)).size, sys).toBe(r.findings.length);
      for (const f of r.findings) {
        expect(f.meaning.length, `${sys} ${f.id}`).toBeGreaterThan(20);
        if (f.severity === 'problem') expect(f.fix, `${sys} ${f.id}`).toBeDefined();
      }
    }
  });

  it('parses choice files and releases', () => {
    expect(selectedChoice('always [madvise] never\n')).toBe('madvise');
    expect(selectedChoice('always defer defer+madvise [madvise] never')).toBe('madvise');
    expect(selectedChoice('garbage')).toBeUndefined();
    expect(releaseVersion('6.12.117+deb13-amd64')).toEqual([6, 12]);
    expect(releaseVersion('weird')).toBeUndefined();
  });
});

describe('hmsdk doctor', () => {
  const sys = path.join(sysfsFixtures, 'qemu-cxl-expander-6.1');
  const proc = path.join(procfs, 'debian-6.1');

  it('prints each finding with its meaning and fix; --strict exits 1 on a problem', () => {
    const r = hmsdk('doctor', '--sys-root', sys, '--proc-root', proc);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^kernel 6\.1\.0-57-amd64$/m);
    expect(r.out).toMatch(/^problem tiers: all 2 memory nodes \(0-1\) are in one memory tier \(memory_tier4\)$/m);
    expect(r.out).toMatch(/^ +fix: echo true \| sudo tee \/sys\/kernel\/mm\/numa\/demotion_enabled$/m);
    expect(r.out).toMatch(/^1 problem\(s\), \d+ note\(s\)$/m);
    expect(hmsdk('doctor', '--strict', '--sys-root', sys, '--proc-root', proc).code).toBe(1);
    const fine = path.join(sysfsFixtures, 'qemu-cxl-expander-6.12');
    expect(hmsdk('doctor', '--strict', '--sys-root', fine, '--proc-root', path.join(procfs, 'debian-6.12')).code).toBe(0);
  });

  it('--json is the report', () => {
    const r = hmsdk('doctor', '--json', '--sys-root', sys, '--proc-root', proc);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual(JSON.parse(JSON.stringify(diagnose({ sysRoot: sys, procRoot: proc }))));
  });

  it('bad flags and paths are usage errors', () => {
    for (const args of [['doctor', 'x'], ['doctor', '--proc-root', path.join(tmp, 'nope')], ['doctor', '--sys-root', __filename], ['doctor', '--bogus']]) {
      const r = hmsdk(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });

  it('runs on this machine', () => {
    const r = hmsdk('doctor', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).findings.length).toBeGreaterThan(1);
  });
});
