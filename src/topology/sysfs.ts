/**
 * Small pure helpers for sysfs text: node/cpu list syntax, meminfo, and file
 * readers that turn "absent" into `undefined`. The readers go through the
 * one safe reader of kernel files (src/kernel/files.ts), so a directory,
 * FIFO, device, symlink or oversized file where an attribute belongs is an
 * HmsdkError `ECONFIG`, never a hang. No state, no heavy imports:
 * `hmsdk stats` loads this file on its start-up path.
 */
import { ATTRIBUTE_MAX_BYTES, listKernelDir, readKernelFile, SYSFS_DIR_MAX_ENTRIES } from '../kernel/files';

/** Largest id {@link parseNodeList} accepts (NR_CPUS tops out at 8192; this guards against huge ranges). */
export const MAX_LIST_ID = 65535;

/**
 * Parse the kernel's list syntax used by node lists and cpulists
 * (`"0-3,8,10-11"`, as `bitmap_print_to_pagebuf` prints it) into sorted,
 * de-duplicated ids. Surrounding whitespace (the trailing newline of a sysfs
 * file) is ignored; an empty string means the empty set.
 *
 * @param text - list text, e.g. the content of `/sys/devices/system/node/online`
 * @returns ascending ids
 * @throws RangeError when the text is not a list (`"0-"`, `"a"`, `"3-1"`, `"1,,2"`)
 *   or names an id above {@link MAX_LIST_ID}
 * @example
 * ```ts
 * parseNodeList('0-3,8\n'); // [0, 1, 2, 3, 8]
 * parseNodeList('');        // []
 * ```
 */
export function parseNodeList(text: string): number[] {
  if (typeof text !== 'string') throw new TypeError(`node list must be a string, got ${typeof text}`);
  const s = text.trim();
  if (s === '') return [];
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new RangeError(`malformed node list "${s}": bad element "${part}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new RangeError(`malformed node list "${s}": range "${part}" runs backwards`);
    if (hi > MAX_LIST_ID) throw new RangeError(`malformed node list "${s}": id ${hi} exceeds ${MAX_LIST_ID}`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Format ids in the kernel's list syntax, collapsing runs: `[0,1,2,3,8]` → `"0-3,8"`.
 * Order and duplicates in the input do not matter; `[]` gives `""`.
 *
 * @param ids - non-negative integer ids
 * @throws RangeError when an id is not a non-negative safe integer
 */
export function formatNodeList(ids: readonly number[]): string {
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`node list id must be a non-negative integer, got ${String(id)}`);
  }
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i] as number;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i] as number;
    parts.push(start === end ? String(start) : `${start}-${end}`);
    i++;
  }
  return parts.join(',');
}

/**
 * Parse meminfo text into a key → value map. Handles both the per-node form
 * (`Node 0 MemTotal:       16318256 kB`) and `/proc/meminfo` form
 * (`MemTotal: 16318256 kB`). Values with a `kB` unit are converted to BYTES;
 * unitless values (`HugePages_Total`, counts) are kept as they are.
 * Lines that do not match are skipped.
 *
 * @param text - file content
 * @returns e.g. `{ MemTotal: 16709894144, MemFree: ..., HugePages_Total: 0 }`
 */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = /^(?:Node\s+\d+\s+)?([A-Za-z0-9_()]+):\s+(\d+)(\s+kB)?\s*$/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const v = Number(m[2]);
    out[m[1] as string] = m[3] === undefined ? v : v * 1024;
  }
  return out;
}

// errno codes that mean "this attribute is not there / not readable here".
// sysfs show() methods also return ENXIO/ENODEV/EOPNOTSUPP/EINVAL/EIO for
// attributes that exist but have no value (e.g. CXL region access0 files
// return ENOENT when the figure is 0).
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ENXIO', 'ENODEV', 'EOPNOTSUPP', 'EINVAL', 'EIO', 'EACCES', 'EPERM', 'ENODATA']);

function isAbsent(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ABSENT.has(code);
}

/**
 * Read a small text file; `undefined` when it is absent or unreadable in a
 * way sysfs uses for "no value" (ENOENT, ENOTDIR, ENXIO, ENODEV, EACCES, ...).
 * Other errors (EMFILE, ...) are thrown.
 *
 * @param path - absolute path
 * @throws HmsdkError `ECONFIG` when the path is not a regular file (a
 *   directory, FIFO, device, symlink, symlink loop) or holds more than
 *   64 KiB, more than any sysfs attribute
 */
export function readText(path: string): string | undefined {
  try {
    return readKernelFile(path, ATTRIBUTE_MAX_BYTES, 'latin1');
  } catch (err) {
    if (isAbsent(err)) return undefined;
    throw err;
  }
}

/**
 * Read a file holding one integer (`"65536\n"`); `undefined` when absent or
 * when the content is not a decimal integer.
 *
 * @param path - absolute path
 */
export function readInt(path: string): number | undefined {
  const t = readText(path);
  if (t === undefined) return undefined;
  const s = t.trim();
  return /^-?\d+$/.test(s) ? Number(s) : undefined;
}

/**
 * Read a file in list syntax (see {@link parseNodeList}); `undefined` when absent.
 *
 * @param path - absolute path
 * @throws RangeError naming the path when the file exists but its content is not a list
 */
export function readList(path: string): number[] | undefined {
  const t = readText(path);
  if (t === undefined) return undefined;
  try {
    return parseNodeList(t);
  } catch (err) {
    throw new RangeError(`${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Entry names of a directory (files, directories and symlinks alike);
 * `[]` when it is absent. Order is the file system's.
 *
 * @param path - absolute path
 * @throws HmsdkError `ECONFIG` on a symlink loop or more than 65536 entries
 */
export function listDir(path: string): string[] {
  try {
    return listKernelDir(path, SYSFS_DIR_MAX_ENTRIES);
  } catch (err) {
    if (isAbsent(err)) return [];
    throw err;
  }
}

/**
 * Like {@link listDir} but `undefined` (not `[]`) when the directory is
 * absent, to tell "no such feature" from "feature with no entries".
 *
 * @param path - absolute path
 * @throws HmsdkError `ECONFIG` on a symlink loop or more than 65536 entries
 */
export function listDirIfExists(path: string): string[] | undefined {
  try {
    return listKernelDir(path, SYSFS_DIR_MAX_ENTRIES);
  } catch (err) {
    if (isAbsent(err)) return undefined;
    throw err;
  }
}
