/**
 * The launcher half of `hmsdk run`: how the program is found and what the
 * process needs before it becomes the program. `hmsdk run` does not spawn a
 * child: once the configuration is checked it execs the program in its own
 * process (native exec), so the program keeps the pid, the process group,
 * the stdio and the exit status a shell gave `hmsdk run`, every signal
 * reaches it exactly once, and no wrapper process holds memory.
 *
 * A statically linked program cannot load the preload library; for it the
 * launcher sets the task memory policy before exec (the way numactl does),
 * which the kernel keeps across execve and every thread inherits.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HmsdkError } from '../errors';
import { MPOL, native } from '../alloc/native';

/**
 * The executable `command` names: itself when it contains a slash, else the
 * first executable regular file of that name on `searchPath` (PATH syntax).
 *
 * @throws HmsdkError ETOOL when there is none.
 */
export function resolveCommand(command: string, searchPath: string | undefined): string {
  const candidates = command.includes('/') ? [command] : (searchPath ?? '/usr/local/bin:/usr/bin:/bin').split(':').map((dir) => path.join(dir || '.', command));
  for (const c of candidates) {
    try {
      if (fs.statSync(c).isFile()) {
        fs.accessSync(c, fs.constants.X_OK);
        return path.resolve(c);
      }
    } catch {
      // not there or not executable: the next candidate
    }
  }
  throw new HmsdkError('ETOOL', `cannot run '${command}': ${command.includes('/') ? 'no such executable file' : 'command not found'}`);
}

const PT_INTERP = 3;

/**
 * Whether `file` is an ELF executable without a program interpreter (a
 * static binary: LD_PRELOAD cannot reach it). Scripts and anything that is
 * not ELF are not static (their interpreter loads the preload).
 */
export function isStaticElf(file: string): boolean {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      head = Buffer.alloc(4096);
      head = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return false; // ELF64 little-endian only
  const phoff = Number(head.readBigUInt64LE(32));
  const phentsize = head.readUInt16LE(54);
  const phnum = head.readUInt16LE(56);
  if (phentsize < 4 || phoff + phentsize * phnum > head.length) return false;
  for (let i = 0; i < phnum; i++) if (head.readUInt32LE(phoff + i * phentsize) === PT_INTERP) return false;
  return true;
}

const MODE_NAMES: Record<number, string> = {
  [MPOL.preferred]: 'preferred',
  [MPOL.preferredMany]: 'preferred-many',
  [MPOL.interleave]: 'interleave',
  [MPOL.weightedInterleave]: "weighted interleave with the kernel's weights",
};

/**
 * The task policy a static program (or `--task-policy`) gets: the
 * non-strict form of the configuration's policy (a fault cannot fail, so a
 * full node must fall back), by the preload's own rule (hm_conf_lenient,
 * the one its interposed mmap uses), through the addon.
 */
export function taskPolicy(conf: string): { mode: number; nodes: number[]; note: string } {
  const r = native().confLenient(conf);
  if (typeof r === 'string') throw new HmsdkError('ECONFIG', `invalid preload configuration: ${r}`);
  return { ...r, note: MODE_NAMES[r.mode] ?? `mode ${r.mode}` };
}
