/**
 * `hmsdk doctor`: the kernel's tiering set-up (memory tiers, demotion, NUMA
 * balancing, DAMON, weighted interleave, transparent huge pages, capacity per
 * tier) judged for DRAM + CXL use, each finding with its meaning and the
 * command that changes it. The findings are `topology/doctor.ts`; this file
 * only parses flags and prints.
 */
import { diagnose, type DoctorReport, type DoctorSeverity } from '../topology/doctor';
import { parseArgs, UsageError } from './args';
import { colours } from './format';
import { procRootFlag, sysRootFlag } from './paths';

/** Help text. */
export const help = `usage: hmsdk doctor [--json] [--strict] [--sys-root DIR] [--proc-root DIR]

Checks what decides whether memory tiering works on this machine: which
nodes sit in which kernel memory tier (all in one tier: the kernel never
demotes or promotes), demotion on reclaim, the NUMA-balancing mode, DAMON and
its migrate actions, weighted-interleave auto mode, transparent huge pages,
and the capacity of each tier. Every finding says what it means and the
command that changes it. Reads only; changes nothing.

  --json        the report as JSON (schema in docs/cli.md)
  --strict      exit 1 when any finding is a problem
  --sys-root    a sysfs tree other than /sys
  --proc-root   a procfs tree other than /proc

examples:
  hmsdk doctor
  hmsdk doctor --json | jq '.findings[] | select(.severity != "ok")'
  hmsdk emulate --kernel all -- hmsdk doctor`;

/** Render the report as text. @internal */
export function renderDoctor(r: DoctorReport): string {
  const c = colours();
  const mark: Record<DoctorSeverity, string> = { ok: c.green('ok     '), note: c.yellow('note   '), problem: c.red('problem') };
  const out = [`${c.bold('kernel')} ${r.kernel ?? 'unknown'}`];
  for (const f of r.findings) {
    out.push('', `${mark[f.severity]} ${c.bold(f.topic)}: ${f.summary}`, `        ${f.meaning}`);
    if (f.fix !== undefined) out.push(`        fix: ${f.fix}`);
  }
  const problems = r.findings.filter((f) => f.severity === 'problem').length;
  const notes = r.findings.filter((f) => f.severity === 'note').length;
  out.push('', `${problems} problem(s), ${notes} note(s)`);
  return out.join('\n');
}

/** Run `hmsdk doctor`. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    json: { type: 'boolean' },
    strict: { type: 'boolean' },
    'sys-root': { type: 'string' },
    'proc-root': { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const report = diagnose({ sysRoot: sysRootFlag(flags['sys-root']), procRoot: procRootFlag(flags['proc-root']) });
  process.stdout.write((flags.json ? JSON.stringify(report, null, 2) : renderDoctor(report)) + '\n');
  return flags.strict && report.findings.some((f) => f.severity === 'problem') ? 1 : 0;
}
