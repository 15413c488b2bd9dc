/**
 * `hmsdk run`: transparent mode. Runs an unmodified program with the
 * preload library (hmsdk_preload.so from native/preload/, next to the addon
 * in build/Release/ or prebuilds/<platform>-<arch>/) so its
 * large allocations land on the chosen tier or nodes.
 *
 * The preload only knows node ids: this command resolves tiers with the
 * SDK's one topology reader (`readTopology`), turns the options into
 * `HMSDK_CONF`, prepends the library to `LD_PRELOAD` and execs the
 * command in this very process (src/preload/launch.ts): the program keeps
 * the pid, process group, stdio and exit status, and gets each signal once.
 */
import * as os from 'node:os';
import { HmsdkError } from '../errors';
import { native } from '../alloc/native';
import { buildConf, PreloadConfError, type RunOptions, type RunPlan } from '../preload/conf';
import { isStaticElf, resolveCommand, taskPolicy } from '../preload/launch';
import { preloadPath } from '../preload/library';
import { parseNodeList, readTopology } from '../topology';
import { parseArgs, UsageError } from './args';
import { parseSize } from './format';
import { sysRootFlag } from './paths';

/** Help text. */
export const help = `usage: hmsdk run [options] -- COMMAND [ARGS...]

Run COMMAND with hmsdk's preload library: every malloc-family block (small
ones from node-bound arenas, large ones as their own placed mappings) and
every private anonymous mapping the program makes itself (jemalloc, pymalloc,
the V8 heap) is placed on the chosen nodes. No code changes; child processes
inherit the placement (LD_PRELOAD and HMSDK_CONF are in their environment). hmsdk run execs COMMAND in its
own process: same pid, process group, stdio and exit status, each signal
once. A static COMMAND gets the task memory policy instead (numactl-style).

target (one of):
  --tier exmem|normal     nodes of a tier, from the topology (default exmem)
  --nodes LIST            node ids, e.g. 1 or 0,2-3
options:
  --policy P              bind | preferred | interleave | weighted (default bind)
  --weighted [N:W,...]    userspace weighted stripe; without pairs the weights
                          come from the policy engine (hmsdk weights)
  --stripe SIZE           stripe unit of --weighted (default 2MiB)
  --min-size SIZE         blocks smaller than SIZE stay with glibc (default 0:
                          every block is placed)
  --no-maps               leave the program's own anonymous mmaps unplaced
  --maps                  place them even with --cap (they are not capped)
  --task-policy           also set the task memory policy before exec (non-strict,
                          numactl-style): raw system calls, thread stacks and the
                          page cache follow the target too
  --maps-min SIZE         place only own mappings of at least SIZE
  --expect PCT            warn at exit when less than PCT% of the program's
                          anonymous memory is on the target (default 95; 0 off)
  --cap SIZE              limit on live placed bytes
  --overflow MODE         cap reached or node full: fail (NULL/ENOMEM) |
                          fallback (glibc, default) | interleave (all nodes)
  --populate              fault placed memory in at allocation (exact free-
                          memory checks, no lazy surprises)
  --reserve SIZE          free memory to leave on each bound node (default 64MiB)
  --stats                 print placement statistics when the program exits
  --stats-file PATH       write them to PATH instead (%p = pid; one per process)
  --stats-json            statistics as JSON lines
  --verbose               one line at start; twice (-v -v not supported: use
                          --verbose=2) logs every placement
  --print-env             print the environment that would be set and exit
  --sys-root DIR          read another sysfs tree (tests)

SIZE: bytes, or with a suffix K/M/G/T (KiB, MiB, ... are accepted, all binary).

examples:
  hmsdk run --tier exmem -- node server.js
  hmsdk run --nodes 1 --min-size 4MiB --stats -- python3 train.py
  hmsdk run --weighted 0:3,1:1 -- ./bandwidth-bound-app
  hmsdk run --tier exmem --cap 2GiB --overflow fallback --stats -- node batch.js
  hmsdk run --tier exmem --print-env   # then: env $(hmsdk run ... --print-env) CMD

Node.js programs: Buffers and ArrayBuffers (calloc/malloc) and the V8 heap
(V8's own mmaps) are placed. Thread stacks, file mappings and the page cache
are left alone. NODE_OPTIONS is left alone.`;

