/**
 * `hmsdk stats`: memory per node and per tier (NORMAL / EXMEM), like
 * `numastat -m` + `free -h`; `-p PID|NAME` for one process from its
 * /proc/PID/numa_maps (like `numastat -p`). Reads sysfs through the SDK's
 * one topology reader; does not load the native addon (start-up cost).
 * Shared store objects (src/store) are listed per store, node and tier
 * from their managers' status files.
 */
import { HmsdkError } from '../errors';
import { listKernelDir } from '../kernel/files';
import { readNumaMaps } from '../topology/numa-maps';
import { KINDS, processName, processStats, systemStats } from '../topology/usage';
import { formatNodeList, readTopology } from '../topology';
import { readStoreStatus, type StoreStatus } from '../store/status';
import { storeDir } from '../store/paths';
import type { Topology } from '../topology/types';
import { formatBytes } from '../util/bytes';
import { parseArgs, UsageError } from './args';
import { colours, table } from './format';
import { sysRootFlag } from './paths';

/** Help text. */
export const help = `usage: hmsdk stats [options]

Memory per NUMA node and per tier (NORMAL = DRAM, EXMEM = CXL / expander).

options:
  -p, --pid PID|NAME   one process's resident memory per node and tier (numa_maps)
  --json               machine-readable output
  --watch [SECONDS]    redraw every SECONDS (0.1 to 86400, default 2) until Ctrl-C
  --bytes              exact byte counts instead of human units
  --sys-root DIR       read a sysfs tree other than /sys (fixtures, captures)

examples:
  hmsdk stats
  hmsdk stats --json | jq .tiers.EXMEM.free
  hmsdk stats -p $(pgrep -n node)
  hmsdk stats -p redis-server --watch 1`;

/** Entries of /proc: one per process (PID_MAX_LIMIT is 2^22) plus its fixed files. */
const PROC_MAX_ENTRIES = 2 ** 22 + 1024;

/** Resolve `-p` argument: a PID, or a unique process name. @internal */
export function resolvePid(arg: string): number {
  if (/^\d+$/.test(arg)) return Number(arg);
  const matches: number[] = [];
  for (const d of listKernelDir('/proc', PROC_MAX_ENTRIES)) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    if (processName(Number(d)) === arg) matches.push(Number(d));
  }
  if (matches.length === 0) throw new HmsdkError('ENODEV', `no process named '${arg}'`);
  if (matches.length > 1) throw new UsageError(`${matches.length} processes are named '${arg}' (${matches.join(', ')}): pass a PID`);
  return matches[0] as number;
}

function renderSystem(s: ReturnType<typeof systemStats>, fmt: (n: number) => string): string {
  const c = colours();
  const pct = (u: number, t: number) => (t ? `${Math.round((100 * u) / t)}%` : '-');
  const rows: string[][] = [['NODE', 'TIER', 'CPUS', 'TOTAL', 'USED', 'FREE', 'USE%'].map((h) => c.bold(h))];
  for (const n of s.nodes) {
    const tier = n.tier === 'EXMEM' ? c.cyan(n.tier) : n.tier;
    rows.push([String(n.id), tier, n.cpus, fmt(n.total), fmt(n.inUse), fmt(n.free), pct(n.inUse, n.total)]);
  }
  for (const ty of ['NORMAL', 'EXMEM'] as const) {
    const x = s.tiers[ty];
    rows.push([c.dim('tier'), ty, x.nodes.length ? formatNodeList(x.nodes) : '-', fmt(x.total), fmt(x.inUse), fmt(x.free), pct(x.inUse, x.total)]);
  }
  rows.push([c.bold('total'), '', '', fmt(s.total.total), fmt(s.total.inUse), fmt(s.total.free), pct(s.total.inUse, s.total.total)]);
  return table(rows, [false, false, false, true, true, true, true]);
}

function renderProcess(p: ReturnType<typeof processStats>, fmt: (n: number) => string): string {
  const c = colours();
  const rows: string[][] = [['NODE', 'TIER', ...KINDS.map((k) => k.toUpperCase()), 'TOTAL'].map((h) => c.bold(h))];
  for (const n of p.nodes) rows.push([String(n.id), n.tier, ...KINDS.map((k) => fmt(n[k] as number)), fmt(n.total)]);
  rows.push([c.dim('tier'), 'NORMAL', '', '', '', '', '', fmt(p.tiers.NORMAL)]);
  rows.push([c.dim('tier'), 'EXMEM', '', '', '', '', '', fmt(p.tiers.EXMEM)]);
  rows.push([c.bold('total'), '', '', '', '', '', '', fmt(p.total)]);
  return `process ${p.pid} (${p.name})\n` + table(rows, [false, false, true, true, true, true, true, true]);
}

