/**
 * The public entry to the topology reader. src/topology reads sysfs and
 * trusts its options (the CLI and the SDK pass their own); callers of the
 * package get this wrapper, which validates `options` once into a snapshot
 * by the rules of ../util/validate.ts and hands the reader only that: a path
 * string and an environment holding the one variable it reads.
 */
import { readTopology as readTopologyFrom, type ReadTopologyOptions } from './read';
import type { Topology } from './types';
import { checkString, readOptions, readOwnProperty } from '../util/validate';

/** Longest sysfs root accepted (Linux PATH_MAX, less the terminating NUL). */
const MAX_PATH_CHARS = 4095;
/** Longest HMSDK_EXMEM_NODES value accepted (a node list of every id of 1024 nodes fits). */
const MAX_ENV_LIST_CHARS = 8192;

/**
 * Read the machine's NUMA topology from sysfs: nodes, their memory, CPUs,
 * distances, HMAT performance, memory tiers, CXL devices, and which nodes
 * are NORMAL (DRAM) or EXMEM (expander memory).
 *
 * @param options - `sysRoot` (default "/sys") and `env` (default `process.env`; only `HMSDK_EXMEM_NODES` is read)
 * @example
 * ```ts
 * const t = readTopology();
 * console.log(t.normalNodes, t.exmemNodes);
 * const fixture = readTopology({ sysRoot: 'test/fixtures/sysfs/cxl-expander/sys', env: {} });
 * ```
 * @throws TypeError / RangeError naming a bad option; HmsdkError `ECONFIG`
 *   when `HMSDK_EXMEM_NODES` names a node that is not an online memory node.
 */
export function readTopology(options?: ReadTopologyOptions): Topology {
  const o = readOptions('options', options, ['sysRoot', 'env']);
  const snapshot: ReadTopologyOptions = {};
  if (o.sysRoot !== undefined) snapshot.sysRoot = checkString('options.sysRoot', o.sysRoot, MAX_PATH_CHARS);
  if (o.env !== undefined) {
    // The reader consults nothing but HMSDK_EXMEM_NODES (an own property).
    const env = readOwnProperty('options.env', o.env, 'HMSDK_EXMEM_NODES');
    snapshot.env = { HMSDK_EXMEM_NODES: env === undefined ? undefined : checkString('options.env.HMSDK_EXMEM_NODES', env, MAX_ENV_LIST_CHARS) };
  }
  return readTopologyFrom(snapshot);
}
