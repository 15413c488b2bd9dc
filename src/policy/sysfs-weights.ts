/**
 * System-wide weighted-interleave weights
 * (`<sysRoot>/kernel/mm/mempolicy/weighted_interleave/nodeN`, Linux 6.9+).
 *
 * The weights are global: one value per node for every task and VMA using
 * MPOL_WEIGHTED_INTERLEAVE on the machine. Changing them moves no existing
 * page; it only affects later allocations. Since 6.16 an `auto` file says
 * whether the kernel derives them itself from HMAT/CDAT bandwidth
 * (min(read, write) of the CPU access class, see `reduceWeights`'
 * `'kernel-auto'`); writing any `nodeN` switches the kernel to manual mode
 * for all nodes.
 *
 * {@link systemWeightsPlan} is pure: it decides which files to write — none
 * when auto mode is on and already gives the plan's ratio (leaving auto on
 * keeps the weights following hot-plugged CXL memory), none when the
 * current manual weights already match. {@link applySystemWeights} performs
 * the writes synchronously (tiny sysfs files): availability is checked for
 * every file before anything is written; permission problems (EACCES, EPERM,
 * EROFS) are reported as `applied: false` with a reason and the files
 * already written are restored; a missing interface is `HmsdkError ENOTSUP`.
 */

import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { HmsdkError } from '../errors';
import { ATTRIBUTE_MAX_BYTES, readKernelFile } from '../kernel/files';
import type { NumaNode, Topology } from '../topology/types';
import type { InterleavePlan } from './plan';
import { checkNodeId, checkWeight, readList } from '../util/validate';
import { gcdOf, reduceWeights } from './weights';

/** One sysfs write: `value` into `path` (the weight file of `node`). */
export interface SysfsWeightWrite {
  /** Absolute path of `weighted_interleave/nodeN`. */
  path: string;
  /** Node id N. */
  node: number;
  /** Weight 1..255. */
  value: number;
}

/** Result of {@link systemWeightsPlan}. */
export interface SystemWeightsPlan {
  /** Files to write; empty when nothing should change. */
  writes: SysfsWeightWrite[];
  /** True when the kernel's auto mode already gives the plan's ratio: leave it on. */
  keepAuto: boolean;
  /** Weights auto mode gives (or would give) for the plan's nodes; undefined without figures. */
  autoWeights: number[] | undefined;
  /** One sentence explaining the decision. */
  reason: string;
}

/** Directory of the weight files under a sysfs root. */
export function weightedInterleaveDir(sysRoot: string): string {
  return path.join(sysRoot, 'kernel', 'mm', 'mempolicy', 'weighted_interleave');
}

/**
 * Weights the kernel's auto mode derives (Linux 6.16 `reduce_interleave_weights`):
 * min(read, write) access1 bandwidth of every memory node, scaled to 1..32,
 * divided by the GCD; nodes without figures get 1. Undefined when no node
 * has figures.
 *
 * @example
 * ```ts
 * kernelAutoWeights(topology); // { 0: 24, 1: 7 } for DRAM 204800 + CXL 65536 MB/s
 * ```
 */
export function kernelAutoWeights(topology: Topology): Record<number, number> | undefined {
  const bw = topology.nodes.map((n: NumaNode) => {
    const r = n.access1?.readBandwidth;
    const w = n.access1?.writeBandwidth;
    return r !== undefined && w !== undefined ? Math.min(r, w) : (r ?? w ?? 0);
  });
  if (!bw.some((b) => b > 0)) return undefined;
  const { weights } = reduceWeights(bw, { method: 'kernel-auto' });
  return Object.fromEntries(topology.nodes.map((n, i) => [n.id, weights[i] ?? 1]));
}

/**
 * Decide the sysfs writes that make the global weights carry `plan`'s ratio.
 *
 * @example
 * ```ts
 * const sys = systemWeightsPlan(topology, planInterleave(topology));
 * if (!sys.keepAuto) applySystemWeights(sys.writes, { dryRun: true });
 * ```
 */
