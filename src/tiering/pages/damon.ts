/**
 * The DAMON access monitor: which address ranges of another process are
 * hot, measured by the kernel's Data Access MONitor through its sysfs
 * interface (`/sys/kernel/mm/damon/admin`, CONFIG_DAMON_SYSFS), with the
 * per-process `vaddr` operations set.
 *
 * DAMON is used as a monitor only. The page-level tiering controller moves
 * pages itself (move_pages); DAMON's own migrate_hot / migrate_cold actions
 * exist in 6.11..6.16 only for the `paddr` operations (physical ranges,
 * every process at once), so they cannot tier one program. What we want is
 * DAMON's region list. sysfs shows it only through a DAMOS scheme: the
 * regions a scheme "tried" (to apply its action to) are written, on
 * request, into `schemes/0/tried_regions/<n>/{start,end,nr_accesses,age}`.
 * So the kdamond gets one scheme with the action `stat` (count, do
 * nothing) and an access pattern every region matches. That pattern must
 * be written in full: a sysfs scheme's ranges start at min = max = 0, which
 * matches only empty, never-accessed, brand-new regions. No quota, no
 * watermarks, no filters: their defaults are "none".
 *
 * Reading. `sample()` writes `update_schemes_tried_regions` to the
 * kdamond's `state`. On 6.12 that write blocks: the kernel hands the
 * request to the kdamond and polls for completion every 100 ms, and the
 * kdamond collects the regions when the scheme is next applied, right
 * after an aggregation interval ends. So a sample waits 100 ms to a few
 * aggregation intervals; the write goes through the libuv thread pool
 * (fs.promises) so the event loop runs meanwhile. What is read is the
 * latest aggregation interval: `nr_accesses` counts the sampling intervals
 * of that aggregation interval in which the region's pages were found
 * accessed (the PTE / PMD Accessed bit, cleared at each check), so the rate
 * is nr_accesses / (aggr_us / sample_us). DAMON keeps no longer history in
 * sysfs; a caller sampling every few seconds sees one 100 ms window each
 * time, and the region's `age` (aggregation intervals it has kept its
 * pattern) is what says that window is typical.
 *
 * What DAMON does not see. On x86 it clears the Accessed bit without a
 * TLB flush, so a page whose translation stays cached is not marked again
 * and reads as idle until the entry leaves the TLB (evicted, or flushed by
 * a context switch). A hot set that fits in the TLB and owns its CPU can
 * read colder than it is; huge pages make that likelier (64 MiB is 32 THP
 * entries). Under QEMU TCG, whose software TLB is large, a target alone on
 * its vCPU read 0 for seconds at a time and 0.2..0.5 steadily when it
 * shared the vCPU (see test/numa/damon.test.ts). A caller should trust
 * a hot reading more than a cold one.
 *
 * Defaults are DAMON's own (the values its sysfs tree starts with and damo
 * uses): sample every 5 ms, aggregate over 100 ms (20 samples: rates in
 * steps of 0.05), re-read the target's mappings every 1 s, 10..1000
 * regions. DAMON's cost is bounded by regions, not memory size: one
 * Accessed-bit check per region per sample, at most 1000 / 5 ms = 200 000
 * page-table looks per second, about a percent of one CPU, whether the
 * target has 100 MiB or 100 GiB. 1000 regions over a 512 MiB working set
 * resolve ~0.5 MiB; more regions buy resolution with CPU.
 *
 * Ownership. Writing `nr_kdamonds` rewrites every kdamond directory
 * (removing the old ones, even a stopped kdamond's configuration), and is
 * refused with EBUSY while any kdamond runs. There is no way to add one
 * kdamond beside another user's, so the monitor runs only where
 * `nr_kdamonds` is 0, creates kdamond 0, and on close() turns it off and
 * writes 0 back. Someone else's kdamonds (damo, another hmsdk) make open
 * fail with EBUSY; they are never touched. Between our read of 0 and our
 * write of 1 another user could do the same (sysfs has no compare-and-set);
 * the window is a few system calls. A process that exits without close()
 * (an exception, process.exit) closes through an `exit` hook; a SIGKILLed
 * one leaves its kdamond behind, stopped once the target exits, and the
 * EBUSY message says how to remove it.
 *
 * The target. A kdamond whose every target has exited stops by itself
 * (`state` reads `off`); `sample()` then rejects with errno ESRCH, which is
 * how the controller learns the program ended. Writing `on` for a pid that
 * is already gone fails with EINVAL, reported as ESRCH too.
 *
 * Locking. DAMON's sysfs files take one kernel mutex with a trylock and
 * answer EBUSY when it is held, reading `state` included (a pending update
 * request takes it every 100 ms), so state reads and the teardown writes
 * retry EBUSY for up to 2 s. Writing `off` while our own update request
 * was pending hung the writer on 6.12 (the VM test first did that), so
 * close() during a sample() only marks the monitor closed; the kdamond is
 * removed when that request returns, and the sample rejects with ECLOSED.
 * An exit hook cannot wait for it: a process exiting with a sample
 * pending leaves its kdamond behind (stopped once the target exits).
 *
 * Errors. DAMON in use by someone else (kdamonds exist, or a DAMON module
 * runs exclusively) is HmsdkError `EBUSY`; the target gone is `ESRCH`;
 * other refusals of the kernel are system-call failures, `ESYSCALL` with
 * `errno` (EACCES / EPERM: not root, DAMON needs CAP_SYS_ADMIN). No DAMON
 * sysfs, or no `vaddr` in `avail_operations`, is `ENOTSUP`. A sysfs value that is not a number is
 * `ECONFIG`; `sample()` after close() rejects with `ECLOSED`.
 *
 * Addresses: x86-64 user space is 47 bits (57 with 5-level paging), below
 * 2^53, so JavaScript numbers hold them exactly; parsing asserts it.
 * @internal
 */
