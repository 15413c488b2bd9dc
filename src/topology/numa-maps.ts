/**
 * Reader of /proc/PID/numa_maps: the kernel's own per-mapping, per-node page
 * counts. Used by `hmsdk stats -p` and by the placement tests as evidence
 * independent of the SDK's bookkeeping.
 *
 * A line looks like
 *   7f1c2c000000 bind:1 anon=16384 dirty=16384 N1=16384 kernelpagesize_kB=4
 *   55d0a8e4b000 default heap anon=33 dirty=33 N0=33 kernelpagesize_kB=4
 *   7f1c31a00000 default file=/usr/lib/x86_64-linux-gnu/libc.so.6 mapped=40 N0=40 kernelpagesize_kB=4
 */
import { HmsdkError } from '../errors';
import { readKernelFile } from '../kernel/files';

/**
 * Bound for one numa_maps file: a line per mapping of ~100-300 bytes, and
 * up to vm.max_map_count mappings (65530 by default, 262144 where databases
 * raise it); 128 MiB covers that with room for long file names.
 */
const NUMA_MAPS_MAX_BYTES = 128 * 2 ** 20;

/** One mapping of /proc/PID/numa_maps. */
export interface NumaMapping {
  /** Start address (hex, as printed). */
  address: string;
  /** Policy as printed: `default`, `bind:1`, `interleave:0-1`, `prefer:1`, `weighted interleave:0-1`... */
  policy: string;
  /** `heap`, `stack`, `file`, `huge` or `anon`. */
  kind: 'heap' | 'stack' | 'file' | 'huge' | 'anon';
  /** Backing file, if any. */
  file: string | undefined;
  /** Anonymous pages. */
  anon: number;
  /** Resident pages per node id. */
  pages: Record<number, number>;
  /** Page size of the mapping in bytes. */
  pageSize: number;
}

/** Parse numa_maps text. */
export function parseNumaMaps(text: string): NumaMapping[] {
  const out: NumaMapping[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const words = line.split(' ');
    const address = words[0] ?? '';
    // The policy is the second word, except "weighted interleave:..." (two words).
    let i = 1;
    let policy = words[i++] ?? '';
    if (policy === 'weighted' && words[i]?.startsWith('interleave')) policy += ' ' + words[i++];
    const m: NumaMapping = { address, policy, kind: 'anon', file: undefined, anon: 0, pages: {}, pageSize: 4096 };
    for (; i < words.length; i++) {
      const w = words[i] as string;
      if (w === 'heap' || w === 'stack' || w === 'huge') {
        m.kind = w;
        continue;
      }
      const eq = w.indexOf('=');
      if (eq < 0) continue;
      const k = w.slice(0, eq);
      const v = w.slice(eq + 1);
      if (k === 'file') {
        m.file = v;
        if (m.kind === 'anon') m.kind = 'file';
      } else if (k === 'anon') m.anon = Number(v);
      else if (k === 'kernelpagesize_kB') m.pageSize = Number(v) * 1024;
      else if (k.length > 1 && k[0] === 'N' && /^\d+$/.test(k.slice(1))) m.pages[Number(k.slice(1))] = Number(v);
    }
    out.push(m);
  }
  return out;
}

/** Read and parse /proc/PID/numa_maps (`self` for this process). */
export function readNumaMaps(pid: number | 'self' = 'self'): NumaMapping[] {
  let text: string;
  try {
    text = readKernelFile(`/proc/${pid}/numa_maps`, NUMA_MAPS_MAX_BYTES, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new HmsdkError('ENODEV', `no process ${pid} (or no NUMA support: /proc/${pid}/numa_maps missing)`);
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      throw new HmsdkError('ESYSCALL', `cannot read /proc/${pid}/numa_maps: permission denied (run as the process owner or root)`, {
        syscall: 'open',
      });
    }
    throw err;
  }
  return parseNumaMaps(text);
}

/** Bytes resident per node over all mappings. */
export function bytesPerNode(maps: readonly NumaMapping[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const m of maps) for (const [n, p] of Object.entries(m.pages)) out[Number(n)] = (out[Number(n)] ?? 0) + p * m.pageSize;
  return out;
}
