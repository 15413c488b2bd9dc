/**
 * The monitored process as the kernel shows it: its identity (so a reused
 * pid is never mistaken for it), whether it still runs, and its anonymous
 * mappings with their resident pages per node (/proc/PID/maps for the
 * ranges, /proc/PID/numa_maps for the pages, joined by start address).
 * Everything the page tierer believes about where memory is comes from
 * here or from move_pages, never from what it meant to do.
 */
import { readFileSync } from 'node:fs';
import { HmsdkError } from '../../errors';
import { readKernelFile } from '../../kernel/files';
import { parseNumaMaps } from '../../topology/numa-maps';

/** /proc/PID/maps and numa_maps: a line per mapping, up to vm.max_map_count of them (see numa-maps.ts). */
const PROC_MAPS_MAX_BYTES = 128 * 2 ** 20;

/** An anonymous mapping (no file behind it: anonymous, heap, stack) and its resident pages. */
export interface AnonMapping {
  start: number;
  end: number;
  /** Resident pages per node id. */
  pages: Map<number, number>;
  /** Bytes of each of those pages. */
  pageSize: number;
}

/** A mapping's line of /proc/PID/maps or smaps ("start-end perms offset dev inode [path]"), or undefined for a field line of smaps. */
export function mappingLine(line: string): { start: number; end: number; anonymous: boolean } | undefined {
  const c = line.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) || !line.includes('-')) return undefined; // field lines start with a capital
  const f = line.split(/\s+/);
  const [lo, hi] = (f[0] ?? '').split('-');
  // anonymous: inode 0 and no path, or a bracketed pseudo-path ([heap], [stack], [anon:...]; not [vdso], [vvar], [vsyscall])
  const anonymous = f[4] === '0' && (f[5] === undefined || f[5] === '' || (f[5].startsWith('[') && !f[5].startsWith('[v')));
  return { start: parseInt(lo ?? '', 16), end: parseInt(hi ?? '', 16), anonymous };
}

/** The anonymous mappings of /proc/PID/maps text. */
export function parseAnonRanges(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const line of text.split('\n')) {
    const m = mappingLine(line);
    if (m?.anonymous) out.push({ start: m.start, end: m.end });
  }
  return out;
}

/** A process, pinned by its start time: `alive()` is false once it exited, even if its pid is reused. */
export class TrackedProcess {
  readonly pid: number;
  readonly #startTime: string;

  constructor(pid: number) {
    this.pid = pid;
    const st = this.#stat();
    if (st === undefined) throw new HmsdkError('ESRCH', `no process ${pid}`);
    this.#startTime = st.startTime;
  }

  /** Still running (not exited, not a zombie, not another process under the same pid). */
  alive(): boolean {
    const st = this.#stat();
    return st !== undefined && st.startTime === this.#startTime && st.state !== 'Z' && st.state !== 'X';
  }

  /** The environment the process was started (or exec'd) with, NUL-separated with a leading NUL; '' once gone. */
  environ(): string {
    try {
      return '\0' + readFileSync(`/proc/${this.pid}/environ`, 'latin1');
    } catch {
      return '';
    }
  }

  /** Anonymous mappings with resident pages. Throws ESRCH once the process is gone. */
  anonMappings(): AnonMapping[] {
    const ranges = new Map<number, { start: number; end: number }>();
    for (const r of parseAnonRanges(this.#read('maps'))) ranges.set(r.start, r);
    const out: AnonMapping[] = [];
    for (const m of parseNumaMaps(this.#read('numa_maps'))) {
      if (m.file !== undefined || m.kind === 'huge') continue;
      const r = ranges.get(parseInt(m.address, 16));
      const pages = new Map<number, number>();
      for (const [n, p] of Object.entries(m.pages)) if (p > 0) pages.set(Number(n), p);
      if (r === undefined || pages.size === 0) continue;
      out.push({ start: r.start, end: r.end, pages, pageSize: m.pageSize });
    }
    return out;
  }

  #read(file: 'maps' | 'numa_maps' | 'smaps'): string {
    try {
      return readKernelFile(`/proc/${this.pid}/${file}`, PROC_MAPS_MAX_BYTES, 'latin1');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ESRCH') throw new HmsdkError('ESRCH', `process ${this.pid} exited`);
      throw err;
    }
  }

  /** /proc/PID/maps as text. */
  maps(): string {
    return this.#read('maps');
  }

  /** /proc/PID/smaps as text (the sampling monitor's input). */
  smaps(): string {
    return this.#read('smaps');
  }

  #stat(): { state: string; startTime: string } | undefined {
    let text: string;
    try {
      text = readFileSync(`/proc/${this.pid}/stat`, 'latin1');
    } catch {
      return undefined;
    }
    // "pid (comm) state ppid ..." and comm may hold spaces and parentheses
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const startTime = fields[19];
    const state = fields[0];
    return startTime === undefined || state === undefined ? undefined : { state, startTime };
  }
}