export function systemWeightsPlan(topology: Topology, plan: InterleavePlan): SystemWeightsPlan {
  const dir = weightedInterleaveDir(topology.sysRoot);
  const wi = topology.weightedInterleave;
  const writes = plan.nodes.map((node, i) => ({
    path: path.join(dir, `node${node}`),
    node,
    value: checkWeight(`plan.weights[${i}]`, plan.weights[i]),
  }));
  const ratio = `${plan.weights.join(':')} for node(s) ${plan.nodes.join(',')}`;
  if (!wi.available) {
    return {
      writes,
      keepAuto: false,
      autoWeights: undefined,
      reason: `kernel has no weighted interleave (6.9+): the writes of ${ratio} cannot be applied; use a userspace stripe`,
    };
  }
  const current = plan.nodes.map((n) => wi.weights[n]);
  let autoWeights: number[] | undefined;
  if (wi.auto === true && current.every((w) => w !== undefined)) {
    autoWeights = current;
  } else {
    const auto = kernelAutoWeights(topology);
    autoWeights = auto ? plan.nodes.map((n) => auto[n] ?? 1) : undefined;
  }
  if (wi.auto === true && autoWeights && sameRatio(autoWeights, plan.weights)) {
    return {
      writes: [],
      keepAuto: true,
      autoWeights,
      reason: `kernel auto mode already gives ${autoWeights.join(':')} for node(s) ${plan.nodes.join(',')}, the plan's ratio: leave auto on`,
    };
  }
  if (wi.auto !== true && current.every((w, i) => w === plan.weights[i])) {
    return { writes: [], keepAuto: false, autoWeights, reason: `global weights already ${ratio}` };
  }
  const autoNote =
    wi.auto === true
      ? `; auto mode gives ${autoWeights ? autoWeights.join(':') : 'unknown weights'}, and writing switches the kernel to manual weights for all nodes`
      : '';
  return {
    writes,
    keepAuto: false,
    autoWeights,
    reason: `set global weights ${ratio} (affects every process using weighted interleave)${autoNote}`,
  };
}

/** File-system calls {@link applySystemWeights} makes (replaceable for tests). */
export interface SysfsIo {
  statSync(p: string): { isDirectory(): boolean; isFile(): boolean };
  readFileSync(p: string, encoding: 'utf8'): string;
  writeFileSync(p: string, data: string): void;
}

// The real file system, reading through the one bounded kernel-file reader.
const kernelIo: SysfsIo = {
  statSync: (p) => fs.statSync(p),
  readFileSync: (p, encoding) => readKernelFile(p, ATTRIBUTE_MAX_BYTES, encoding),
  writeFileSync: (p, data) => fs.writeFileSync(p, data),
};

/** Options of {@link applySystemWeights}. */
export interface ApplyOptions {
  /** Check and report only; write nothing. */
  dryRun: boolean;
  /** File-system calls; default `node:fs` (reads bounded to kernel attribute size). */
  io?: SysfsIo;
}

/** What happened to one write. */
export interface AppliedWrite extends SysfsWeightWrite {
  /** `written`; `dry-run`; `failed` (this write was refused); `restored` (written, then put back after a later failure); `skipped` (not attempted after a failure). */
  status: 'written' | 'dry-run' | 'failed' | 'restored' | 'skipped';
  /** Value the file held before, when readable. */
  previous: number | undefined;
}

/** Result of {@link applySystemWeights}. */
export interface ApplyResult {
  /** True when every write went through. */
  applied: boolean;
  /** Why not, when `applied` is false. */
  reason?: string;
  /** Per-write outcome, in input order. */
  writes: AppliedWrite[];
}

const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * Write global weights. Never throws for lack of permission.
 *
 * @throws HmsdkError ENOTSUP when the weighted_interleave directory is
 *   absent (kernel < 6.9); ENODEV when a node has no weight file; ESYSCALL
 *   for other failures (e.g. EINVAL: the kernel refused a value);
 *   TypeError/RangeError for malformed writes.
 *
 * @example
 * ```ts
 * const r = applySystemWeights(sys.writes, { dryRun: false });
 * if (!r.applied) console.warn(r.reason); // e.g. "permission denied ... (EACCES): needs root"
 * ```
 */
