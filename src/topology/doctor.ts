/**
 * `hmsdk doctor`'s findings: what the kernel's tiering machinery looks like
 * on this machine and what that means for DRAM + CXL memory, read from sysfs
 * and procfs only (nothing is written, no addon is loaded).
 *
 * Method. The report is built from the topology reader's view (nodes, their
 * NORMAL / EXMEM type, memory tiers, weighted interleave) plus a handful of
 * kernel knobs read directly: demotion (`kernel/mm/numa/demotion_enabled`),
 * NUMA balancing (`/proc/sys/kernel/numa_balancing`, a bit mask: 1 = balance
 * toward the accessing CPU's node, 2 = memory-tiering promotion), DAMON's
 * sysfs interface (`kernel/mm/damon/admin`), transparent huge pages
 * (`kernel/mm/transparent_hugepage/{enabled,defrag}`, the bracketed word is
 * the mode) and the kernel release. Each check becomes one {@link
 * DoctorFinding} with a severity, what was seen, what it means here and the
 * command that changes it.
 *
 * The central check is the memory tiers. The kernel demotes on reclaim and
 * promotes under NUMA balancing's tiering mode only *between* tiers, so when
 * every memory node sits in one tier (a CPU-less node onlined at boot on a
 * kernel that does not derive tiers from HMAT: the emulator's 6.1 does this;
 * HMSDK issues #2 and #5) neither ever fires, whatever the knobs say. An
 * EXMEM node sharing a tier with a NORMAL node is the partial form of it.
 *
 * DAMOS actions cannot be listed without creating a kdamond (a write), so
 * they are inferred: an existing scheme directory with `target_nid` proves
 * migrate_hot / migrate_cold (the two came with that file, Linux 6.11),
 * otherwise the kernel release decides (>= 6.11), and the report says which
 * source it used. Quota goals on node memory use (`node_mem_used_bp`) are
 * inferred the same way from 6.16, and migrate actions under the per-process
 * `vaddr` operations (before, `paddr` only: physical ranges, whole nodes)
 * from 6.17.
 *
 * Pure over its inputs: `sysRoot` and `procRoot` default to the live trees
 * and point at fixture trees in tests.
 */
import { readTopology } from './read';
import { formatNodeList, listDirIfExists, readInt, readText } from './sysfs';
import type { Tier, Topology } from './types';

/** How serious a finding is: `ok` (as it should be), `note` (worth knowing or changing), `problem` (tiering cannot work as set up). */
export type DoctorSeverity = 'ok' | 'note' | 'problem';

/** One finding of {@link diagnose}. */
export interface DoctorFinding {
  /** Stable identifier, e.g. `tiers.single`, `demotion.off` (documented in docs/cli.md). */
  id: string;
  /** What the finding is about. */
  topic: 'tiers' | 'capacity' | 'demotion' | 'numa-balancing' | 'damon' | 'weighted-interleave' | 'thp';
  severity: DoctorSeverity;
  /** What was seen (one sentence). */
  summary: string;
  /** What it means for tiering on this machine. */
  meaning: string;
  /** The command that changes it, when there is one. */
  fix: string | undefined;
}

/** One kernel memory tier with the capacity of its nodes. */
export interface DoctorTier {
  /** N of `memory_tierN` (a higher number is a slower tier). */
  id: number;
  nodes: number[];
  /** hmsdk's type of each node in the tier (NORMAL / EXMEM), in node order. */
  types: Tier[];
  /** Sum of the nodes' MemTotal, bytes. */
  total: number;
  /** Sum of the nodes' MemFree, bytes. */
  free: number;
}

