/**
 * `hmsdk topology`: what the SDK's topology reader sees — nodes, CPUs,
 * tiers, distances, HMAT figures, CXL evidence — and which nodes it treats
 * as EXMEM, and why.
 */
import { formatNodeList, readTopology } from '../topology';
import type { NodePerf, Topology } from '../topology/types';
import { formatBytes } from '../util/bytes';
import { parseArgs, UsageError } from './args';
import { colours, table } from './format';
import { sysRootFlag } from './paths';

/** Help text. */
export const help = `usage: hmsdk topology [--json] [--sys-root DIR]

Nodes, CPUs, memory tiers, SLIT distances, HMAT bandwidth/latency, CXL
evidence, and the NORMAL / EXMEM classification with its reason.
HMSDK_EXMEM_NODES=2,3 overrides the classification.

examples:
  hmsdk topology
  hmsdk topology --json | jq '.exmemNodes'
  hmsdk topology --sys-root test/fixtures/sysfs/two-socket-cxl`;

function perf(p: NodePerf | undefined): [string, string, string] {
  if (!p) return ['-', '-', '-'];
  const bw = (v: number | undefined) => (v === undefined ? '?' : `${(v / 1024).toFixed(v % 1024 ? 1 : 0)}`);
  const lat = (v: number | undefined) => (v === undefined ? '?' : String(v));
  return [
    `${bw(p.readBandwidth)}/${bw(p.writeBandwidth)}`,
    `${lat(p.readLatency)}/${lat(p.writeLatency)}`,
    p.initiators.length ? formatNodeList(p.initiators) : '-',
  ];
}

/** Render the topology as text. @internal */
export function renderTopology(t: Topology): string {
  const c = colours();
  const out: string[] = [];
  const rows = [['NODE', 'TYPE', 'CPUS', 'MEMORY', 'FREE', 'TIER', 'BW r/w GB/s', 'LAT r/w ns', 'INITIATORS', 'CXL'].map((h) => c.bold(h))];
  for (const n of t.nodes) {
    const [bw, lat, init] = perf(n.access1 ?? n.access0);
    rows.push([
      String(n.id),
      n.type === 'EXMEM' ? c.cyan(n.type) : n.type,
      n.cpus.length ? formatNodeList(n.cpus) : '-',
      formatBytes(n.memTotal, { compact: true }),
      formatBytes(n.memFree, { compact: true }),
      n.tier === undefined ? '-' : String(n.tier),
      bw,
      lat,
      init,
      n.cxlEvidence.length ? n.cxlEvidence.join(',') : '-',
    ]);
  }
  out.push(table(rows, [false, false, false, true, true, true, true, true, false, false]));
  out.push('', c.bold('distances (SLIT)'));
  const ids = t.nodes.map((n) => n.id);
  const drows = [['', ...ids.map(String)]];
  for (const n of t.nodes) drows.push([String(n.id), ...ids.map((j) => String(n.distances[j] ?? '-'))]);
  out.push(table(drows, drows[0]!.map(() => true)));
  out.push('', c.bold('classification') + ` (source: ${t.exmemSource})`);
  for (const n of t.nodes) out.push(`  node ${n.id} ${n.type}: ${n.typeReason}`);
  if (t.tiers.length) out.push('', `${c.bold('memory tiers')}: ${t.tiers.map((x) => `tier ${x.id} = nodes ${formatNodeList(x.nodes)}`).join('; ')}`);
  const wi = t.weightedInterleave;
  out.push(
    '',
    `${c.bold('weighted interleave')}: ${
      wi.available
        ? `kernel support, weights ${Object.entries(wi.weights).map(([n, w]) => `${n}:${w}`).join(' ') || '-'}${wi.auto === undefined ? '' : wi.auto ? ' (auto)' : ' (manual)'}`
        : 'not in this kernel (6.9+); hmsdk uses its userspace stripe'
    }`,
  );
  out.push(`${c.bold('CXL devices')}: ${t.cxlDevices.length ? t.cxlDevices.join(' ') : 'none'}`);
  for (const w of t.warnings) out.push(c.yellow(`warning: ${w}`));
  return out.join('\n');
}

/** Run `hmsdk topology`. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { json: { type: 'boolean' }, 'sys-root': { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const t = readTopology({ sysRoot: sysRootFlag(flags['sys-root']) });
  process.stdout.write((flags.json ? JSON.stringify(t, null, 2) : renderTopology(t)) + '\n');
  return 0;
}
