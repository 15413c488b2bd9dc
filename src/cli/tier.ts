/**
 * `hmsdk tier`: page-level tiering for an unmodified program. The program
 * starts with its memory on EXMEM (the preload, as `hmsdk run --tier exmem
 * --policy preferred`, with mappings kept granule-sized); a controller
 * beside it (src/tiering/pages/tierer.ts) moves the granules it finds hot
 * to DRAM and cold ones back, within a DRAM budget, every move checked by
 * move_pages. With `--pid` the controller attaches to a running process.
 *
 * The launcher still execs the program in its own process (same pid,
 * stdio, signals, exit status). The controller is started just before, as
 * an orphan (`sh -c '... &'`, so it is nobody's child: no zombie in the
 * program, no SIGCHLD): it waits for the pid to become the program (whose
 * environment, unlike the launcher's, holds HMSDK_TIER=<a random token>),
 * tiers it while it runs, and prints one line when it exits.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HmsdkError } from '../errors';
import { PageTierer, type TiererStats } from '../tiering/pages/tierer';
import { damonUnusable, openMonitor, type MonitorChoice } from '../tiering/pages/open';
import { TrackedProcess } from '../tiering/pages/process';
import { DEFAULT_WINDOW_MS } from '../tiering/pages/sample';
import { readTopology } from '../topology';
import type { Topology } from '../topology/types';
import { formatBytes } from '../util/bytes';
import { parseArgs, UsageError } from './args';
import { sysRootFlag } from './paths';
import { launch, sizeFlag } from './run';

const MiB = 2 ** 20;
const DEFAULT_INTERVAL_MS = 1000;
const DEFAULT_MAX_MOVE = 64 * MiB;
const DEFAULT_GRANULE = 2 * MiB;
/**
 * With the sampler, a pass that moved nothing while the program's accesses all went to DRAM
 * (at most IDLE_COLD_SHARE of them elsewhere) doubles the time to the next
 * one, up to this many intervals; any other pass resets it. Every pass
 * walks the program's page tables three times (clear_refs, smaps,
 * numa_maps: ~10 ms of kernel time each per GiB), which a program running
 * from DRAM need not pay every second; one whose accesses reach EXMEM is
 * watched at the full rate (a monitor that reads some hot pages as idle,
 * as DAMON can, needs the passes to find them).
 */
const IDLE_BACKOFF_MAX = 8;
const IDLE_COLD_SHARE = 0.05;
/** How long the controller waits for the launcher's exec. */
const EXEC_WAIT_MS = 30_000;

/** Help text. */
export const help = `usage: hmsdk tier [options] -- COMMAND [ARGS...]
       hmsdk tier [options] --pid PID

Page-level tiering for an unmodified program: its memory starts on EXMEM
(hmsdk's preload, non-strict), and a controller beside it keeps the pages it
uses most on DRAM and the rest on EXMEM, within a DRAM budget. Access is seen
by sampling the page tables' accessed bits (MADV_COLD or clear_refs, then
smaps; reads count too) or by DAMON (vaddr). Every move is a
move_pages call whose result is checked; DRAM use is the kernel's count
(numa_maps). One line when the program exits.

options:
  --dram-budget SIZE     most DRAM the program may use (default: the DRAM
                         node's free memory at start, less 5% of it)
  --interval MS          time between passes (default ${DEFAULT_INTERVAL_MS}); while the program
                         runs from DRAM and nothing moves it doubles, up to ${IDLE_BACKOFF_MAX}x
  --max-move SIZE        bytes moved per pass at most (default 64MiB)
  --granule SIZE         unit of temperature and of moves (default 2MiB)
  --monitor M            auto | damon | sample (default auto: the page-table
                         sampler when it may flush the TLB (root), else DAMON
                         if the kernel has it, else the sampler)
  --window MS            the sampler's window (default ${DEFAULT_WINDOW_MS})
  --pid PID              attach to a running process instead of starting one
                         (its mappings are as large as the kernel made them)
  --verbose              a line per pass that moved something or saw accesses off DRAM
  --stats-json           the exit line as JSON
  --sys-root DIR         read another sysfs tree (tests)

examples:
  hmsdk tier --dram-budget 4GiB -- redis-server --save ''
  hmsdk tier --pid 4242 --dram-budget 512MiB`;

interface TierFlags {
  budget: number;
  intervalMs: number;
  maxMove: number;
  granule: number;
  monitor: MonitorChoice;
  windowMs: number;
  verbose: boolean;
  json: boolean;
  sysRoot: string;
}

function msFlag(text: string, flag: string, min: number, max: number): number {
  const v = Number(text);
  if (!/^\d+$/.test(text) || v < min || v > max) throw new UsageError(`${flag} takes milliseconds ${min}..${max}, got '${text}'`);
  return v;
}