/** What {@link diagnose} read, and its findings. The `--json` output of `hmsdk doctor`. */
export interface DoctorReport {
  /** Kernel release (`/proc/sys/kernel/osrelease`), if readable. */
  kernel: string | undefined;
  /** Memory nodes: id, hmsdk type, MemTotal / MemFree bytes. */
  nodes: { id: number; type: Tier; total: number; free: number }[];
  /** Kernel memory tiers, fastest first; empty when the kernel has none. */
  tiers: DoctorTier[];
  /** `demotion_enabled`, undefined when the file is absent. */
  demotion: boolean | undefined;
  /** `numa_balancing` value and its meaning. */
  numaBalancing: { value: number | undefined; mode: 'off' | 'normal' | 'tiering' | 'normal+tiering' | undefined };
  damon: {
    /** `kernel/mm/damon/admin` exists (CONFIG_DAMON_SYSFS). */
    sysfs: boolean;
    /** Number of kdamonds configured now (`nr_kdamonds`). */
    kdamonds: number | undefined;
    /** DAMOS migrate_hot / migrate_cold (6.11+). */
    migrateActions: boolean;
    /** Quota goals on node memory use, `node_mem_used_bp` / `node_mem_free_bp` (6.16+). */
    nodeMemGoals: boolean;
    /** The migrate actions also work with the per-process `vaddr` operations (6.17+; before, `paddr` only: whole nodes). */
    vaddrMigrate: boolean;
    /** Where `migrateActions` / `nodeMemGoals` came from. */
    source: 'scheme' | 'kernel-release' | 'absent';
  };
  weightedInterleave: { available: boolean; auto: boolean | undefined };
  /** Transparent huge pages: the selected modes, undefined when absent. */
  thp: { enabled: string | undefined; defrag: string | undefined };
  findings: DoctorFinding[];
}

/** Where {@link diagnose} reads from. */
export interface DiagnoseOptions {
  /** sysfs root, default `/sys`. */
  sysRoot?: string;
  /** procfs root, default `/proc`. */
  procRoot?: string;
}

/** The selected word of a sysfs choice file: `always [madvise] never` → `madvise`. */
export function selectedChoice(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const m = /\[([^\]]+)\]/.exec(text);
  return m ? m[1] : undefined;
}

