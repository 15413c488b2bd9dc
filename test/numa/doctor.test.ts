/**
 * hmsdk doctor inside the VM, on whichever preset the VM booted (run it on
 * each: `hmsdk emulate --topology P --kernel all -- vitest ... doctor`).
 * The claims are checked against the kernel itself, as root: the tiers
 * against memory_tiering/, the inferred DAMOS migrate actions by creating a
 * scratch kdamond scheme and writing the action (the kernel refuses an
 * action it does not know), and the demotion / NUMA-balancing findings by
 * switching the knobs and reading the report again (restored after).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../src/topology/doctor';
import { topology } from '../../src/topology/current';
import { requireVm } from './helpers';

const bin = path.join(__dirname, '../../bin/hmsdk.js');
const TIERS = '/sys/devices/virtual/memory_tiering';
const DAMON = '/sys/kernel/mm/damon/admin/kdamonds';
const DEMOTION = '/sys/kernel/mm/numa/demotion_enabled';
const BALANCING = '/proc/sys/kernel/numa_balancing';
const read = (p: string) => fs.readFileSync(p, 'utf8').trim();

/** Whether the kernel accepts `action` for a DAMOS scheme: a scratch kdamond, removed after. */
function kernelAcceptsAction(action: string): boolean {
  expect(read(`${DAMON}/nr_kdamonds`), 'no kdamond of someone else').toBe('0');
  fs.writeFileSync(`${DAMON}/nr_kdamonds`, '1');
  try {
    fs.writeFileSync(`${DAMON}/0/contexts/nr_contexts`, '1');
    fs.writeFileSync(`${DAMON}/0/contexts/0/schemes/nr_schemes`, '1');
    try {
      fs.writeFileSync(`${DAMON}/0/contexts/0/schemes/0/action`, action);
      return read(`${DAMON}/0/contexts/0/schemes/0/action`) === action;
    } catch {
      return false;
    }
  } finally {
    fs.writeFileSync(`${DAMON}/nr_kdamonds`, '0');
  }
}

describe('hmsdk doctor in the VM', () => {
  const saved: [string, string][] = [];
  beforeAll(() => {
    requireVm();
    for (const f of [DEMOTION, BALANCING]) if (fs.existsSync(f)) saved.push([f, read(f)]);
  });
  afterAll(() => {
    for (const [f, v] of saved) fs.writeFileSync(f, v);
  });

  it('reports the kernel\'s tiers; all nodes in one tier with EXMEM present is the problem finding', () => {
    const r = diagnose();
    const onDisk = fs.existsSync(TIERS) ? fs.readdirSync(TIERS).filter((e) => /^memory_tier\d+$/.test(e)) : [];
    expect(r.tiers.map((t) => `memory_tier${t.id}`).sort()).toEqual(onDisk.sort());
    expect(r.kernel).toBe(read('/proc/sys/kernel/osrelease'));
    const exmem = topology().exmemNodes;
    const tiers = r.findings.filter((f) => f.topic === 'tiers');
    if (exmem.length > 0 && onDisk.length === 1) {
      expect(tiers[0]).toMatchObject({ id: 'tiers.single', severity: 'problem' });
    } else if (exmem.length > 0) {
      // Every EXMEM node in a tier of its own kind, or named in a problem finding.
      const mixed = r.tiers.filter((t) => t.types.includes('NORMAL') && t.types.includes('EXMEM'));
      expect(tiers.map((f) => f.id)).toEqual(mixed.length ? mixed.map(() => 'tiers.exmem-with-dram') : ['tiers.ok']);
    }
    // The emulator's 6.1 puts CPU-less nodes in the DRAM tier; 6.12 gives them their own when the
    // preset has HMAT figures (sparse-ids has none: one tier on 6.12 too).
    const hmat = ((JSON.parse(fs.readFileSync(process.env.HMSDK_EMULATE_PRESET ?? '', 'utf8')) as { hmat?: unknown[] }).hmat ?? []).length > 0;
    if (exmem.length > 0 && (process.env.HMSDK_EMULATE_KERNEL === '6.1' || !hmat)) expect(tiers[0]?.id).toBe('tiers.single');
    if (process.env.HMSDK_EMULATE_KERNEL === '6.12' && exmem.length > 0 && hmat) expect(tiers[0]?.id).toBe('tiers.ok');
  });

  it('the DAMOS migrate actions it reports are the ones the kernel accepts', () => {
    const r = diagnose();
    expect(r.damon.sysfs).toBe(fs.existsSync(DAMON));
    if (!r.damon.sysfs) {
      expect(r.findings.map((f) => f.id)).toContain('damon.absent');
      return;
    }
    expect(kernelAcceptsAction('migrate_hot')).toBe(r.damon.migrateActions);
    expect(kernelAcceptsAction('migrate_cold')).toBe(r.damon.migrateActions);
    expect(kernelAcceptsAction('stat')).toBe(true);
  });

  it('follows the demotion and NUMA-balancing knobs', () => {
    const multiTier = diagnose().findings.some((f) => f.id === 'tiers.ok');
    fs.writeFileSync(DEMOTION, 'true');
    fs.writeFileSync(BALANCING, '2');
    const on = diagnose();
    expect(on.demotion).toBe(true);
    expect(on.numaBalancing).toEqual({ value: 2, mode: 'tiering' });
    const ids = on.findings.map((f) => f.id);
    expect(ids).toContain(multiTier ? 'demotion.on' : 'demotion.no-target');
    expect(ids).toContain(multiTier ? 'numa-balancing.tiering' : 'numa-balancing.tiering-no-tiers');
    fs.writeFileSync(DEMOTION, 'false');
    fs.writeFileSync(BALANCING, '0');
    const off = diagnose().findings.map((f) => f.id);
    expect(off).toEqual(expect.arrayContaining(['demotion.off', 'numa-balancing.off']));
  });

  it('the command prints the same report (--json) and text with a fix line', () => {
    const json = spawnSync(process.execPath, [bin, 'doctor', '--json'], { encoding: 'utf8' });
    expect(json.status, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout) as ReturnType<typeof diagnose>;
    expect(r.findings.map((f) => f.id)).toEqual(diagnose().findings.map((f) => f.id));
    const text = spawnSync(process.execPath, [bin, 'doctor'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^ok +capacity: /m);
    process.stdout.write(text.stdout);
  });
});
