/**
 * `hmsdk emulate`: run a command inside a QEMU VM with a multi-node NUMA/CXL
 * topology (see src/emulate/). Progress and the per-kernel summary go to
 * stderr; the command's own output goes to stdout.
 */
import * as path from 'node:path';
import { HmsdkError } from '../errors';
import { KERNEL_VERSIONS, KernelVersion, parseKernelVersion } from '../emulate/kernels';
import { listPresetNames, loadPreset, Preset } from '../emulate/preset';
import { runInVm } from '../emulate/vm';
import { parseArgs, UsageError } from './args';
import { outputDirFlag } from './paths';

/** Help text of `hmsdk emulate`. */
export const help = `usage: hmsdk emulate [--topology NAME|FILE] [--kernel 6.1|6.12|all] [--out DIR]
                     [--timeout SEC] [--list] -- <command> [args...]

Boot a QEMU (TCG) virtual machine with the NUMA/CXL topology of a preset
(CPU-less expander nodes, SLIT distances, ACPI HMAT latency/bandwidth), mount
this machine's root filesystem read-only inside it, and run <command> there in
the current directory. Exits with the command's exit code.

options:
  -t, --topology NAME|FILE  preset name (see --list) or a preset .json file
                            (default: cxl-expander)
  -k, --kernel V            Debian kernel: 6.1, 6.12 or all (default: 6.12);
                            'all' runs the command once per kernel and fails
                            if any run fails; downloaded once, then cached in
                            \${XDG_CACHE_HOME:-~/.cache}/hmsdk/kernels
  -o, --out DIR             host directory shared read-write with the VM, as
                            DIR/<preset>/<kernel>, path in $HMSDK_EMULATE_OUT
                            (default: ./.vm-results)
      --timeout SEC         kill the VM after SEC seconds, boot included
                            (default: 900)
      --list                list the topology presets and exit

inside the VM: HMSDK_EMULATE=1, HMSDK_EMULATE_PRESET (preset JSON path),
HMSDK_EMULATE_KERNEL, HMSDK_EMULATE_OUT, HOME=/tmp (a tmpfs); the caller's
PATH, HMSDK_*, CI, NODE_OPTIONS (and a few locale/colour variables) pass through.
The guest's /tmp is its own tmpfs; a working directory under the host's /tmp
is bound in from the host.

examples:
  hmsdk emulate -- node -e "console.log(require('fs').readFileSync('/sys/devices/system/node/online','utf8'))"
  hmsdk emulate --topology two-socket-cxl --kernel all -- numactl -H
  hmsdk emulate --kernel all -- node_modules/.bin/vitest run --config vitest.numa.config.ts
  hmsdk emulate --list`;

/** Runs `hmsdk emulate`. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positionals, rest } = parseArgs(argv, {
    topology: { type: 'string', short: 't' },
    kernel: { type: 'string', short: 'k' },
    out: { type: 'string', short: 'o' },
    timeout: { type: 'string' },
    list: { type: 'boolean' },
  });
  if (flags.list) {
    printList();
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected '${positionals[0]}': put the command after '--' (hmsdk emulate -- ${positionals.join(' ')})`);
  if (rest.length === 0) throw new UsageError("no command given: hmsdk emulate [options] -- <command> [args]");
  const preset = loadPreset(String(flags.topology ?? 'cxl-expander'));
  const kflag = String(flags.kernel ?? '6.12');
  let kernels: readonly KernelVersion[];
  try {
    kernels = kflag === 'all' ? KERNEL_VERSIONS : [parseKernelVersion(kflag)];
  } catch (e) {
    throw new UsageError(`--kernel: ${(e as Error).message}; or 'all'`);
  }
  const timeoutSec = flags.timeout === undefined ? 900 : Number(flags.timeout);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new UsageError(`--timeout must be a positive number of seconds (got '${String(flags.timeout)}')`);
  // Checked before anything is downloaded or booted.
  const outRoot = outputDirFlag('--out', typeof flags.out === 'string' ? flags.out : '.vm-results');

  const log = (l: string): void => void process.stderr.write(`hmsdk emulate: ${l}\n`);
  const summary: string[] = [];
  let worst = 0;
  for (const kernel of kernels) {
    log(`${preset.name} (${describe(preset)}), Linux ${kernel}: ${rest.join(' ')}`);
    try {
      const r = await runInVm({
        preset,
        kernel,
        command: rest,
        cwd: process.cwd(),
        outDir: path.join(outRoot, preset.name, kernel),
        timeoutMs: timeoutSec * 1000,
        log,
      });
      if (r.exitCode !== 0 && worst === 0) worst = r.exitCode;
      summary.push(`kernel ${kernel.padEnd(4)}  exit ${r.exitCode}  boot ${secs(r.bootMs)}  total ${secs(r.totalMs)}`);
    } catch (e) {
      if (!(e instanceof HmsdkError) || kernels.length === 1) throw e;
      log(e.message);
      worst = worst || 1;
      summary.push(`kernel ${kernel.padEnd(4)}  FAILED: ${e.message.split('\n')[0]}`);
    }
  }
  for (const s of summary) log(s);
  return kernels.length > 1 && worst !== 0 ? 1 : worst;
}

function printList(): void {
  for (const name of listPresetNames()) {
    let line: string;
    try {
      const p = loadPreset(name);
      line = `${name.padEnd(16)} ${describe(p)}\n${' '.repeat(17)}${p.description}`;
    } catch (e) {
      line = `${name.padEnd(16)} INVALID: ${(e as Error).message}`;
    }
    process.stdout.write(line + '\n');
  }
}

/** "4 nodes, 2 vCPUs, 3584 MiB, CPU-less 2,3". */
function describe(p: Preset): string {
  const cpus = p.nodes.reduce((s, n) => s + n.cpus.length, 0);
  const mib = p.nodes.reduce((s, n) => s + n.memMiB, 0);
  const cpuless = p.expect.cpulessNodes.length ? `CPU-less ${p.expect.cpulessNodes.join(',')}` : 'no CPU-less node';
  const offline = p.nodes.filter((n) => n.offline).map((n) => n.id);
  return `${p.nodes.length} nodes, ${cpus} vCPUs, ${mib} MiB, ${cpuless}${offline.length ? `, offline ${offline.join(',')}` : ''}`;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