/** `6.12.117+deb13-amd64` → [6, 12]; undefined when the release does not start with major.minor. */
export function releaseVersion(release: string | undefined): [number, number] | undefined {
  const m = release === undefined ? null : /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function atLeast(v: [number, number] | undefined, major: number, minor: number): boolean {
  return v !== undefined && (v[0] > major || (v[0] === major && v[1] >= minor));
}

function balancingMode(value: number | undefined): DoctorReport['numaBalancing']['mode'] {
  if (value === undefined) return undefined;
  const normal = (value & 1) !== 0;
  const tiering = (value & 2) !== 0;
  return normal && tiering ? 'normal+tiering' : tiering ? 'tiering' : normal ? 'normal' : 'off';
}

/** A scheme directory of a configured kdamond, if one exists: `kdamonds/K/contexts/C/schemes/S`. */
function firstSchemeDir(admin: string): string | undefined {
  const kd = `${admin}/kdamonds`;
  for (const k of listDirIfExists(kd) ?? []) {
    if (!/^\d+$/.test(k)) continue;
    for (const c of listDirIfExists(`${kd}/${k}/contexts`) ?? []) {
      if (!/^\d+$/.test(c)) continue;
      for (const s of listDirIfExists(`${kd}/${k}/contexts/${c}/schemes`) ?? []) {
        if (/^\d+$/.test(s)) return `${kd}/${k}/contexts/${c}/schemes/${s}`;
      }
    }
  }
  return undefined;
}

function readDamon(sysRoot: string, version: [number, number] | undefined): DoctorReport['damon'] {
  const admin = `${sysRoot}/kernel/mm/damon/admin`;
  if (listDirIfExists(admin) === undefined) return { sysfs: false, kdamonds: undefined, migrateActions: false, nodeMemGoals: false, vaddrMigrate: false, source: 'absent' };
  const kdamonds = readInt(`${admin}/kdamonds/nr_kdamonds`);
  const nodeMemGoals = atLeast(version, 6, 16);
  const vaddrMigrate = atLeast(version, 6, 17);
  const scheme = firstSchemeDir(admin);
  const files = scheme === undefined ? undefined : listDirIfExists(scheme);
  if (files !== undefined) return { sysfs: true, kdamonds, migrateActions: files.includes('target_nid'), nodeMemGoals, vaddrMigrate: vaddrMigrate && files.includes('target_nid'), source: 'scheme' };
  return { sysfs: true, kdamonds, migrateActions: atLeast(version, 6, 11), nodeMemGoals, vaddrMigrate, source: 'kernel-release' };
}

function tierList(t: Topology): DoctorTier[] {
  const byId = new Map(t.nodes.map((n) => [n.id, n]));
  return [...t.tiers]
    .sort((a, b) => a.id - b.id)
    .map((tier) => {
      const nodes = tier.nodes.filter((id) => byId.has(id));
      return {
        id: tier.id,
        nodes,
        types: nodes.map((id) => byId.get(id)!.type),
        total: nodes.reduce((s, id) => s + byId.get(id)!.memTotal, 0),
        free: nodes.reduce((s, id) => s + byId.get(id)!.memFree, 0),
      };
    });
}

const GIB = 2 ** 30;
const size = (b: number) => (b >= GIB ? `${(b / GIB).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`);

/** How to get EXMEM nodes into a tier of their own: depends on whether the firmware describes them (HMAT). */
function oneTierFix(t: Topology, exmem: readonly number[]): string {
  const dax = 'online the CXL memory through the dax kmem driver (daxctl reconfigure-device --mode=system-ram daxX.Y puts it in a slower tier)';
  const blind = exmem.filter((id) => {
    const n = t.nodes.find((x) => x.id === id);
    return n !== undefined && n.access0 === undefined && n.access1 === undefined;
  });
  if (blind.length > 0) {
    return `the firmware gives no HMAT figures for node(s) ${formatNodeList(blind)}, so no kernel can rank them: ${dax}, or describe them in HMAT (the emulator: a preset with "hmat" entries, e.g. hmsdk emulate --topology cxl-expander --kernel 6.12)`;
  }
  return `this kernel put boot-time memory in one tier although HMAT describes it: ${dax}, or boot a kernel that derives tiers from HMAT (the emulator: hmsdk emulate --kernel 6.12)`;
}

function tierFindings(r: DoctorReport, t: Topology): DoctorFinding[] {
  const hasExmem = t.exmemNodes.length > 0;
  const out: DoctorFinding[] = [];
  const memNodes = r.nodes.length;
  if (memNodes <= 1) {
    out.push({
      id: 'tiers.one-node',
      topic: 'tiers',
      severity: 'ok',
      summary: 'one memory node: there is nothing to tier',
      meaning: 'allocations with tier EXMEM fail with ENODEV unless fallback is "normal"; run hmsdk emulate for a multi-node VM',
      fix: undefined,
    });
    return out;
  }
  if (r.tiers.length === 0) {
    out.push({
      id: 'tiers.none',
      topic: 'tiers',
      severity: hasExmem ? 'note' : 'ok',
      summary: 'the kernel exposes no memory tiers (no /sys/devices/virtual/memory_tiering)',
      meaning: 'the kernel neither demotes nor promotes between nodes by speed; hmsdk places and moves by its own NORMAL / EXMEM classification',
      fix: hasExmem ? 'use a kernel built with CONFIG_NUMA and CONFIG_MIGRATION (6.1+), where memory tiers exist' : undefined,
    });
    return out;
  }
  if (r.tiers.length === 1) {
    const only = r.tiers[0]!;
    out.push({
      id: 'tiers.single',
      topic: 'tiers',
      severity: hasExmem ? 'problem' : 'ok',
      summary: `all ${only.nodes.length} memory nodes (${formatNodeList(only.nodes)}) are in one memory tier (memory_tier${only.id})`,
      meaning: hasExmem
        ? 'the kernel sees DRAM and EXMEM as equally fast: reclaim never demotes to EXMEM and NUMA-balancing tiering mode never promotes from it, whatever demotion_enabled and numa_balancing say (HMSDK issues #2, #5); hmsdk placement, migrate() and TieredPool still work, they use hmsdk\'s own classification'
        : 'every node is DRAM-class: one tier is right',
      fix: hasExmem ? oneTierFix(t, t.exmemNodes) : undefined,
    });
    return out;
  }
  const mixed = r.tiers.filter((x) => x.types.includes('NORMAL') && x.types.includes('EXMEM'));
  for (const tier of mixed) {
    const ex = tier.nodes.filter((_, i) => tier.types[i] === 'EXMEM');
    out.push({
      id: 'tiers.exmem-with-dram',
      topic: 'tiers',
      severity: 'problem',
      summary: `EXMEM node(s) ${formatNodeList(ex)} share memory_tier${tier.id} with DRAM node(s) ${formatNodeList(tier.nodes.filter((_, i) => tier.types[i] === 'NORMAL'))}`,
      meaning: `the kernel neither demotes to nor promotes from node(s) ${formatNodeList(ex)}: they count as DRAM for reclaim and NUMA balancing`,
      fix: oneTierFix(t, ex),
    });
  }
  if (mixed.length === 0) {
    out.push({
      id: 'tiers.ok',
      topic: 'tiers',
      severity: 'ok',
      summary: `${r.tiers.length} memory tiers: ${r.tiers.map((t) => `tier ${t.id} = ${formatNodeList(t.nodes)} (${[...new Set(t.types)].join('+')})`).join(', ')}`,
      meaning: 'demotion (reclaim) and tiering-mode promotion (NUMA balancing) have a slower and a faster tier to move between',
      fix: undefined,
    });
  }
  return out;
}

function capacityFinding(r: DoctorReport): DoctorFinding {
  const rows = r.tiers.length ? r.tiers.map((t) => `tier ${t.id}: ${size(t.total)} total, ${size(t.free)} free`) : r.nodes.map((n) => `node ${n.id}: ${size(n.total)} total, ${size(n.free)} free`);
  const dram = r.nodes.filter((n) => n.type === 'NORMAL').reduce((s, n) => s + n.total, 0);
  const exmem = r.nodes.filter((n) => n.type === 'EXMEM').reduce((s, n) => s + n.total, 0);
  return {
    id: 'capacity',
    topic: 'capacity',
    severity: 'ok',
    summary: rows.join('; '),
    meaning: exmem > 0 ? `NORMAL ${size(dram)}, EXMEM ${size(exmem)}: a DRAM budget (TieredPool dramBudget) must fit in NORMAL's free memory` : `NORMAL ${size(dram)}, no EXMEM`,
    fix: undefined,
  };
}

function demotionFinding(r: DoctorReport, multiTier: boolean): DoctorFinding | undefined {
  if (r.nodes.length <= 1) return undefined;
  if (r.demotion === undefined) {
    return {
      id: 'demotion.absent',
      topic: 'demotion',
      severity: 'note',
      summary: 'no /sys/kernel/mm/numa/demotion_enabled: this kernel cannot demote on reclaim',
      meaning: 'cold pages under memory pressure are swapped or dropped, never moved to EXMEM; hmsdk TieredPool demotes its own entries',
      fix: undefined,
    };
  }
  if (!r.demotion) {
    return {
      id: 'demotion.off',
      topic: 'demotion',
      severity: 'note',
      summary: 'demotion on reclaim is off (demotion_enabled = false, the kernel default)',
      meaning: multiTier
        ? 'under DRAM pressure the kernel swaps or drops cold pages instead of moving them to the slower tier'
        : 'it would have no target anyway while all nodes share one tier',
      fix: 'echo true | sudo tee /sys/kernel/mm/numa/demotion_enabled',
    };
  }
  return {
    id: multiTier ? 'demotion.on' : 'demotion.no-target',
    topic: 'demotion',
    severity: multiTier ? 'ok' : 'note',
    summary: 'demotion on reclaim is on',
    meaning: multiTier ? 'cold DRAM pages move to the slower tier under memory pressure' : 'but there is no slower tier to demote to (see tiers)',
    fix: undefined,
  };
}

function balancingFinding(r: DoctorReport, multiTier: boolean): DoctorFinding | undefined {
  if (r.nodes.length <= 1) return undefined;
  const { value, mode } = r.numaBalancing;
  const toTiering = 'echo 2 | sudo tee /proc/sys/kernel/numa_balancing';
  if (mode === undefined) {
    return {
      id: 'numa-balancing.absent',
      topic: 'numa-balancing',
      severity: 'note',
      summary: 'no /proc/sys/kernel/numa_balancing (kernel without CONFIG_NUMA_BALANCING)',
      meaning: 'nothing in the kernel promotes hot EXMEM pages; only hmsdk migrate() / TieredPool move memory',
      fix: undefined,
    };
  }
  const kept = 'it moves hmsdk buffers only toward the nodes their policy names (a bind buffer on EXMEM stays there)';
  if (mode === 'off') {
    return {
      id: 'numa-balancing.off',
      topic: 'numa-balancing',
      severity: 'note',
      summary: 'NUMA balancing is off (numa_balancing = 0)',
      meaning: 'the kernel never promotes hot pages of ordinary memory from EXMEM to DRAM',
      fix: multiTier ? toTiering : undefined,
    };
  }
  if (mode === 'normal') {
    return {
      id: 'numa-balancing.normal',
      topic: 'numa-balancing',
      severity: 'note',
      summary: `NUMA balancing is in normal mode (numa_balancing = ${String(value)})`,
      meaning: `pages move toward the node of the CPU that touches them, hot or not and without a rate limit; the tiering mode (2) promotes only hot pages from slower tiers, rate-limited; ${kept}`,
      fix: multiTier ? toTiering : undefined,
    };
  }
  return {
    id: multiTier ? 'numa-balancing.tiering' : 'numa-balancing.tiering-no-tiers',
    topic: 'numa-balancing',
    severity: multiTier ? 'ok' : 'note',
    summary: `NUMA balancing is in ${mode} mode (numa_balancing = ${String(value)})`,
    meaning: multiTier ? `hot pages of slower tiers are promoted to DRAM; ${kept}` : 'tiering mode promotes between tiers, and all nodes share one (see tiers)',
    fix: undefined,
  };
}

function damonFinding(r: DoctorReport, hasExmem: boolean): DoctorFinding {
  const d = r.damon;
  if (!d.sysfs) {
    return {
      id: 'damon.absent',
      topic: 'damon',
      severity: hasExmem ? 'note' : 'ok',
      summary: 'no DAMON sysfs interface (/sys/kernel/mm/damon/admin absent: CONFIG_DAMON_SYSFS off)',
      meaning: 'access-driven page migration for unmodified programs (DAMOS migrate_hot / migrate_cold) is not available; NUMA balancing is the kernel alternative',
      fix: hasExmem ? 'use a kernel with CONFIG_DAMON, CONFIG_DAMON_PADDR and CONFIG_DAMON_SYSFS (Debian 6.12 has them)' : undefined,
    };
  }
  const how = d.source === 'scheme' ? 'seen in an existing scheme' : `inferred from kernel ${r.kernel ?? '?'}`;
  if (!d.migrateActions) {
    return {
      id: 'damon.no-migrate',
      topic: 'damon',
      severity: 'note',
      summary: `DAMON sysfs present, without DAMOS migrate_hot / migrate_cold (${how}; they came in 6.11)`,
      meaning: 'DAMON can monitor and page out or reclaim, not move pages between nodes',
      fix: 'a 6.11+ kernel for migrate_hot / migrate_cold',
    };
  }
  return {
    id: 'damon.migrate',
    topic: 'damon',
    severity: 'ok',
    summary: `DAMON sysfs with DAMOS migrate_hot / migrate_cold (${how})${d.nodeMemGoals ? ' and node_mem_used_bp quota goals' : ''}; ${String(d.kdamonds ?? 0)} kdamond(s) configured`,
    meaning:
      (d.vaddrMigrate
        ? 'the kernel can move one process\'s hot pages to DRAM and cold ones to EXMEM (vaddr operations)'
        : 'the kernel can move hot pages to DRAM and cold ones to EXMEM by physical address range (paddr operations: whole nodes, not one process; per-process vaddr migration came in 6.17)') +
      (d.nodeMemGoals ? ', self-tuned toward a DRAM-use goal' : '; aggressiveness is set by quotas, not by a DRAM-use goal (6.16)'),
    fix: undefined,
  };
}

function interleaveFinding(r: DoctorReport, hasExmem: boolean): DoctorFinding | undefined {
  if (!hasExmem) return undefined;
  const wi = r.weightedInterleave;
  if (!wi.available) {
    return {
      id: 'weighted-interleave.absent',
      topic: 'weighted-interleave',
      severity: 'ok',
      summary: 'no kernel weighted interleave (MPOL_WEIGHTED_INTERLEAVE came in 6.9)',
      meaning: 'hmsdk policy "weighted" uses its userspace stripe instead, with the same page ratios',
      fix: undefined,
    };
  }
  if (wi.auto === undefined) {
    return {
      id: 'weighted-interleave.manual',
      topic: 'weighted-interleave',
      severity: 'ok',
      summary: 'kernel weighted interleave with manual global weights (no auto mode before 6.16)',
      meaning: 'hmsdk uses the kernel mode when its weights equal the global ones, else its stripe; hmsdk weights --apply writes them',
      fix: undefined,
    };
  }
  return {
    id: wi.auto ? 'weighted-interleave.auto' : 'weighted-interleave.manual',
    topic: 'weighted-interleave',
    severity: 'ok',
    summary: `kernel weighted interleave, weights ${wi.auto ? 'derived by the kernel from HMAT/CDAT bandwidth (auto)' : 'set by hand (auto = false)'}`,
    meaning: wi.auto ? 'writing any nodeN weight (hmsdk weights --apply) switches the kernel to manual' : 'the kernel would derive weights from bandwidth with auto mode',
    fix: wi.auto ? undefined : 'echo true | sudo tee /sys/kernel/mm/mempolicy/weighted_interleave/auto',
  };
}

function thpFinding(r: DoctorReport): DoctorFinding | undefined {
  const { enabled, defrag } = r.thp;
  if (enabled === undefined) return undefined;
  if (enabled === 'never') {
    return {
      id: 'thp.never',
      topic: 'thp',
      severity: 'ok',
      summary: 'transparent huge pages off',
      meaning: 'every move is in 4 KiB pages: migrate() and TieredPool move exactly the buffers asked',
      fix: undefined,
    };
  }
  const stall = defrag === 'always' ? '; defrag = always stalls faults on compaction (madvise or defer is the usual choice)' : '';
  return {
    id: `thp.${enabled}`,
    topic: 'thp',
    severity: defrag === 'always' ? 'note' : 'ok',
    summary: `transparent huge pages: enabled = ${enabled}, defrag = ${defrag ?? '?'}`,
    meaning:
      (enabled === 'always'
        ? 'anonymous memory gets 2 MiB pages where a mapping covers an aligned 2 MiB; the kernel migrates a huge page whole, so hmsdk maps every buffer so that none shares a huge page with another (migrate() reports any neighbour pages moved)'
        : 'only memory that asks (MADV_HUGEPAGE) gets 2 MiB pages') + stall,
    fix: defrag === 'always' ? 'echo defer+madvise | sudo tee /sys/kernel/mm/transparent_hugepage/defrag' : undefined,
  };
}

/**
 * Read the machine's tiering set-up and judge it.
 *
 * @param options - `sysRoot` / `procRoot` (fixture trees in tests)
 * @returns what was read, and one finding per topic (two or more for tiers when several mix DRAM and EXMEM)
 * @throws HmsdkError `ECONFIG` when a kernel file is not a regular file (see the topology reader)
 */
export function diagnose(options: DiagnoseOptions = {}): DoctorReport {
  const sysRoot = options.sysRoot ?? '/sys';
  const procRoot = options.procRoot ?? '/proc';
  const t = readTopology({ sysRoot });
  const kernel = readText(`${procRoot}/sys/kernel/osrelease`)?.trim() || undefined;
  const version = releaseVersion(kernel);
  const demotionText = readText(`${sysRoot}/kernel/mm/numa/demotion_enabled`)?.trim();
  const balancing = readInt(`${procRoot}/sys/kernel/numa_balancing`);
  const thpDir = `${sysRoot}/kernel/mm/transparent_hugepage`;
  const report: DoctorReport = {
    kernel,
    nodes: t.nodes.map((n) => ({ id: n.id, type: n.type, total: n.memTotal, free: n.memFree })),
    tiers: tierList(t),
    demotion: demotionText === undefined ? undefined : demotionText === 'true' || demotionText === '1' || demotionText === 'Y',
    numaBalancing: { value: balancing, mode: balancingMode(balancing) },
    damon: readDamon(sysRoot, version),
    weightedInterleave: { available: t.weightedInterleave.available, auto: t.weightedInterleave.auto },
    thp: { enabled: selectedChoice(readText(`${thpDir}/enabled`)), defrag: selectedChoice(readText(`${thpDir}/defrag`)) },
    findings: [],
  };
  const hasExmem = t.exmemNodes.length > 0;
  const multiTier = report.tiers.length > 1 && !report.tiers.some((x) => x.types.includes('NORMAL') && x.types.includes('EXMEM'));
  const all = [
    ...tierFindings(report, t),
    capacityFinding(report),
    demotionFinding(report, multiTier),
    balancingFinding(report, multiTier),
    damonFinding(report, hasExmem),
    interleaveFinding(report, hasExmem),
    thpFinding(report),
  ];
  report.findings = all.filter((f): f is DoctorFinding => f !== undefined);
  return report;
}
