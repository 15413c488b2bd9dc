// Helpers for the in-VM placement suite: kernel-side evidence only.
import { readNumaMaps, type NumaMapping } from '../../src/numa-maps';

/** Fail (never skip) when not inside the hmsdk VM. */
export function requireVm(): void {
  if (process.env.HMSDK_EMULATE !== '1') {
    throw new Error('the placement suite runs inside the VM: npm run test:numa (hmsdk emulate)');
  }
}

/**
 * The /proc/self/numa_maps entries with this policy whose anonymous page
 * count is exactly `pages` (our mappings are the only ones of that size and
 * policy).
 */
export function findMapping(policy: string, pages: number): NumaMapping[] {
  return readNumaMaps('self').filter((e) => e.policy === policy && e.anon === pages);
}