export function applySystemWeights(writes: readonly SysfsWeightWrite[], options: ApplyOptions): ApplyResult {
  if (typeof options !== 'object' || options === null || typeof options.dryRun !== 'boolean') {
    throw new TypeError('options.dryRun must be a boolean');
  }
  const io: SysfsIo = options.io ?? kernelIo;
  const list = readList('writes', writes).map((w, i) => {
    if (typeof w !== 'object' || w === null) throw new TypeError(`writes[${i}] must be an object`);
    const { path: p, node, value } = w as SysfsWeightWrite;
    if (typeof p !== 'string' || p === '') throw new TypeError(`writes[${i}].path must be a non-empty string`);
    return { path: p, node: checkNodeId(`writes[${i}].node`, node), value: checkWeight(`writes[${i}].value`, value) };
  });
  const result: AppliedWrite[] = list.map((w) => ({ ...w, status: 'skipped', previous: undefined }));

  // Availability, before any write.
  for (const dir of new Set(list.map((w) => path.dirname(w.path)))) {
    try {
      if (!io.statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    } catch (e) {
      const code = errCode(e);
      if (PERMISSION_CODES.has(code)) return denied(result, dir, code, 'checking');
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new HmsdkError('ENOTSUP', `weighted interleave is not available: ${dir} does not exist (needs Linux 6.9+)`, { cause: e });
      }
      throw sysError('stat', dir, e);
    }
  }
  for (const w of result) {
    try {
      if (!io.statSync(w.path).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
    } catch (e) {
      const code = errCode(e);
      if (PERMISSION_CODES.has(code)) return denied(result, w.path, code, 'checking');
      if (code === 'ENOENT') throw new HmsdkError('ENODEV', `no weighted-interleave weight file for node ${w.node}: ${w.path}`, { cause: e });
      throw sysError('stat', w.path, e);
    }
    try {
      const v = Number.parseInt(io.readFileSync(w.path, 'utf8').trim(), 10);
      w.previous = Number.isInteger(v) ? v : undefined;
    } catch {
      w.previous = undefined;
    }
  }
  if (options.dryRun) {
    for (const w of result) w.status = 'dry-run';
    return { applied: false, reason: `dry run: ${result.length} file(s) would be written`, writes: result };
  }

  for (const w of result) {
    try {
      io.writeFileSync(w.path, `${w.value}\n`);
      w.status = 'written';
    } catch (e) {
      w.status = 'failed';
      restore(result, io);
      const code = errCode(e);
      if (PERMISSION_CODES.has(code)) return denied(result, w.path, code, 'writing');
      throw sysError('write', w.path, e);
    }
  }
  return { applied: true, writes: result };
}

function restore(result: AppliedWrite[], io: SysfsIo): void {
  for (const w of result) {
    if (w.status !== 'written' || w.previous === undefined) continue;
    try {
      io.writeFileSync(w.path, `${w.previous}\n`);
      w.status = 'restored';
    } catch {
      // Leave it 'written': the caller sees what stayed changed.
    }
  }
}

function denied(result: AppliedWrite[], p: string, code: string, what: string): ApplyResult {
  const hint =
    code === 'EROFS'
      ? 'sysfs is mounted read-only (container?)'
      : 'needs root (the weight files are writable by root only)';
  return { applied: false, reason: `permission denied ${what} ${p} (${code}): ${hint}`, writes: result };
}

function errCode(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : '';
}

function sysError(syscall: string, p: string, e: unknown): HmsdkError {
  const code = errCode(e);
  const errno = (osConstants.errno as Record<string, number | undefined>)[code];
  return new HmsdkError('ESYSCALL', `${syscall} ${p} failed: ${code || String(e)}`, {
    syscall,
    ...(errno === undefined ? {} : { errno }),
    cause: e,
  });
}

/** True when two weight vectors have the same ratio. */
function sameRatio(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const ga = gcdOf(a);
  const gb = gcdOf(b);
  return a.every((x, i) => x / ga === (b[i] ?? 0) / gb);
}
