/**
 * Which access monitor `hmsdk tier` uses. `auto`: the page-table sampler
 * (sample.ts) when it can flush the TLB as it clears (MADV_COLD: root or
 * CAP_SYS_NICE); else DAMON (vaddr operations) where the kernel has its
 * sysfs interface and nobody else uses it; else the sampler without the
 * flush. Why the sampler first: DAMON clears accessed bits without a TLB
 * flush, and in the VM (Linux 6.12) it did not see a moved 64 MiB hot set
 * in 70 s that the flushing sampler found in 12 s. DAMON's cost is bounded
 * by its regions rather than by the program's size, so `--monitor damon`
 * is the choice for programs so large that three page-table walks a pass
 * cost too much.
 */
import { HmsdkError } from '../../errors';
import { damonAvailable, openDamon } from './damon';
import type { AccessMonitor } from './monitor';
import type { TrackedProcess } from './process';
import { openSampler } from './sample';

export type MonitorChoice = 'auto' | 'damon' | 'sample';

/** Why `auto` would not pick DAMON here, or undefined when it would. */
export function damonUnusable(sysRoot = '/sys'): string | undefined {
  const d = damonAvailable(sysRoot);
  return d.ok ? undefined : d.why;
}

/** Open the chosen monitor on `proc`; `auto` falls back to the sampler, saying why in `fallback`. */
export function openMonitor(
  proc: TrackedProcess,
  choice: MonitorChoice,
  opts: { sysRoot?: string; windowMs?: number } = {},
): { monitor: AccessMonitor; note: string; fallback?: string } {
  const sampler = (): ReturnType<typeof openSampler> => openSampler(proc, opts.windowMs);
  const noteOf = (m: ReturnType<typeof openSampler>): string =>
    `page-table sampler (${m.clear === 'madvise-cold' ? 'MADV_COLD' : 'clear_refs, no TLB flush: CAP_SYS_NICE missing'} + smaps)`;
  if (choice === 'sample') {
    const monitor = sampler();
    return { monitor, note: noteOf(monitor) };
  }
  const why = damonUnusable(opts.sysRoot);
  if (choice === 'damon') {
    if (why !== undefined) throw new HmsdkError('ENOTSUP', `DAMON cannot be used here: ${why}`);
    return { monitor: openDamon(proc.pid, { sysRoot: opts.sysRoot }), note: 'DAMON (vaddr)' };
  }
  const monitor = sampler();
  if (monitor.clear === 'madvise-cold' || why !== undefined) return { monitor, note: noteOf(monitor), fallback: why };
  monitor.close();
  return { monitor: openDamon(proc.pid, { sysRoot: opts.sysRoot }), note: 'DAMON (vaddr)' };
}
