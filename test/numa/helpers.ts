// Helpers for the in-VM placement suite: kernel-side evidence only.
import { expect } from 'vitest';
import { topology } from '../../src/topology/current';
import { readNumaMaps } from '../../src/topology/numa-maps';

/** Fail (never skip) when not inside the hmsdk VM. */
export function requireVm(): void {
  if (process.env.HMSDK_EMULATE !== '1') {
    throw new Error('the placement suite runs inside the VM: npm run test:numa (hmsdk emulate)');
  }
}

/** Inside the VM: the first EXMEM and NORMAL node ids of the preset (which must have an EXMEM node). */
export function vmTierNodes(): { exmem: number; normal: number } {
  requireVm();
  const t = topology();
  expect(t.exmemNodes.length, 'the preset has an EXMEM node').toBeGreaterThan(0);
  return { exmem: t.exmemNodes[0] as number, normal: t.normalNodes[0] as number };
}

/**
 * Resident pages per node over all of this process's mappings whose
 * numa_maps policy is one of `policies` ("bind:1", "weighted interleave:0-1"...).
 * Adjacent mappings with the same policy merge into one VMA, so tests compare
 * this sum before and after their own allocation rather than look for one line.
 */
export function pagesUnderPolicy(...policies: string[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const m of readNumaMaps('self')) {
    if (!policies.includes(m.policy)) continue;
    for (const [n, p] of Object.entries(m.pages)) out[Number(n)] = (out[Number(n)] ?? 0) + p;
  }
  return out;
}

/** Per-node difference after - before. */
export function delta(after: Record<number, number>, before: Record<number, number>): Record<number, number> {
  const out: Record<number, number> = {};
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)].map(Number))) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}
