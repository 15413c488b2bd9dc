/**
 * The SMDK-compatible API (`s_*`), for code ported from Samsung SMDK's C
 * allocator. Same names and argument order; JavaScript semantics:
 *
 * - `type` is `'NORMAL'` (DRAM) or `'EXMEM'` (CXL / expander memory),
 *   also exported as `SMDK_MEM_NORMAL` / `SMDK_MEM_EXMEM`.
 * - Allocation returns a Buffer (never NULL): failures throw. `s_malloc`
 *   memory is not zeroed (like malloc); `s_calloc` is.
 * - `s_malloc(type)` binds strictly to the tier's nodes (MPOL_BIND): the
 *   pages are on that tier or the call throws `ENOMEM`. After
 *   `s_enable_node_interleave(nodes)` allocations of a type whose nodes
 *   appear in the list are interleaved over those nodes instead, with the
 *   policy engine's bandwidth-aware weights (`policy: 'weighted'`).
 * - Size getters return bytes; 0 is a real value (an empty tier), never an
 *   error: errors throw.
 */
import { allocPlaced, assertOwnedLive, free, type PlacedBuffer } from './buffers';
import { HmsdkError } from '../errors';
import { F_ZERO, native } from './native';
import { MAX_SIZE, type Tier } from './options';
import { clearPlacementCache, resolvePlacement, type ResolvedPlacement } from './placement';
import { stats, usedInTier } from './stats';
import { formatBytesIn } from '../util/bytes';
import { topology } from '../topology/current';
import { parseNodeList } from '../topology';
import { checkNodeId, checkNodeList, checkOneOf, checkPowerOfTwo, checkSize, checkString, checkTier, DEFAULT_PLACEMENT } from '../util/validate';

/** Longest node list string s_enable_node_interleave parses (every id of 1024 nodes, comma-separated, fits). */
const MAX_NODE_LIST_CHARS = 8192;

export { SMDK_MEM_EXMEM, SMDK_MEM_NORMAL } from './options';

let interleaveNodes: number[] | undefined;
const typePlacement: Partial<Record<Tier, ResolvedPlacement>> = {};

function placementFor(type: Tier): ResolvedPlacement {
  const hit = typePlacement[type];
  if (hit) return hit;
  const t = topology();
  const tierNodes = type === 'EXMEM' ? t.exmemNodes : t.normalNodes;
  const il = interleaveNodes?.filter((n) => tierNodes.includes(n));
  // Interleave uses the policy engine's bandwidth-aware weights.
  const p =
    il && il.length > 0
      ? resolvePlacement({ ...DEFAULT_PLACEMENT, nodes: il, policy: 'weighted' })
      : resolvePlacement({ ...DEFAULT_PLACEMENT, tier: type });
  typePlacement[type] = p;
  return p;
}

function resetTypePlacements(): void {
  delete typePlacement.NORMAL;
  delete typePlacement.EXMEM;
}

/**
 * Allocate `size` bytes of `type` memory (not zeroed).
 * @example
 * ```ts
 * const buf = s_malloc(SMDK_MEM_EXMEM, 64 << 20);
 * s_free(buf);
 * ```
 */
export function s_malloc(type: Tier, size: number): PlacedBuffer {
  checkTier('type', type);
  checkSize('size', size);
  return allocPlaced(size, placementFor(type), 0);
}

/** Allocate `num * size` zeroed bytes of `type` memory. */
export function s_calloc(type: Tier, num: number, size: number): PlacedBuffer {
  checkTier('type', type);
  checkSize('num', num);
  checkSize('size', size);
  if (num * size > MAX_SIZE) throw new RangeError(`num * size (${num} * ${size}) exceeds the largest buffer this runtime supports (${MAX_SIZE} bytes)`);
  return allocPlaced(num * size, placementFor(type), F_ZERO);
}

/**
 * Resize `buf` to `size` bytes of `type` memory: a new buffer with the old
 * contents (up to the smaller size), the old one freed. Also moves a buffer
 * between tiers (`s_realloc('EXMEM', dramBuf, dramBuf.length)`).
 * `buf` null/undefined allocates like `s_malloc`.
 *
 * @example
 * ```ts
 * let buf = s_malloc(SMDK_MEM_NORMAL, 4096);
 * buf = s_realloc(SMDK_MEM_EXMEM, buf, 8192); // contents kept, now on EXMEM
 * s_free(buf);
 * ```
 */
export function s_realloc(type: Tier, buf: ArrayBufferView | null | undefined, size: number): PlacedBuffer {
  checkTier('type', type);
  checkSize('size', size);
  if (buf === null || buf === undefined) return s_malloc(type, size);
  // Ownership before allocation: a foreign or freed `buf` must not cost a buffer.
  const old = assertOwnedLive(buf, 'buf');
  const out = s_malloc(type, size);
  out.set(new Uint8Array(old.buffer, old.byteOffset, Math.min(old.byteLength, size)));
  free(old.buffer);
  return out;
}

/**
 * Allocate `size` bytes of `type` memory whose first byte is aligned to
 * `alignment` (a power of two, at least 8, at most the page size).
 */
export function s_posix_memalign(type: Tier, alignment: number, size: number): PlacedBuffer {
  checkTier('type', type);
  checkPowerOfTwo('alignment', alignment, 8, native().info().pageSize);
  checkSize('size', size);
  // The core serves an aligned small request from the power-of-two class
  // that holds it (aligned to its size); larger blocks are page aligned.
  return allocPlaced(size, placementFor(type), 0, alignment);
}

