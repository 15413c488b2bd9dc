/**
 * `hmsdk bench`: measured sequential read/write bandwidth and dependent-load
 * latency per node (src/measure/measure.ts), with a progress bar, a table and
 * a bar chart; `--json` output feeds `hmsdk weights --from-bench FILE`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { HmsdkError } from '../errors';
import { measureNode, type NodeMeasurement } from '../measure/measure';
import { formatNodeList, parseNodeList, readTopology } from '../topology';
import { formatBytes } from '../util/bytes';
import { parseArgs, UsageError } from './args';
import { colours, parseSize, table } from './format';
import { outputFileFlag } from './paths';

/** Help text. */
export const help = `usage: hmsdk bench [--nodes LIST] [--size SIZE] [--repeats N] [--json] [--out FILE]

Measures each memory node with a buffer bound to it (populated first):
sequential read (memchr scan) and write (memset) bandwidth, and
dependent-load latency (random pointer chase over 64-byte lines).
Inside 'hmsdk emulate' every node is host RAM: the numbers show the
method works, not tier speed.

examples:
  hmsdk bench
  hmsdk bench --nodes 0,1 --size 1GiB --json --out bench.json
  hmsdk weights --from-bench bench.json`;

/** JSON document written by `--json` / `--out`. */
export interface BenchReport {
  version: 1;
  host: string;
  date: string;
  nodes: (NodeMeasurement & { tier: string })[];
}

function bar(value: number, max: number, width: number): string {
  const n = max > 0 ? Math.round((value / max) * width) : 0;
  return '█'.repeat(n) + '·'.repeat(width - n);
}

/** Run `hmsdk bench`. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    nodes: { type: 'string' },
    size: { type: 'string' },
    repeats: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  // Checked first: measuring takes minutes, and a report that cannot be written is lost.
  const outFile = typeof flags.out === 'string' ? outputFileFlag('--out', flags.out) : undefined;
  const t = readTopology();
  let nodes = t.nodes.map((n) => n.id);
  if (typeof flags.nodes === 'string') {
    try {
      nodes = parseNodeList(flags.nodes);
    } catch {
      throw new UsageError(`--nodes: bad node list '${flags.nodes}'`);
    }
    for (const n of nodes) if (!t.nodes.some((x) => x.id === n)) throw new HmsdkError('ENODEV', `node ${n} is not a memory node (${formatNodeList(t.nodes.map((x) => x.id))})`);
  }
  const bytes = typeof flags.size === 'string' ? parseSize(flags.size) : 256 * 2 ** 20;
  if (!bytes || bytes < 2 ** 20) throw new UsageError(`--size must be at least 1MiB, got '${String(flags.size)}'`);
  const repeats = typeof flags.repeats === 'string' ? Number(flags.repeats) : 3;
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 100) throw new UsageError(`--repeats must be an integer 1..100`);
  const c = colours(process.stderr);
  const results: BenchReport['nodes'] = [];
  for (const [i, node] of nodes.entries()) {
    const progress = (f: number) => {
      if (!process.stderr.isTTY) return;
      const all = (i + f) / nodes.length;
      process.stderr.write(`\r${c.cyan('measuring')} node ${node} [${bar(all, 1, 30)}] ${Math.round(all * 100)}% `);
    };
    if (!process.stderr.isTTY) process.stderr.write(`measuring node ${node} (${formatBytes(bytes, { compact: true })})...\n`);
    const m = measureNode(node, { bytes, repeats, onProgress: progress });
    results.push({ ...m, tier: t.nodes.find((x) => x.id === node)?.type ?? '?' });
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const report: BenchReport = { version: 1, host: os.hostname(), date: new Date().toISOString(), nodes: results };
  if (outFile !== undefined) fs.writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
  if (flags.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return 0;
  }
  const o = colours();
  const rows = [['NODE', 'TIER', 'READ MB/s', 'WRITE MB/s', 'LATENCY ns'].map((h) => o.bold(h))];
  for (const r of results) rows.push([String(r.node), r.tier, String(r.readMBps), String(r.writeMBps), String(r.latencyNs)]);
  const maxRead = Math.max(...results.map((r) => r.readMBps));
  const lines = [table(rows, [false, false, true, true, true]), '', o.bold('read bandwidth')];
  for (const r of results) lines.push(`  node ${String(r.node).padEnd(3)} ${bar(r.readMBps, maxRead, 40)} ${r.readMBps} MB/s`);
  if (process.env.HMSDK_EMULATE === '1') lines.push('', o.yellow('note: inside hmsdk emulate every node is host RAM; these are not tier speeds'));
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
