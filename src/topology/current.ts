/**
 * The process's view of the machine: the topology, read once from sysfs by
 * the one reader (src/topology) and cached; meminfo figures that change are
 * re-read on demand. Tests and tools can point it at a fixture tree with
 * {@link setSysRoot} before first use.
 * @internal
 */
import { readTopology } from './read';
import type { Topology } from './types';

let cached: Topology | undefined;
let sysRoot = '/sys';

/** The cached topology (read on first call). @internal */
export function topology(): Topology {
  if (!cached) cached = readTopology({ sysRoot });
  return cached;
}

/** Drop the cached topology so the next call re-reads sysfs. @internal */
export function resetTopology(root?: string): void {
  if (root !== undefined) sysRoot = root;
  cached = undefined;
}
