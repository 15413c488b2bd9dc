/** An address range of the monitored process and how often it was accessed. */
export interface AccessRegion {
  /** First byte (virtual address in the target process). */
  start: number;
  /** One past the last byte. */
  end: number;
  /** Share of the monitor's samples in which the range was accessed, 0..1 (DAMON: nr_accesses / (aggr_us / sample_us)). */
  rate: number;
}
/** An access monitor of one process. */
export interface AccessMonitor {
  readonly kind: 'damon' | 'sample';
  /** The regions seen since the previous call (or since open), covering the target's monitored address space. */
  sample(): Promise<AccessRegion[]>;
  /** Stop monitoring and release what the monitor set up (idempotent). */
  close(): void;
}
