/**
 * Boot a preset's VM, run one command in it, and return the command's exit
 * code with boot and total times.
 *
 * Boot time is measured from spawning QEMU to the init's start marker (the
 * command is about to run), total time to the exit marker. The command's
 * output is streamed live; QEMU is killed when the timeout expires or when it
 * does not power off shortly after the exit marker.
 */
import * as crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HmsdkError } from '../errors';
import { ConsoleFilter } from './console';
import { writeRunInitrd } from './initramfs';
import { ensureKernel, KernelVersion } from './kernels';
import type { Preset } from './preset';
import { qemuArgs, qemuBinary } from './qemu';
import { requireTool } from './tools';

/** Options of {@link runInVm}. */
export interface RunInVmOptions {
  /** Topology to boot. */
  preset: Preset;
  /** Kernel to boot. */
  kernel: KernelVersion;
  /** Command and arguments, run with the host's PATH inside the VM. */
  command: string[];
  /** Directory to run the command in (host path). */
  cwd: string;
  /** Host directory shared read-write as `HMSDK_EMULATE_OUT` (default: a temporary directory, removed afterwards). */
  outDir?: string;
  /** Kill the VM after this long (boot included), ms. */
  timeoutMs: number;
  /** Receives the command's output (default: process.stdout). */
  write?: (text: string) => void;
  /** Receives progress lines (kernel download...); default: stderr. */
  log?: (line: string) => void;
}

/** Outcome of {@link runInVm}. */
export interface RunInVmResult {
  /** The command's exit code. */
  exitCode: number;
  /** Spawn of QEMU → command start, ms. */
  bootMs: number;
  /** Spawn of QEMU → command end, ms. */
  totalMs: number;
}

/** Grace period for the VM to power off after the exit marker. */
const POWEROFF_GRACE_MS = 15_000;

/**
 * Boot `opts.preset` with `opts.kernel`, run `opts.command` inside, resolve
 * with its exit code. Throws `ETOOL` when a tool is missing, the VM fails to
 * set up, stops early, or times out.
 */
export async function runInVm(opts: RunInVmOptions): Promise<RunInVmResult> {
  if (opts.command.length === 0) throw new TypeError('runInVm: command must not be empty');
  const log = opts.log ?? ((l: string) => process.stderr.write(`hmsdk emulate: ${l}\n`));
  const write = opts.write ?? ((t: string) => process.stdout.write(t));
  const qemu = qemuBinary();
  requireTool('busybox');
  const kernel = await ensureKernel(opts.kernel, log);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-vm-'));
  try {
    // Inside the try: a bad outDir or cwd must not leave the temporary directory behind.
    const outDir = opts.outDir ?? path.join(tmp, 'out');
    fs.mkdirSync(outDir, { recursive: true });
    const outReal = fs.realpathSync(outDir);
    const cwd = fs.realpathSync(opts.cwd);
    const nonce = crypto.randomBytes(6).toString('hex');
    const initrd = path.join(tmp, 'initrd.gz');
    writeRunInitrd(kernel, {
      command: opts.command,
      cwd,
      presetFile: opts.preset.file,
      kernel: opts.kernel,
      outDir: outReal,
      color: process.stdout.isTTY === true,
    }, nonce, initrd);
    const args = qemuArgs(opts.preset, { kernel: kernel.vmlinuz, initrd, outDir: outReal });
    return await boot(qemu, args, nonce, opts, write);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function boot(qemu: string, args: string[], nonce: string, opts: RunInVmOptions, write: (t: string) => void): Promise<RunInVmResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let bootMs = -1;
    let totalMs = -1;
    let stderr = '';
    let timedOut = false;
    let grace: NodeJS.Timeout | undefined;
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const onSignal = (): void => kill();
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    const filter = new ConsoleFilter(nonce, write, {
      onStart: () => (bootMs = Date.now() - t0),
      onExit: () => {
        totalMs = Date.now() - t0;
        grace = setTimeout(kill, POWEROFF_GRACE_MS);
      },
    });
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => filter.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8192)));
    child.on('error', (e) => reject(new HmsdkError('ETOOL', `cannot start ${qemu}: ${e.message}`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (grace) clearTimeout(grace);
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      const where = `(preset ${opts.preset.name}, kernel ${opts.kernel})`;
      const tail = (): string => {
        // eslint-disable-next-line no-control-regex -- strips the guest console's ANSI escapes
        const t = filter.bootTail.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[c()][0-9A-B]?/g, '').trim().split('\n').slice(-15).join('\n');
        const e = stderr.trim();
        return (t ? `\n--- VM console (last lines) ---\n${t}` : '') + (e ? `\n--- QEMU stderr ---\n${e}` : '');
      };
      const ec = filter.exitCode;
      if (ec !== undefined && filter.started) return resolve({ exitCode: ec, bootMs, totalMs });
      if (ec !== undefined) {
        const why = /hmsdk-init: .*/.exec(filter.bootTail)?.[0] ?? 'hmsdk-init failed';
        return reject(new HmsdkError('ETOOL', `VM setup failed ${where}: ${why}${tail()}`));
      }
      if (timedOut) {
        const phase = filter.started ? 'the command did not finish' : 'the VM did not finish booting';
        return reject(new HmsdkError('ETOOL', `timeout after ${Math.round(opts.timeoutMs / 1000)} s: ${phase} ${where}; QEMU killed (raise --timeout)${filter.started ? '' : tail()}`));
      }
      const phase = filter.started ? 'while the command was running (kernel panic or OOM?)' : 'before the command started';
      reject(new HmsdkError('ETOOL', `VM stopped ${phase} ${where}, QEMU exit status ${code}${tail()}`));
    });
  });
}