/** Store memory per store and node (the managers' status files), with the node's tier. */
function storeRows(t: Topology, stores: StoreStatus[]): { name: string; pid: number; node: number; tier: string; objects: number; bytes: number }[] {
  const rows = [];
  for (const s of stores) {
    const perNode = new Map<number, { objects: number; bytes: number }>();
    for (const o of s.objects) {
      for (const [n, b] of Object.entries(o.nodes)) {
        const e = perNode.get(Number(n)) ?? { objects: 0, bytes: 0 };
        e.objects++;
        e.bytes += b;
        perNode.set(Number(n), e);
      }
    }
    for (const [node, e] of [...perNode].sort((a, b) => a[0] - b[0])) {
      const tier = t.exmemNodes.includes(node) ? 'EXMEM' : t.normalNodes.includes(node) ? 'NORMAL' : '?';
      rows.push({ name: s.name, pid: s.pid, node, tier, ...e });
    }
  }
  return rows;
}

function renderStores(rows: ReturnType<typeof storeRows>, fmt: (n: number) => string): string {
  const c = colours();
  const out: string[][] = [['STORE', 'PID', 'NODE', 'TIER', 'OBJECTS', 'BYTES'].map((h) => c.bold(h))];
  for (const r of rows) out.push([r.name, String(r.pid), String(r.node), r.tier, String(r.objects), fmt(r.bytes)]);
  return table(out, [false, true, false, false, true, true]);
}

// --watch bounds: faster than 0.1 s is a busy loop of sysfs reads; a day is
// the longest useful interval, and keeps the delay far below setInterval's
// 2^31-1 ms (beyond it Node fires every millisecond).
const WATCH_MIN_SECONDS = 0.1;
const WATCH_MAX_SECONDS = 86_400;

/** Run `hmsdk stats`. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    pid: { type: 'string', short: 'p' },
    json: { type: 'boolean' },
    watch: { type: 'string', optionalDefault: '2' },
    bytes: { type: 'boolean' },
    'sys-root': { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  let interval: number | undefined;
  if (flags.watch !== undefined) {
    interval = Number(flags.watch);
    if (!(interval >= WATCH_MIN_SECONDS && interval <= WATCH_MAX_SECONDS)) {
      throw new UsageError(`--watch needs a number of seconds from ${WATCH_MIN_SECONDS} to ${WATCH_MAX_SECONDS}, got '${String(flags.watch)}'`);
    }
  }
  const sysRoot = sysRootFlag(flags['sys-root']);
  const pid = typeof flags.pid === 'string' ? resolvePid(flags.pid) : undefined;
  const fmt = flags.bytes ? (n: number) => String(n) : (n: number) => formatBytes(n, { compact: true });
  const t = readTopology({ sysRoot });
  const once = (): string => {
    if (pid !== undefined) {
      const p = processStats(t, pid, readNumaMaps(pid));
      return flags.json ? JSON.stringify(p) : renderProcess(p, fmt);
    }
    const s = systemStats(t);
    // Stores are this host's: not shown for another sysfs tree.
    const stores = flags['sys-root'] === undefined ? storeRows(t, readStoreStatus(storeDir())) : [];
    if (flags.json) return JSON.stringify({ ...s, stores });
    return renderSystem(s, fmt) + (stores.length ? `\n\nshared store objects (hmsdk store ls NAME for details)\n${renderStores(stores, fmt)}` : '');
  };
  if (interval === undefined) {
    process.stdout.write(once() + '\n');
    return 0;
  }
  const tty = process.stdout.isTTY;
  return new Promise<number>((resolve, reject) => {
    const draw = () => {
      let text: string;
      try {
        text = once();
      } catch (err) {
        clearInterval(timer);
        reject(err); // main prints it, like any other failure
        return;
      }
      process.stdout.write(tty && !flags.json ? `\x1b[H\x1b[2J${new Date().toISOString()}  every ${interval}s, Ctrl-C to stop\n${text}\n` : text + '\n');
    };
    const timer = setInterval(draw, interval * 1000);
    draw();
    process.once('SIGINT', () => {
      clearInterval(timer);
      resolve(0);
    });
  });
}
