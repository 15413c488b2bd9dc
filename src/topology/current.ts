/**
 * The process's view of the machine: the topology, read once from sysfs by
 * the one reader (src/topology) and cached; meminfo figures that change are
 * re-read on demand. Pure code takes a
 * Topology argument instead (tests pass fixture trees read with
 * `readTopology({ sysRoot })`).
 * @internal
 */
import { readTopology } from './read';
import type { Topology } from './types';

let cached: Topology | undefined;

/** The cached topology (read on first call). @internal */
export function topology(): Topology {
  if (!cached) cached = readTopology({ sysRoot: '/sys' });
  return cached;
}