import { accessSync, closeSync, constants, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { HmsdkError } from '../../errors';
import { ATTRIBUTE_MAX_BYTES, SYSFS_DIR_MAX_ENTRIES, listKernelDir, readKernelFile } from '../../kernel/files';
import { listDirIfExists, readInt } from '../../topology/sysfs';
import { checkInt, checkString, readOptions } from '../../util/validate';
import type { AccessMonitor, AccessRegion } from './monitor';

/** Options of {@link openDamon}; intervals in microseconds. */
export interface DamonOptions {
  /** sysfs root, default `/sys` (a fixture tree in tests). */
  sysRoot?: string;
  /** Sampling interval (one Accessed-bit check per region), default 5000. */
  sampleUs?: number;
  /** Aggregation interval (the window a rate covers), default 100 000. */
  aggrUs?: number;
  /** How often the target's mappings are re-read, default 1 000 000. */
  updateUs?: number;
  /** Fewest regions DAMON keeps (the kernel requires >= 3), default 10. */
  minRegions?: number;
  /** Most regions DAMON keeps, default 1000. */
  maxRegions?: number;
}

const OPTION_KEYS = ['sysRoot', 'sampleUs', 'aggrUs', 'updateUs', 'minRegions', 'maxRegions'] as const;
/** PID_MAX_LIMIT on 64-bit Linux. */
const MAX_PID = 4_194_304;
/** Longest interval accepted, one hour (the kernel takes any unsigned long; longer makes no sense for tiering). */
const MAX_INTERVAL_US = 3_600_000_000;
/** The kernel's floor for min_nr_regions (damon_set_attrs). */
const KERNEL_MIN_REGIONS = 3;
/** Most regions accepted: each becomes a tried_regions directory listed by one bounded read. */
const MAX_REGIONS = SYSFS_DIR_MAX_ENTRIES;
const PATH_MAX = 4096;
/** ULONG_MAX and UINT_MAX as the access-pattern maxima: `sz` is an unsigned long, `nr_accesses` and `age` end up unsigned int. */
const ULONG_MAX = '18446744073709551615';
const UINT_MAX = '4294967295';
/** How long a kdamond file is retried while the kernel answers EBUSY (its lock is held for a moment, see unlessBusy). */
const BUSY_RETRY_MS = 2000;
const BUSY_STEP_MS = 10;

/** Where one kdamond's files are. */
interface Paths {
  admin: string;
  nrKdamonds: string;
  kdamond: string;
  state: string;
  ctx: string;
  scheme: string;
}

function pathsOf(sysRoot: string): Paths {
  const admin = `${sysRoot}/kernel/mm/damon/admin`;
  const kdamond = `${admin}/kdamonds/0`;
  const ctx = `${kdamond}/contexts/0`;
  return { admin, nrKdamonds: `${admin}/kdamonds/nr_kdamonds`, kdamond, state: `${kdamond}/state`, ctx, scheme: `${ctx}/schemes/0` };
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function syscallError(message: string, code: string, cause?: unknown): HmsdkError {
  const errno = (osConstants.errno as Record<string, number | undefined>)[code];
  return new HmsdkError('ESYSCALL', message, { syscall: 'write', errno, cause });
}

/** A failed sysfs write as an HmsdkError that says which file and why. */
function writeError(path: string, value: string, err: unknown): HmsdkError {
  const code = errnoOf(err);
  if (code === undefined) return new HmsdkError('ESYSCALL', `writing '${value}' to ${path} failed`, { syscall: 'write', cause: err });
  const why = code === 'EACCES' || code === 'EPERM' ? ': DAMON needs root (CAP_SYS_ADMIN)' : '';
  return syscallError(`writing '${value}' to ${path} failed with ${code}${why}`, code, err);
}

/**
 * Write a sysfs attribute the way `echo v > f` does, but never creating a
 * file: a missing attribute is an error of its own (ENOENT), not a new file.
 */
function writeAttr(path: string, value: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
  } catch (err) {
    throw writeError(path, value, err);
  }
  try {
    writeSync(fd, value);
  } catch (err) {
    throw writeError(path, value, err);
  } finally {
    closeSync(fd);
  }
}

/** {@link writeAttr} without blocking the event loop (the write may block in the kernel for a while). */
async function writeAttrAsync(path: string, value: string): Promise<void> {
  try {
    const fh = await open(path, constants.O_WRONLY | constants.O_TRUNC);
    try {
      await fh.write(value);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw writeError(path, value, err);
  }
}

function readAttr(path: string): string {
  return readKernelFile(path, ATTRIBUTE_MAX_BYTES, 'latin1').trim();
}

/** A non-negative integer file below 2^53 (an address, a count). */
function readNumber(path: string): number {
  const text = readAttr(path);
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new HmsdkError('ECONFIG', `${path} holds '${text.slice(0, 40)}', not an integer below 2^53`);
  return n;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) !== 'ESRCH'; // EPERM: it exists, owned by someone else
  }
}

