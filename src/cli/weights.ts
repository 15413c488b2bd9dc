/**
 * `hmsdk weights`: the policy engine's interleave weights for this machine
 * (HMAT, or measured bandwidth from `hmsdk bench --out FILE`), the predicted
 * bandwidth under the min-link model, and the kernel's system-wide
 * weighted-interleave files it would write; `--apply` writes them when
 * privileged and says clearly when not.
 */
import * as fs from 'node:fs';
import { HmsdkError } from '../errors';
import { planInterleave, type InterleavePlan, type MeasuredBandwidth, type PlanOptions } from '../policy/plan';
import { applySystemWeights, systemWeightsPlan } from '../policy/sysfs-weights';
import { WORKLOADS, type Workload } from '../policy/model';
import { parseNodeList, readTopology } from '../topology';
import { parseArgs, UsageError } from './args';
import { colours, table } from './format';
import { sysRootFlag } from './paths';

/** Help text. */
export const help = `usage: hmsdk weights [options]

Bandwidth-aware weighted-interleave weights for this machine, the predicted
aggregate bandwidth (model: every link busy in proportion to its bandwidth;
figures from HMAT or from a benchmark), and the kernel's system-wide weights
(/sys/kernel/mm/mempolicy/weighted_interleave/nodeN, Linux 6.9+).

options:
  --nodes LIST          candidate nodes (default: every memory node)
  --initiator LIST      nodes whose CPUs run the workload (default: all CPU nodes)
  --workload KIND       read-heavy | write-heavy | mixed | latency-sensitive (default mixed)
  --from-bench FILE     use measured bandwidth from 'hmsdk bench --out FILE'
  --apply               write the kernel's weights (root); says what it would write otherwise
  --json                machine-readable output
  --sys-root DIR        read another sysfs tree

examples:
  hmsdk weights
  hmsdk bench --out bench.json && hmsdk weights --from-bench bench.json
  sudo hmsdk weights --apply`;

function nodeList(flag: unknown, name: string): number[] | undefined {
  if (typeof flag !== 'string') return undefined;
  try {
    return parseNodeList(flag);
  } catch {
    throw new UsageError(`${name}: bad node list '${flag}'`);
  }
}

function readBench(file: string): Record<number, MeasuredBandwidth> {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new HmsdkError('ECONFIG', `--from-bench: cannot read ${file}: ${(err as Error).message}`);
  }
  const nodes = (doc as { nodes?: unknown }).nodes;
  if (!Array.isArray(nodes)) throw new HmsdkError('ECONFIG', `--from-bench: ${file} has no "nodes" array (write it with 'hmsdk bench --out FILE')`);
  const out: Record<number, MeasuredBandwidth> = {};
  for (const n of nodes as { node?: unknown; readMBps?: unknown; writeMBps?: unknown }[]) {
    if (typeof n.node !== 'number' || typeof n.readMBps !== 'number' || typeof n.writeMBps !== 'number') {
      throw new HmsdkError('ECONFIG', `--from-bench: ${file}: each node needs numeric node, readMBps, writeMBps`);
    }
    out[n.node] = { readMBps: n.readMBps, writeMBps: n.writeMBps };
  }
  return out;
}

function render(plan: InterleavePlan, sys: ReturnType<typeof systemWeightsPlan>, applied: string | undefined): string {
  const c = colours();
  const rows = [['NODE', 'WEIGHT', 'SHARE', 'IDEAL'].map((h) => c.bold(h))];
  plan.nodes.forEach((n, i) =>
    rows.push([String(n), String(plan.weights[i]), `${((plan.shares[i] ?? 0) * 100).toFixed(1)}%`, plan.idealShares ? `${((plan.idealShares[i] ?? 0) * 100).toFixed(1)}%` : '-']),
  );
  const out = [table(rows, [false, true, true, true]), '', `${c.bold('source')}: ${plan.source} — ${plan.model}`];
  if (plan.roundingError !== undefined) out.push(`rounding error: ${plan.roundingError.toFixed(2)} pp`);
  const p = plan.predicted;
  if (p) {
    const gb = (v: number | undefined) => (v === undefined ? '-' : `${(v / 1000).toFixed(1)} GB/s`);
    out.push(
      `predicted bandwidth: ${gb(p.aggregateMBps)} (DRAM only ${gb(p.dramOnlyMBps)}, 1:1 interleave ${gb(p.interleave11MBps)}${
        p.gainOverDramOnly ? `, ${((p.gainOverDramOnly - 1) * 100).toFixed(0)}% over DRAM only` : ''
      })`,
      c.dim('  model figures (HMAT or benchmark), not a measurement of this run'),
    );
  }
  for (const n of plan.notes) out.push(`note: ${n}`);
  for (const w of plan.warnings) out.push(c.yellow(`warning: ${w}`));
  out.push('', `${c.bold('kernel weights')}: ${sys.reason}`);
  for (const w of sys.writes) out.push(`  ${w.path} <- ${w.value}`);
  if (applied) out.push(applied);
  return out.join('\n');
}

/** Run `hmsdk weights`. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    nodes: { type: 'string' },
    initiator: { type: 'string' },
    workload: { type: 'string' },
    'from-bench': { type: 'string' },
    apply: { type: 'boolean' },
    json: { type: 'boolean' },
    'sys-root': { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (flags.workload !== undefined && !WORKLOADS.includes(flags.workload as Workload)) {
    throw new UsageError(`--workload must be one of ${WORKLOADS.join(', ')}`);
  }
  const t = readTopology({ sysRoot: sysRootFlag(flags['sys-root']) });
  const opts: PlanOptions = {};
  const nodes = nodeList(flags.nodes, '--nodes');
  if (nodes) opts.nodes = nodes;
  const init = nodeList(flags.initiator, '--initiator');
  if (init) opts.initiatorNodes = init;
  if (typeof flags.workload === 'string') opts.workload = flags.workload as Workload;
  if (typeof flags['from-bench'] === 'string') opts.measured = readBench(flags['from-bench']);
  const plan = planInterleave(t, opts);
  let sys: ReturnType<typeof systemWeightsPlan>;
  if (t.weightedInterleave.available) sys = systemWeightsPlan(t, plan);
  else sys = { writes: [], keepAuto: false, autoWeights: undefined, reason: 'this kernel has no weighted interleave (6.9+): hmsdk uses its userspace stripe' };
  let applied: string | undefined;
  let result: ReturnType<typeof applySystemWeights> | undefined;
  if (flags.apply) {
    if (!t.weightedInterleave.available) throw new HmsdkError('ENOTSUP', 'cannot --apply: the kernel has no weighted_interleave sysfs interface (Linux 6.9+)');
    result = applySystemWeights(sys.writes, { dryRun: false });
    applied = result.applied ? `applied ${result.writes.length} write(s)` : `not applied: ${result.reason ?? 'unknown reason'}`;
  }
  if (flags.json) process.stdout.write(JSON.stringify({ plan, system: sys, apply: result }) + '\n');
  else process.stdout.write(render(plan, sys, applied) + '\n');
  return result && !result.applied && sys.writes.length ? 1 : 0;
}