function tierNodes(topo: Topology): { dram: number[]; exmem: number } {
  const exmem = topo.exmemNodes[0];
  if (topo.normalNodes.length === 0 || exmem === undefined) {
    throw new HmsdkError('ENODEV', `tiering needs a DRAM node and an EXMEM node (this machine: DRAM ${topo.normalNodes.join(',') || 'none'}, EXMEM ${topo.exmemNodes.join(',') || 'none'}); try 'hmsdk emulate'`);
  }
  return { dram: topo.normalNodes, exmem };
}

export async function run(argv: string[]): Promise<number> {
  const { flags, positionals, rest } = parseArgs(argv, {
    'dram-budget': { type: 'string' },
    interval: { type: 'string' },
    'max-move': { type: 'string' },
    granule: { type: 'string' },
    monitor: { type: 'string' },
    window: { type: 'string' },
    pid: { type: 'string' },
    'wait-exec': { type: 'string' },
    verbose: { type: 'boolean' },
    'stats-json': { type: 'boolean' },
    'sys-root': { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' (put the command after --)`);
  const sysRoot = sysRootFlag(flags['sys-root']);
  const topo = readTopology({ sysRoot });
  const nodes = tierNodes(topo);
  const monitor = String(flags.monitor ?? 'auto');
  if (!['auto', 'damon', 'sample'].includes(monitor)) throw new UsageError(`--monitor must be auto, damon or sample, got '${monitor}'`);
  const granule = flags.granule === undefined ? DEFAULT_GRANULE : sizeFlag(String(flags.granule), '--granule');
  if (granule < 4096 || granule % 4096 !== 0 || granule > 1024 * MiB) throw new UsageError(`--granule must be a multiple of 4KiB up to 1GiB, got ${granule}`);
  const dramNode = topo.nodes.find((n) => n.id === nodes.dram[0]);
  const budget = flags['dram-budget'] === undefined ? Math.floor((dramNode?.memFree ?? 0) * 0.95) : sizeFlag(String(flags['dram-budget']), '--dram-budget');
  const f: TierFlags = {
    budget,
    intervalMs: flags.interval === undefined ? DEFAULT_INTERVAL_MS : msFlag(String(flags.interval), '--interval', 10, 3_600_000),
    maxMove: flags['max-move'] === undefined ? DEFAULT_MAX_MOVE : sizeFlag(String(flags['max-move']), '--max-move'),
    granule,
    monitor: monitor as MonitorChoice,
    windowMs: flags.window === undefined ? DEFAULT_WINDOW_MS : msFlag(String(flags.window), '--window', 1, 60_000),
    verbose: flags.verbose === true,
    json: flags['stats-json'] === true,
    sysRoot,
  };
  if (f.maxMove < granule) throw new UsageError(`--max-move (${f.maxMove}) must be at least one granule (${granule})`);

  if (flags.pid !== undefined) {
    if (rest.length) throw new UsageError('--pid and a command are exclusive');
    const pid = Number(flags.pid);
    if (!/^\d+$/.test(String(flags.pid)) || pid < 1 || pid > 2 ** 22) throw new UsageError(`--pid takes a process id, got '${flags.pid}'`);
    return control(pid, f, nodes, flags['wait-exec'] === undefined ? undefined : String(flags['wait-exec']));
  }
  if (flags['wait-exec'] !== undefined) throw new UsageError('--wait-exec goes with --pid');
  if (rest.length === 0) throw new UsageError("no command: put it after '--', e.g. hmsdk tier --dram-budget 1GiB -- node app.js");
  // said before the program starts, not by the controller after
  const noDamon = f.monitor === 'damon' ? damonUnusable(sysRoot) : undefined;
  if (noDamon !== undefined) throw new HmsdkError('ENOTSUP', `--monitor damon: DAMON cannot be used here: ${noDamon}`);
  const token = randomBytes(8).toString('hex');
  return launch({ tier: 'exmem', policy: 'preferred', granule, expect: 0 }, rest, {
    sysRoot: flags['sys-root'],
    env: { HMSDK_TIER: token },
    beforeExec: () => startController(f, token),
  });
}

/** The controller as an orphan process (see the header), told to wait for this pid to exec a program whose environment holds HMSDK_TIER=token. */
function startController(f: TierFlags, token: string): void {
  const bin = path.join(__dirname, '..', '..', 'bin', 'hmsdk.js');
  const args = [bin, 'tier', '--pid', String(process.pid), '--wait-exec', token, '--dram-budget', String(f.budget), '--interval', String(f.intervalMs),
    '--max-move', String(f.maxMove), '--granule', String(f.granule), '--monitor', f.monitor, '--window', String(f.windowMs), '--sys-root', f.sysRoot];
  if (f.verbose) args.push('--verbose');
  if (f.json) args.push('--stats-json');
  const r = spawnSync('/bin/sh', ['-c', '"$0" "$@" &', process.execPath, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new HmsdkError('ETOOL', `cannot start the tiering controller (${r.error?.message ?? `sh exited with ${r.status}`})`);
}

/** Tier process `pid` until it exits; 0, or 1 when it could not be tiered. */
async function control(pid: number, f: TierFlags, nodes: { dram: number[]; exmem: number }, waitExec: string | undefined): Promise<number> {
  const say = (line: string) => process.stderr.write(`hmsdk tier: ${line}\n`);
  let proc: TrackedProcess;
  try {
    proc = new TrackedProcess(pid);
  } catch (e) {
    if (waitExec === undefined || !(e instanceof HmsdkError && e.code === 'ESRCH')) throw e;
    say(`pid ${pid} exited before the first pass`); // a short program: nothing to tier
    return 0;
  }
  if (waitExec !== undefined) {
    const deadline = Date.now() + EXEC_WAIT_MS;
    while (!proc.environ().includes(`\0HMSDK_TIER=${waitExec}\0`)) {
      if (!proc.alive() || Date.now() > deadline) return 1; // the launcher failed before exec (it said why)
      await sleep(10);
    }
  }
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  const { monitor, note, fallback } = openMonitor(proc, f.monitor, { sysRoot: f.sysRoot, windowMs: f.windowMs });
  if (f.verbose) say(`pid ${pid}: monitor ${note}${fallback === undefined ? '' : `, not DAMON: ${fallback}`}`);
  const tierer = new PageTierer(proc, monitor, { dramNode: nodes.dram[0]!, dramNodes: nodes.dram, exmemNode: nodes.exmem, budget: f.budget, granule: f.granule, maxBytesPerTick: f.maxMove });
  // Attached (--pid): SIGINT / SIGTERM stop the controller. Beside a program
  // it launched, they are the program's to handle (they reach the whole
  // process group): the controller runs until the program exits.
  let stop = false;
  const onSignal = waitExec === undefined ? () => (stop = true) : () => undefined;
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  let failure: string | undefined;
  let interval = f.intervalMs;
  try {
    while (!stop && proc.alive()) {
      const t0 = Date.now();
      let r;
      try {
        r = await tierer.tick();
      } catch (e) {
        if (e instanceof HmsdkError && e.code === 'ESRCH') break;
        throw e;
      }
      if (f.verbose && (r.promoted || r.demoted || r.notMoved || r.coldAccessShare > IDLE_COLD_SHARE)) {
        say(`pass ${tierer.stats().ticks}: +${formatBytes(r.promoted)} to DRAM, -${formatBytes(r.demoted)}${r.notMoved ? `, ${formatBytes(r.notMoved)} not moved` : ''}; DRAM ${formatBytes(r.dramBytes)} of ${formatBytes(f.budget)}; ${(r.coldAccessShare * 100).toFixed(0)}% of accesses off DRAM${r.truncated ? ' (move bound reached)' : ''}`);
      }
      // DAMON monitors all the time anyway, and its blind spot (pages cached in the TLB read idle) would pass for idleness here
      const idle = monitor.kind === 'sample' && !r.promoted && !r.demoted && !r.truncated && r.coldAccessShare <= IDLE_COLD_SHARE;
      interval = idle ? Math.min(interval * 2, f.intervalMs * IDLE_BACKOFF_MAX) : f.intervalMs;
      const left = interval - (Date.now() - t0);
      if (left > 0) await sleep(left);
    }
  } catch (e) {
    failure = (e as Error).message;
  } finally {
    monitor.close();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  const cpu = process.cpuUsage(cpu0);
  const s = tierer.stats();
  const seconds = (Date.now() - started) / 1000;
  if (f.json) process.stderr.write(JSON.stringify({ hmsdkTier: { pid, seconds, monitor: tierer.monitor, budget: f.budget, ...s, cpuSeconds: (cpu.user + cpu.system) / 1e6, error: failure } }) + '\n');
  else say(exitLine(pid, seconds, note, f.budget, s, (cpu.user + cpu.system) / 1e6) + (failure ? `; stopped early: ${failure}` : ''));
  return failure ? 1 : 0;
}

function exitLine(pid: number, seconds: number, note: string, budget: number, s: TiererStats, cpu: number): string {
  return (
    `pid ${pid}, ${seconds.toFixed(1)} s: DRAM ${formatBytes(s.dramBytes)} of a ${formatBytes(budget)} budget at the last pass (peak ${formatBytes(s.peakDramBytes)}; numa_maps), ` +
    `anonymous resident ${formatBytes(s.residentBytes)}; promoted ${formatBytes(s.promotedBytes)}, demoted ${formatBytes(s.demotedBytes)} in ${s.moves} moves ` +
    `(move_pages; ${formatBytes(s.notMovedBytes)} stayed put); monitor ${note}, ${s.ticks} passes, controller CPU ${cpu.toFixed(2)} s`
  );
}
