/**
 * The sampling access monitor: the fallback where DAMON is absent (Debian's
 * 6.1 kernel) or in use by someone else. It asks the page tables, the way
 * DAMON does, through the two interfaces every kernel has:
 *
 * 1. write `1` to /proc/PID/clear_refs: the kernel clears the accessed
 *    ("young") bit of every page of the process;
 * 2. wait one sampling window; the CPU sets the bit again on every page it
 *    reads or writes (reads count: soft-dirty bits would see writes only);
 * 3. read /proc/PID/smaps: per mapping (VMA), `Referenced:` is the resident
 *    memory whose bit is set, `Rss:` all resident memory. The region's rate
 *    is their ratio, 0..1.
 *
 * The unit is the kernel's mapping, so the rate of a large mapping is an
 * average over all of it. Under `hmsdk tier -- COMMAND` the preload keeps
 * mappings granule-sized (key `granule`, hm_mbind_split in hm_prim.c:
 * alternate granules carry MPOL_F_STATIC_NODES so the kernel cannot merge
 * them), which makes each granule a mapping of its own; attached to another
 * process (`--pid`) the sampler sees its mappings as they are.
 *
 * Cost: clear_refs and smaps each walk the process's page tables, O(its
 * resident pages) per window in the kernel (a few ms per GiB). Side effect:
 * clearing the accessed bits hides recent use from the kernel's own page
 * aging (reclaim) for that window, as DAMON's sampling does.
 */
import { openSync, closeSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { HmsdkError } from '../../errors';
import type { AccessMonitor, AccessRegion } from './monitor';
import type { TrackedProcess } from './process';

/** Default sampling window: long enough for a program to sweep a hot set of tens of MiB, short against a 1 s tick. */
export const DEFAULT_WINDOW_MS = 500;

/** Anonymous mappings of smaps text with their resident and referenced bytes. */
export function parseSmapsReferenced(text: string): { start: number; end: number; rss: number; referenced: number }[] {
  const out: { start: number; end: number; rss: number; referenced: number }[] = [];
  let cur: { start: number; end: number; rss: number; referenced: number } | undefined;
  for (const line of text.split('\n')) {
    const c = line.charCodeAt(0);
    const isHeader = (c >= 48 && c <= 57) || (c >= 97 && c <= 102); // a hex digit starts a mapping's line
    if (isHeader && line.includes('-')) {
      const f = line.split(/\s+/);
      const [lo, hi] = (f[0] ?? '').split('-');
      // anonymous: inode 0 and no path, or a bracketed pseudo-path ([heap], [stack], [anon:...])
      const anonymous = f[4] === '0' && (f[5] === undefined || f[5] === '' || (f[5].startsWith('[') && !f[5].startsWith('[v')));
      cur = anonymous ? { start: parseInt(lo ?? '', 16), end: parseInt(hi ?? '', 16), rss: 0, referenced: 0 } : undefined;
      if (cur) out.push(cur);
    } else if (cur) {
      if (line.startsWith('Rss:')) cur.rss = kib(line);
      else if (line.startsWith('Referenced:')) cur.referenced = kib(line);
    }
  }
  return out;
}

function kib(line: string): number {
  return Number(/(\d+) kB/.exec(line)?.[1] ?? 0) * 1024;
}

/** Open the sampling monitor on a process (needs the right to write its clear_refs: its owner or root). */
export function openSampler(proc: TrackedProcess, windowMs = DEFAULT_WINDOW_MS): AccessMonitor {
  let fd: number;
  try {
    fd = openSync(`/proc/${proc.pid}/clear_refs`, 'w');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HmsdkError('ESRCH', `no process ${proc.pid}`);
    throw new HmsdkError('ESYSCALL', `cannot open /proc/${proc.pid}/clear_refs (${code ?? String(err)}): run as the process owner or root`, { syscall: 'open' });
  }
  let closed = false;
  const clear = Buffer.from('1');
  return {
    kind: 'sample',
    async sample(): Promise<AccessRegion[]> {
      if (closed) throw new HmsdkError('ECONFIG', 'the sampler was closed');
      try {
        writeSync(fd, clear, 0, 1, 0);
      } catch {
        throw new HmsdkError('ESRCH', `process ${proc.pid} exited`);
      }
      await sleep(windowMs);
      const regions: AccessRegion[] = [];
      for (const m of parseSmapsReferenced(proc.smaps())) {
        if (m.rss > 0) regions.push({ start: m.start, end: m.end, rate: Math.min(1, m.referenced / m.rss) });
      }
      return regions;
    },
    close(): void {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}