function goneError(pid: number, cause?: unknown): HmsdkError {
  return new HmsdkError('ESRCH', `process ${pid} does not exist (any more): nothing to monitor`, { cause });
}

/** Throw unless this kernel's DAMON sysfs can be used by us now (read-only checks). */
function checkUsable(p: Paths): void {
  if (listDirIfExists(p.admin) === undefined) {
    throw new HmsdkError('ENOTSUP', `no DAMON sysfs interface: ${p.admin} is absent (a kernel without CONFIG_DAMON_SYSFS; Debian's 6.12 has it)`);
  }
  const n = readInt(p.nrKdamonds);
  if (n === undefined) throw new HmsdkError('ENOTSUP', `${p.nrKdamonds} is absent or unreadable: not a DAMON sysfs interface this monitor knows`);
  if (n !== 0) {
    throw new HmsdkError(
      'EBUSY',
      `${n} kdamond(s) already configured in ${p.admin}/kdamonds: another DAMON user (damo, another hmsdk) owns them, and creating ours ` +
        `would destroy them. If they are a leftover (state 'off'), 'echo 0 > ${p.nrKdamonds}' removes them`,
    );
  }
  try {
    accessSync(p.nrKdamonds, constants.W_OK);
  } catch (err) {
    throw writeError(p.nrKdamonds, '1', err);
  }
}

/**
 * Whether {@link openDamon} can work here, without writing anything: the
 * DAMON sysfs directory exists, no kdamond is configured, and we may write
 * to it. Whether the kernel has the `vaddr` operations is listed only
 * inside a kdamond (`avail_operations`), so that is checked by openDamon
 * (ENOTSUP); Debian's kernels with DAMON sysfs all have it.
 */
export function damonAvailable(sysRoot = '/sys'): { ok: true } | { ok: false; why: string } {
  try {
    checkUsable(pathsOf(checkString('sysRoot', sysRoot, PATH_MAX)));
    return { ok: true };
  } catch (err) {
    if (err instanceof HmsdkError) return { ok: false, why: err.message };
    throw err;
  }
}

/** The validated settings of one monitor. */
interface Settings {
  pid: number;
  sampleUs: number;
  aggrUs: number;
  updateUs: number;
  minRegions: number;
  maxRegions: number;
}