/** Parse a size flag ("1MiB", "512M", "4096"; binary units) or throw a UsageError naming the flag. */
export function sizeFlag(text: string, flag: string): number {
  const v = parseSize(text);
  if (v === undefined) throw new UsageError(`${flag}: bad size '${text}' (expected e.g. 4096, 512K, 1MiB, 2G)`);
  return v;
}

function parseWeights(text: string): Record<number, number> {
  const out: Record<number, number> = {};
  for (const part of text.split(',')) {
    const m = /^(\d+):(\d+)$/.exec(part.trim());
    if (!m) throw new UsageError(`--weighted: bad pair '${part}' (expected NODE:WEIGHT, e.g. 0:3,1:1)`);
    const node = Number(m[1]);
    const w = Number(m[2]);
    if (w < 1 || w > 255) throw new UsageError(`--weighted: weight ${w} of node ${node} is outside 1..255`);
    if (node in out) throw new UsageError(`--weighted: node ${node} given twice`);
    out[node] = w;
  }
  return out;
}

/** Becomes the command (exec); resolves only for --print-env, throws when the command cannot run. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positionals, rest } = parseArgs(argv, {
    tier: { type: 'string' },
    nodes: { type: 'string' },
    policy: { type: 'string' },
    weighted: { type: 'string', optionalDefault: '' },
    stripe: { type: 'string' },
    'min-size': { type: 'string' },
    cap: { type: 'string' },
    overflow: { type: 'string' },
    populate: { type: 'boolean' },
    reserve: { type: 'string' },
    maps: { type: 'boolean' },
    'no-maps': { type: 'boolean' },
    'task-policy': { type: 'boolean' },
    'maps-min': { type: 'string' },
    expect: { type: 'string' },
    stats: { type: 'boolean' },
    'stats-file': { type: 'string' },
    'stats-json': { type: 'boolean' },
    verbose: { type: 'string', optionalDefault: '1' },
    'print-env': { type: 'boolean' },
    'sys-root': { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' (put the command after --)`);
  const opts: RunOptions = {};
  if (flags.tier !== undefined) {
    const t = String(flags.tier).toLowerCase();
    if (t !== 'exmem' && t !== 'normal') throw new UsageError(`--tier must be exmem or normal, got '${flags.tier}'`);
    opts.tier = t;
  }
  if (flags.nodes !== undefined) {
    try {
      opts.nodes = parseNodeList(String(flags.nodes));
    } catch (e) {
      throw new UsageError(`--nodes: ${(e as Error).message}`);
    }
    if (opts.nodes.length === 0) throw new UsageError('--nodes: empty list');
  }
  if (flags.policy !== undefined) {
    const p = String(flags.policy);
    if (!['bind', 'preferred', 'interleave', 'weighted'].includes(p)) throw new UsageError(`--policy must be bind, preferred, interleave or weighted, got '${p}'`);
    opts.policy = p as RunOptions['policy'];
  }
  if (flags.weighted !== undefined) opts.weights = flags.weighted === '' ? 'auto' : parseWeights(String(flags.weighted));
  if (flags.stripe !== undefined) opts.stripe = sizeFlag(String(flags.stripe), '--stripe');
  if (flags['min-size'] !== undefined) opts.minSize = sizeFlag(String(flags['min-size']), '--min-size');
  if (flags.cap !== undefined) opts.cap = sizeFlag(String(flags.cap), '--cap');
  if (flags.reserve !== undefined) opts.reserve = sizeFlag(String(flags.reserve), '--reserve');
  if (flags.overflow !== undefined) {
    const o = String(flags.overflow);
    if (!['fail', 'fallback', 'interleave'].includes(o)) throw new UsageError(`--overflow must be fail, fallback or interleave, got '${o}'`);
    opts.overflow = o as RunOptions['overflow'];
  }
  opts.populate = flags.populate === true;
  if (flags.maps === true && flags['no-maps'] === true) throw new UsageError('--maps and --no-maps are exclusive');
  if (flags.maps === true) opts.maps = true;
  if (flags['task-policy'] === true && opts.cap !== undefined) throw new UsageError('--task-policy conflicts with --cap: what the cap refuses would follow the task policy onto the target');
  if (flags['no-maps'] === true) opts.maps = false;
  if (flags['maps-min'] !== undefined) opts.mapsMin = sizeFlag(String(flags['maps-min']), '--maps-min');
  if (flags.expect !== undefined) {
    const e = String(flags.expect).replace(/%$/, '');
    if (!/^\d{1,3}$/.test(e) || Number(e) > 100) throw new UsageError(`--expect takes a percentage 0..100, got '${flags.expect}'`);
    opts.expect = Number(e);
  }
  opts.stats = flags.stats === true;
  if (flags['stats-file'] !== undefined) opts.statsFile = String(flags['stats-file']);
  opts.statsJson = flags['stats-json'] === true;
  if (flags.verbose !== undefined) {
    const v = Number(flags.verbose);
    if (![0, 1, 2].includes(v)) throw new UsageError(`--verbose takes 0, 1 or 2, got '${flags.verbose}'`);
    opts.verbose = v;
  }

  return launch(opts, rest, { printEnv: flags['print-env'] === true, sysRoot: flags['sys-root'], taskPolicy: flags['task-policy'] === true });
}

/** How {@link launch} starts the program. */
export interface LaunchMode {
  /** Print the environment instead of running anything. */
  printEnv?: boolean;
  /** `--sys-root` as given. */
  sysRoot?: string | boolean;
  /** Set the task policy too (`--task-policy`). */
  taskPolicy?: boolean;
  /** More environment for the program. */
  env?: Record<string, string>;
  /** Called just before exec (hmsdk tier starts its controller here). */
  beforeExec?: () => void;
}

