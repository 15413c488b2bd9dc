/**
 * Which access monitor `hmsdk tier` uses: DAMON (vaddr operations, the
 * kernel's own sampler with adaptive regions) where the kernel has its
 * sysfs interface and nobody else is using it, else the clear_refs/smaps
 * sampler (sample.ts), which every kernel has.
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

/** Open the chosen monitor on `proc`; `auto` falls back to the sampler, saying why in `note`. */
export function openMonitor(proc: TrackedProcess, choice: MonitorChoice, opts: { sysRoot?: string; windowMs?: number } = {}): { monitor: AccessMonitor; note: string } {
  if (choice !== 'sample') {
    const why = damonUnusable(opts.sysRoot);
    if (why === undefined) return { monitor: openDamon(proc.pid, { sysRoot: opts.sysRoot }), note: 'DAMON (vaddr)' };
    if (choice === 'damon') throw new HmsdkError('ENOTSUP', `DAMON cannot be used here: ${why}`);
    return { monitor: openSampler(proc, opts.windowMs), note: `page-table sampler (clear_refs + smaps; DAMON: ${why})` };
  }
  return { monitor: openSampler(proc, opts.windowMs), note: 'page-table sampler (clear_refs + smaps)' };
}
