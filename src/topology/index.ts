/**
 * Topology: the SDK's one sysfs reader and its data model.
 *
 * Kept deliberately small (node:fs, the error class and the kernel-file
 * reader only) because `hmsdk stats` imports it on its start-up path.
 */
export type { MemType, NodePerf, Tier, NumaNode, Topology, WeightedInterleaveInfo } from './types';
export { readTopology, readNodeMemory, nodeIdsOf } from './read';
export type { ReadTopologyOptions, NodeMemory } from './read';
export { parseNodeList, formatNodeList, parseMeminfo, readText, readInt, readList, listDir, listDirIfExists, MAX_LIST_ID } from './sysfs';
