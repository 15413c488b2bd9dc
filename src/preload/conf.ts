/**
 * The TypeScript half of the preload contract: options (what `hmsdk run`
 * parsed from its flags) resolved against a topology into the `HMSDK_CONF`
 * string that native/preload/hm_conf.c parses. Pure: no addon, no sysfs, no
 * process state; the CLI maps {@link PreloadConfError} to a usage error
 * (exit 2). The preload's own parser has the last word (the CLI runs
 * `native().confCheck()` on the result).
 */
import * as path from 'node:path';
import { HmsdkError } from '../errors';
import { planInterleave } from '../policy/plan';
import type { Topology } from '../topology/types';

/**
 * A contradictory or out-of-range preload option. `option` is the
 * {@link RunOptions} key; the message names the `hmsdk run` flag users
 * know it by.
 */
export class PreloadConfError extends RangeError {
  constructor(
    readonly option: keyof RunOptions,
    message: string,
  ) {
    super(message);
    this.name = 'PreloadConfError';
  }
}

/** Options of {@link buildConf}, already parsed from the command line. */
export interface RunOptions {
  tier?: 'exmem' | 'normal';
  nodes?: number[];
  policy?: 'bind' | 'preferred' | 'interleave' | 'weighted';
  /** Explicit weights by node, or `'auto'` for the policy engine. */
  weights?: Record<number, number> | 'auto';
  stripe?: number;
  minSize?: number;
  cap?: number;
  overflow?: 'fail' | 'fallback' | 'interleave';
  populate?: boolean;
  reserve?: number;
  /** Place the program's own anonymous mappings (default: yes, but not with a cap). */
  maps?: boolean;
  /** ... of at least this length. */
  mapsMin?: number;
  /** Percent of anonymous memory expected on the target; less prints one line at exit (0: never). */
  expect?: number;
  /** Keep placed memory in mappings of at most this many bytes (hmsdk tier's sampler; 0 or absent: off). */
  granule?: number;
  stats?: boolean;
  statsFile?: string;
  statsJson?: boolean;
  verbose?: number;
}

/** What {@link buildConf} resolved. */
export interface RunPlan {
  /** The HMSDK_CONF value. */
  conf: string;
  /** Target nodes. */
  nodes: number[];
  /** Notes for --verbose / --print-env (how tiers and weights were chosen). */
  notes: string[];
}

/**
 * Resolve options against a topology into HMSDK_CONF. Pure.
 *
 * @throws PreloadConfError (a RangeError naming the option) for contradictory
 *   or out-of-range options; HmsdkError ENODEV when the
 *   tier or a node does not exist.
 */
export function buildConf(opts: RunOptions, topo: Topology): RunPlan {
  const notes: string[] = [];
  const memNodes = new Set(topo.nodes.map((n) => n.id));
  if (opts.tier && opts.nodes) throw new PreloadConfError('tier', '--tier and --nodes are exclusive');
  const policy = opts.policy ?? (opts.weights ? 'weighted' : 'bind');
  if (opts.weights && policy !== 'weighted') throw new PreloadConfError('weights', `--weighted conflicts with --policy ${policy}`);
  let nodes: number[];
  let weights: Record<number, number> | undefined;
  if (opts.weights && opts.weights !== 'auto') {
    weights = opts.weights;
    nodes = Object.keys(weights).map(Number).sort((a, b) => a - b);
    if (opts.nodes && opts.nodes.join(',') !== nodes.join(',')) throw new PreloadConfError('nodes', '--nodes and --weighted name different nodes');
  } else if (opts.nodes) {
    nodes = opts.nodes;
  } else {
    const tier = opts.tier ?? (policy === 'weighted' ? undefined : 'exmem');
    if (tier === undefined) {
      nodes = topo.nodes.map((n) => n.id);
    } else {
      nodes = tier === 'exmem' ? topo.exmemNodes : topo.normalNodes;
      if (nodes.length === 0) {
        throw new HmsdkError('ENODEV', `this machine has no ${tier.toUpperCase()} node (memory nodes: ${[...memNodes].join(',') || 'none'}); use --nodes or 'hmsdk emulate'`);
      }
      notes.push(`tier ${tier} = node${nodes.length > 1 ? 's' : ''} ${nodes.join(',')} (${topo.nodes.filter((n) => nodes.includes(n.id)).map((n) => n.typeReason).join('; ')})`);
    }
  }
  for (const id of nodes) {
    if (!memNodes.has(id)) throw new HmsdkError('ENODEV', `node ${id} is not a memory node of this machine (memory nodes: ${[...memNodes].join(',')})`);
  }
  if (policy === 'weighted' && !weights) {
    const plan = planInterleave(topo, { nodes });
    weights = {};
    plan.nodes.forEach((id, i) => (weights![id] = plan.weights[i]!));
    nodes = plan.nodes;
    notes.push(`weights from the policy engine (${plan.source}): ${plan.nodes.map((id, i) => `${id}:${plan.weights[i]}`).join(',')}`);
    for (const w of plan.warnings) notes.push(`policy engine: ${w}`);
  }
  const kv: string[] = [];
  if (opts.minSize !== undefined) kv.push(`threshold=${opts.minSize}`);
  if (policy === 'weighted') kv.push(`weights=${nodes.map((id) => `${id}:${weights![id]}`).join(',')}`);
  else kv.push(`nodes=${nodes.join(',')}`, `policy=${policy}`);
  if (opts.stripe !== undefined) kv.push(`stripe=${opts.stripe}`);
  if (opts.cap !== undefined) {
    if (opts.cap <= 0) throw new PreloadConfError('cap', '--cap must be positive');
    kv.push(`cap=${opts.cap}`);
  }
  if (opts.overflow) kv.push(`overflow=${opts.overflow}`);
  if (opts.populate) kv.push('populate=1');
  if (opts.reserve !== undefined) kv.push(`reserve=${opts.reserve}`);
  if (opts.maps !== undefined) kv.push(`maps=${opts.maps ? 1 : 0}`);
  if (opts.mapsMin !== undefined) {
    if (opts.maps === false) throw new PreloadConfError('mapsMin', '--maps-min conflicts with --no-maps');
    kv.push(`maps_min=${opts.mapsMin}`);
  }
  if (opts.expect !== undefined) {
    if (!Number.isInteger(opts.expect) || opts.expect < 0 || opts.expect > 100) throw new PreloadConfError('expect', `--expect takes a percentage 0..100, got ${opts.expect}`);
    kv.push(`expect=${opts.expect}`);
  }
  if (opts.granule) kv.push(`granule=${opts.granule}`);
  if (opts.stats || opts.statsFile) kv.push('stats=exit');
  if (opts.statsFile) {
    if (opts.statsFile.includes(',')) throw new PreloadConfError('statsFile', '--stats-file: the path must not contain a comma');
    kv.push(`stats_file=${path.resolve(opts.statsFile)}`);
  }
  if (opts.statsJson) kv.push('stats_format=json');
  if (opts.verbose) kv.push(`verbose=${opts.verbose}`);
  return { conf: kv.join(','), nodes, notes };
}