function settingsOf(pid: unknown, opts: unknown): Settings & { sysRoot: string } {
  const p = checkInt('pid', pid, 1, MAX_PID);
  const o = readOptions('opts', opts, OPTION_KEYS);
  const interval = (key: 'sampleUs' | 'aggrUs' | 'updateUs', def: number): number => (o[key] === undefined ? def : checkInt(`opts.${key}`, o[key], 1, MAX_INTERVAL_US));
  const sampleUs = interval('sampleUs', 5000);
  const aggrUs = interval('aggrUs', 100_000);
  const updateUs = interval('updateUs', 1_000_000);
  // The kernel refuses these when turning the kdamond on (EINVAL, damon_set_attrs); said here with the names.
  if (aggrUs < sampleUs) throw new RangeError(`opts.aggrUs must be >= opts.sampleUs (${sampleUs}), got ${aggrUs}`);
  const minRegions = o.minRegions === undefined ? 10 : checkInt('opts.minRegions', o.minRegions, KERNEL_MIN_REGIONS, MAX_REGIONS);
  const maxRegions = o.maxRegions === undefined ? Math.max(1000, minRegions) : checkInt('opts.maxRegions', o.maxRegions, minRegions, MAX_REGIONS);
  const sysRoot = o.sysRoot === undefined ? '/sys' : checkString('opts.sysRoot', o.sysRoot, PATH_MAX);
  return { pid: p, sampleUs, aggrUs, updateUs, minRegions, maxRegions, sysRoot };
}

/** Configure kdamond 0 (already created) to monitor `s.pid` with the match-everything stat scheme. */
function configure(p: Paths, s: Settings): void {
  writeAttr(`${p.kdamond}/contexts/nr_contexts`, '1');
  const avail = readAttr(`${p.ctx}/avail_operations`).split(/\s+/);
  if (!avail.includes('vaddr')) {
    throw new HmsdkError('ENOTSUP', `DAMON here lacks the vaddr operations (avail_operations: ${avail.join(' ') || 'none'}; CONFIG_DAMON_VADDR off)`);
  }
  writeAttr(`${p.ctx}/operations`, 'vaddr');
  const attrs = `${p.ctx}/monitoring_attrs`;
  writeAttr(`${attrs}/intervals/sample_us`, String(s.sampleUs));
  writeAttr(`${attrs}/intervals/aggr_us`, String(s.aggrUs));
  writeAttr(`${attrs}/intervals/update_us`, String(s.updateUs));
  writeAttr(`${attrs}/nr_regions/min`, String(s.minRegions));
  writeAttr(`${attrs}/nr_regions/max`, String(s.maxRegions));
  writeAttr(`${p.ctx}/targets/nr_targets`, '1');
  writeAttr(`${p.ctx}/targets/0/pid_target`, String(s.pid));
  writeAttr(`${p.ctx}/schemes/nr_schemes`, '1');
  writeAttr(`${p.scheme}/action`, 'stat');
  const pattern = `${p.scheme}/access_pattern`;
  for (const [range, max] of [['sz', ULONG_MAX], ['nr_accesses', UINT_MAX], ['age', UINT_MAX]] as const) {
    writeAttr(`${pattern}/${range}/min`, '0');
    writeAttr(`${pattern}/${range}/max`, max);
  }
}

function isBusy(err: unknown): boolean {
  return err instanceof HmsdkError ? err.errno === osConstants.errno.EBUSY : errnoOf(err) === 'EBUSY';
}

/**
 * Run a read or write of a kdamond file, retrying while the kernel answers
 * EBUSY: DAMON's sysfs files, `state` included when read, take
 * damon_sysfs_lock with a trylock and fail instead of waiting, and a pending
 * update request takes that lock every 100 ms while it waits.
 */
function unlessBusy<T>(op: () => T): T {
  for (let waited = 0; ; waited += BUSY_STEP_MS) {
    try {
      return op();
    } catch (err) {
      if (!isBusy(err) || waited >= BUSY_RETRY_MS) throw err;
      sleepSync(BUSY_STEP_MS);
    }
  }
}

function readState(p: Paths): string {
  return unlessBusy(() => readAttr(p.state));
}

/**
 * Turn kdamond 0 off if it runs and remove it. Writing `off` to a stopped
 * kdamond fails (EPERM), so the state is read first; `nr_kdamonds` is
 * refused (EBUSY) until a pending update request has seen the kdamond stop.
 */
function teardown(p: Paths): void {
  if (readState(p) !== 'off') {
    try {
      unlessBusy(() => writeAttr(p.state, 'off'));
    } catch (err) {
      if (readState(p) !== 'off') throw err; // it stopped by itself in between: fine
    }
  }
  unlessBusy(() => writeAttr(p.nrKdamonds, '0'));
}

class DamonMonitor implements AccessMonitor {
  readonly kind = 'damon';
  private closed = false;
  private pending: Promise<AccessRegion[]> | undefined;
  /** nr_accesses of a region accessed in every sample (the kernel's integer division). */
  private readonly maxAccesses: number;
  private readonly onExit = (): void => this.close();

