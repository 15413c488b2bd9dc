import type { AccessMonitor } from './monitor';
export function damonAvailable(_sysRoot?: string): { ok: true } | { ok: false; why: string } { return { ok: false, why: 'the DAMON monitor is not in this build' }; }
export function openDamon(_pid: number, _o?: { sysRoot?: string }): AccessMonitor { throw new Error('the DAMON monitor is not in this build'); }