/** Free a buffer from any `s_*` allocator (or `allocate`). */
export function s_free(buf: ArrayBufferView | ArrayBuffer): void {
  free(buf);
}

function checkNodeInTier(type: Tier, node: number): void {
  const t = topology();
  const nodes = type === 'EXMEM' ? t.exmemNodes : t.normalNodes;
  if (!nodes.includes(node)) {
    throw new HmsdkError('ENODEV', `node ${node} is not a ${type} node (${type} nodes: ${nodes.join(',') || 'none'})`);
  }
}

/** Allocate `size` bytes strictly on `node`, which must be a `type` node. */
export function s_malloc_node(type: Tier, size: number, node: number): PlacedBuffer {
  checkTier('type', type);
  checkSize('size', size);
  checkNodeId('node', node);
  checkNodeInTier(type, node);
  return allocPlaced(size, resolvePlacement({ ...DEFAULT_PLACEMENT, nodes: [node] }), 0);
}

/** Free a buffer from `s_malloc_node`; `type` is checked like the C API's. */
export function s_free_node(type: Tier, buf: ArrayBufferView | ArrayBuffer): void {
  checkTier('type', type);
  free(buf);
}

function tierStat(type: Tier) {
  return stats().tiers[checkTier('type', type)];
}

/** Total bytes of the `type` tier's nodes (MemTotal). */
export function s_get_memsize_total(type: Tier): number {
  return tierStat(type).total;
}

/** Live bytes the SDK handed out from the `type` tier. */
export function s_get_memsize_used(type: Tier): number {
  return usedInTier(checkTier('type', type));
}

/** Free bytes of the `type` tier's nodes now (MemFree). */
export function s_get_memsize_available(type: Tier): number {
  return tierStat(type).available;
}

function nodeStat(type: Tier, node: number) {
  checkTier('type', type);
  checkNodeId('node', node);
  checkNodeInTier(type, node);
  const n = stats().nodes.find((x) => x.id === node);
  if (!n) throw new HmsdkError('ENODEV', `node ${node} has no memory`);
  return n;
}

/** Total bytes of `node` (a `type` node). */
export function s_get_memsize_node_total(type: Tier, node: number): number {
  return nodeStat(type, node).total;
}

/** Free bytes of `node` (a `type` node) now. */
export function s_get_memsize_node_available(type: Tier, node: number): number {
  return nodeStat(type, node).available;
}

type Unit = 'B' | 'K' | 'M' | 'G';

const UNITS: readonly Unit[] = ['B', 'K', 'M', 'G'];

function checkUnit(unit: unknown): Unit {
  // Lower case is accepted too; only a one-character string is worth upper-casing.
  return checkOneOf('unit', typeof unit === 'string' && unit.length === 1 ? unit.toUpperCase() : unit, UNITS);
}

/** Print per-tier total/used/available in `unit` ('B','K','M','G'); returns the text printed. */
export function s_stats_print(unit: string): string {
  const u = checkUnit(unit);
  const s = stats();
  const lines = [`type      total(${u})  used(${u})  available(${u})`];
  for (const type of ['NORMAL', 'EXMEM'] as const) {
    const x = s.tiers[type];
    lines.push(`${type.padEnd(8)}${formatBytesIn(x.total, u).padStart(10)}${formatBytesIn(x.used, u).padStart(9)}${formatBytesIn(x.available, u).padStart(14)}`);
  }
  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  return text;
}

/** Print per-node total/used/available in `unit`; returns the text printed. */
export function s_stats_node_print(unit: string): string {
  const u = checkUnit(unit);
  const s = stats();
  const lines = [`node  type    total(${u})  used(${u})  available(${u})`];
  for (const n of s.nodes) {
    lines.push(
      `${String(n.id).padEnd(6)}${n.type.padEnd(8)}${formatBytesIn(n.total, u).padStart(8)}${formatBytesIn(n.used, u).padStart(9)}${formatBytesIn(n.available, u).padStart(14)}`,
    );
  }
  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  return text;
}

/**
 * Interleave later `s_malloc` allocations over `nodes` (an array of ids or a
 * node list such as "0-1,3"). For each type, the listed nodes of that type
 * are used; a type with no listed node is unchanged.
 *
 * @example
 * ```ts
 * s_enable_node_interleave('0-1');                 // or [0, 1]; two DRAM sockets
 * const buf = s_malloc(SMDK_MEM_NORMAL, 64 << 20); // pages alternate over nodes 0 and 1
 * s_disable_node_interleave();                     // back to strict per-tier placement
 * ```
 */
export function s_enable_node_interleave(nodes: string | readonly number[]): void {
  const list = checkNodeList('nodes', typeof nodes === 'string' ? parseNodeListArgument(nodes) : nodes);
  const memory = topology().nodes.map((n) => n.id);
  for (const n of list) if (!memory.includes(n)) throw new HmsdkError('ENODEV', `node ${n} is not an online memory node`);
  interleaveNodes = list;
  resetTypePlacements();
}

function parseNodeListArgument(text: string): number[] {
  checkString('nodes', text, MAX_NODE_LIST_CHARS);
  try {
    return parseNodeList(text);
  } catch (err) {
    throw new RangeError(`nodes must be a node list such as "0-1,3": ${(err as Error).message}`, { cause: err });
  }
}

/** Return `s_malloc` to strict per-tier placement. */
export function s_disable_node_interleave(): void {
  interleaveNodes = undefined;
  resetTypePlacements();
  clearPlacementCache();
}