/** Resolve `opts` into the preload's configuration and exec `rest` under it (resolves only for printEnv). */
export async function launch(opts: RunOptions, rest: string[], mode: LaunchMode): Promise<number> {
  const topo = readTopology({ sysRoot: sysRootFlag(mode.sysRoot) });
  let plan: RunPlan;
  try {
    plan = buildConf(opts, topo);
  } catch (e) {
    if (e instanceof PreloadConfError) throw new UsageError(e.message);
    throw e;
  }
  // The preload's own parser (compiled into the addon too) has the last
  // word: a value it would refuse is a usage error here, not one line per
  // child process later.
  const problem = native().confCheck(plan.conf);
  if (problem) throw new UsageError(`invalid preload configuration: ${problem.replace(/ in HMSDK_CONF; memory placement disabled$/, '')}`);
  const so = preloadPath();
  const ldPreload = process.env.LD_PRELOAD ? `${so} ${process.env.LD_PRELOAD}` : so;

  if (mode.printEnv) {
    for (const n of plan.notes) process.stderr.write(`hmsdk run: ${n}\n`);
    process.stdout.write(`HMSDK_CONF=${plan.conf}\nLD_PRELOAD=${ldPreload}\n`);
    return 0;
  }
  if (rest.length === 0) throw new UsageError("no command: put it after '--', e.g. hmsdk run --tier exmem -- node app.js");
  if (opts.verbose) for (const n of plan.notes) process.stderr.write(`hmsdk run: ${n}\n`);

  const file = resolveCommand(rest[0]!, process.env.PATH);
  // A static program cannot load the preload: the task policy, set before
  // exec and kept by the kernel across it, places what it faults.
  // --task-policy sets it for a dynamic program too: what no interposition
  // sees (raw system calls, thread stacks, the page cache) follows it.
  let task = { mode: 0, nodes: [] as number[] };
  const isStatic = isStaticElf(file);
  if (isStatic || mode.taskPolicy === true) {
    const t = taskPolicy(plan.conf);
    task = t;
    if (isStatic) process.stderr.write(`hmsdk run: ${rest[0]} is statically linked, so the preload cannot place its allocations: the whole process gets the task policy ${t.note} on node${t.nodes.length > 1 ? 's' : ''} ${t.nodes.join(',')} (no caps, no statistics)\n`);
  }
  const env = { ...process.env, ...mode.env, LD_PRELOAD: ldPreload, HMSDK_CONF: plan.conf };
  const envStrings = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  mode.beforeExec?.();
  const r = native().exec([file], rest, envStrings, task.mode, task.nodes);
  const name = Object.entries(os.constants.errno).find(([, v]) => v === -r)?.[0] ?? `errno ${-r}`;
  throw new HmsdkError('ETOOL', `cannot run '${rest[0]}': execve failed (${name})`);
}
