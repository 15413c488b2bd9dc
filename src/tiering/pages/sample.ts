/**
 * The sampling access monitor: the fallback where DAMON is absent (Debian's
 * 6.1 kernel) or in use by someone else. It asks the page tables, the way
 * DAMON does, through the two interfaces every kernel has:
 *
 * 1. clear the accessed ("young") bit of every page of the process's
 *    anonymous mappings: process_madvise(MADV_COLD) where we may
 *    (CAP_SYS_NICE), which also flushes the pages' TLB entries, else
 *    `1` to /proc/PID/clear_refs, which does not. Without the flush a page
 *    whose translation stays cached in the TLB is not marked again by the
 *    CPU: a small hot set, or one on huge pages (64 MiB is 32 entries),
 *    that owns its CPU reads as idle (DAMON has the same blind spot; in the
 *    VM a hot set read for 30 s was never seen after the controller backed
 *    off). MADV_COLD also moves the pages to the inactive LRU, which only
 *    matters under memory pressure, where their accessed bits (set again
 *    by use) put them back;
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
import { native } from '../../alloc/native';
import { HmsdkError } from '../../errors';
import type { AccessMonitor, AccessRegion } from './monitor';
import { mappingLine, parseAnonRanges, type TrackedProcess } from './process';

/** Default sampling window: long enough for a program to sweep a hot set of tens of MiB, short against a 1 s tick. */
export const DEFAULT_WINDOW_MS = 500;

/** Anonymous mappings of smaps text with their resident and referenced bytes. */
export function parseSmapsReferenced(text: string): { start: number; end: number; rss: number; referenced: number }[] {
  const out: { start: number; end: number; rss: number; referenced: number }[] = [];
  let cur: { start: number; end: number; rss: number; referenced: number } | undefined;
  for (const line of text.split('\n')) {
    const m = mappingLine(line);
    if (m) {
      cur = m.anonymous ? { start: m.start, end: m.end, rss: 0, referenced: 0 } : undefined;
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

/** How the sampler clears the accessed bits: with a TLB flush (MADV_COLD) or without (clear_refs). */
export type SamplerClear = 'madvise-cold' | 'clear-refs';

/**
 * Open the sampling monitor on a process (needs the right to write its
 * clear_refs: its owner or root; MADV_COLD needs CAP_SYS_NICE too, else the
 * sampler clears without the flush).
 */
export function openSampler(proc: TrackedProcess, windowMs = DEFAULT_WINDOW_MS): AccessMonitor & { readonly clear: SamplerClear } {
  let fd: number;
  try {
    fd = openSync(`/proc/${proc.pid}/clear_refs`, 'w');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HmsdkError('ESRCH', `no process ${proc.pid}`);
    throw new HmsdkError('ESYSCALL', `cannot open /proc/${proc.pid}/clear_refs (${code ?? String(err)}): run as the process owner or root`, { syscall: 'open' });
  }
  let closed = false;
  const one = Buffer.from('1');
  const none = new Float64Array(0);
  const clear: SamplerClear = native().madviseCold(proc.pid, none, none) === 0 ? 'madvise-cold' : 'clear-refs';
  return {
    kind: 'sample',
    clear,
    async sample(): Promise<AccessRegion[]> {
      if (closed) throw new HmsdkError('ECONFIG', 'the sampler was closed');
      let r = 0;
      if (clear === 'madvise-cold') {
        const ranges = parseAnonRanges(proc.maps());
        r = native().madviseCold(proc.pid, Float64Array.from(ranges, (x) => x.start), Float64Array.from(ranges, (x) => x.end - x.start));
      } else {
        try {
          writeSync(fd, one, 0, 1, 0);
        } catch {
          r = -3;
        }
      }
      if (r === -3 /* ESRCH */) throw new HmsdkError('ESRCH', `process ${proc.pid} exited`);
      if (r !== 0) throw new HmsdkError('ESYSCALL', `process_madvise(MADV_COLD) on process ${proc.pid} failed with errno ${-r}`, { syscall: 'process_madvise', errno: -r });
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