  constructor(
    private readonly paths: Paths,
    private readonly settings: Settings,
  ) {
    this.maxAccesses = Math.floor(settings.aggrUs / settings.sampleUs);
    process.on('exit', this.onExit);
  }

  sample(): Promise<AccessRegion[]> {
    if (this.closed) return Promise.reject(new HmsdkError('ECLOSED', 'the DAMON monitor was closed'));
    // One request at a time: the kernel refuses a second one with EBUSY, and both callers want the same answer.
    this.pending ??= this.collect().finally(() => {
      this.pending = undefined;
      if (this.closed) teardown(this.paths); // close() came while the request was pending
    });
    return this.pending;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    // Writing `off` while an update request waits on the kdamond never returned on 6.12 (measured), so a
    // pending sample() tears down once the kernel has answered it (within a few aggregation intervals).
    if (this.pending === undefined) teardown(this.paths);
  }

  private async collect(): Promise<AccessRegion[]> {
    this.assertRunning();
    await writeAttrAsync(this.paths.state, 'update_schemes_tried_regions');
    if (this.closed) throw new HmsdkError('ECLOSED', 'the DAMON monitor was closed while sampling');
    // The kernel ends the wait with success when the kdamond stops meanwhile, with nothing collected.
    this.assertRunning();
    return this.readRegions();
  }

  /** The kdamond stops by itself when its target exits. */
  private assertRunning(): void {
    if (readState(this.paths) !== 'off') return;
    const { pid } = this.settings;
    if (!alive(pid)) throw goneError(pid);
    throw new HmsdkError('ETOOL', `the kdamond monitoring process ${pid} stopped while the process runs (someone wrote 'off' to ${this.paths.state}?)`);
  }

  private readRegions(): AccessRegion[] {
    const dir = `${this.paths.scheme}/tried_regions`;
    const regions: AccessRegion[] = [];
    for (const name of listKernelDir(dir, SYSFS_DIR_MAX_ENTRIES)) {
      if (!/^\d+$/.test(name)) continue; // total_bytes (6.6+) sits beside the region directories
      const start = readNumber(`${dir}/${name}/start`);
      const end = readNumber(`${dir}/${name}/end`);
      if (end <= start) throw new HmsdkError('ECONFIG', `${dir}/${name}: end ${end} is not above start ${start}`);
      const nr = readNumber(`${dir}/${name}/nr_accesses`);
      regions.push({ start, end, rate: Math.min(1, nr / this.maxAccesses) });
    }
    return regions.sort((a, b) => a.start - b.start);
  }
}

/**
 * Start monitoring process `pid` with DAMON (root only). See the module
 * comment for what is set up and what close() undoes.
 *
 * @param pid - the target process
 * @param opts - sysfs root and DAMON's monitoring attributes
 * @throws TypeError / RangeError for a bad pid or option
 * @throws HmsdkError `ENOTSUP` (no DAMON sysfs, no vaddr), `ESYSCALL` with
 *   errno EBUSY (kdamonds exist already, or a DAMON module runs
 *   exclusively), EACCES / EPERM (not root) or ESRCH (no such process)
 */
export function openDamon(pid: number, opts?: DamonOptions): AccessMonitor {
  const { sysRoot, ...settings } = settingsOf(pid, opts);
  const paths = pathsOf(sysRoot);
  checkUsable(paths);
  if (!alive(settings.pid)) throw goneError(settings.pid);
  writeAttr(paths.nrKdamonds, '1');
  try {
    configure(paths, settings);
    try {
      writeAttr(paths.state, 'on');
    } catch (err) {
      // A pid that has gone since the check above: the kernel's find_get_pid fails and `on` is EINVAL.
      if (!alive(settings.pid)) throw goneError(settings.pid, err);
      if (err instanceof HmsdkError && err.errno === osConstants.errno.EBUSY) {
        throw new HmsdkError('EBUSY', `DAMON refused to start a kdamond (EBUSY): a DAMON module (damon_reclaim, damon_lru_sort) runs exclusively`, { syscall: 'write', errno: osConstants.errno.EBUSY, cause: err });
      }
      throw err;
    }
  } catch (err) {
    try {
      teardown(paths);
    } catch {
      // The first error is the one to report; a failed cleanup leaves a stopped kdamond the next open names (EBUSY).
    }
    throw err;
  }
  return new DamonMonitor(paths, settings);
}
