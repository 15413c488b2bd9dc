// Helpers for the in-VM placement suite: kernel-side evidence only.
import * as fs from 'node:fs';

/** Fail (never skip) when not inside the hmsdk VM. */
export function requireVm(): void {
  if (process.env.HMSDK_EMULATE !== '1') {
    throw new Error('the placement suite runs inside the VM: npm run test:numa (hmsdk emulate)');
  }
}

/** One /proc/self/numa_maps line, parsed. */
export interface NumaMapsEntry {
  address: string;
  policy: string;
  anon: number;
  pagesPerNode: Record<number, number>;
  pageKb: number;
}

/** Parse /proc/self/numa_maps. */
export function numaMaps(): NumaMapsEntry[] {
  return fs
    .readFileSync('/proc/self/numa_maps', 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [address = '', policy = '', ...rest] = line.split(' ');
      const e: NumaMapsEntry = { address, policy, anon: 0, pagesPerNode: {}, pageKb: 4 };
      for (const kv of rest) {
        const [k, v] = kv.split('=');
        if (k === 'anon') e.anon = Number(v);
        else if (k === 'kernelpagesize_kB') e.pageKb = Number(v);
        else if (k && /^N\d+$/.test(k)) e.pagesPerNode[Number(k.slice(1))] = Number(v);
      }
      return e;
    });
}

/**
 * The numa_maps entries with this policy whose anonymous page count is
 * exactly `pages` (our mappings are the only ones of that size and policy).
 */
export function findMapping(policy: string, pages: number): NumaMapsEntry[] {
  return numaMaps().filter((e) => e.policy === policy && e.anon === pages);
}
