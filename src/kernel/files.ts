/**
 * The one reader of kernel pseudo-files: sysfs attributes, /proc/PID files,
 * and the `--sys-root` trees (fixtures, captures) that stand in for sysfs.
 *
 * Such a path is untrusted input. A capture or a hostile tree can hold a
 * directory, a FIFO, a device, a symlink or a symlink loop, or a huge file
 * where an attribute belongs; a plain `readFileSync` then throws a raw
 * EISDIR/ELOOP, blocks forever on the FIFO, or reads /dev/zero until memory
 * runs out. {@link readKernelFile} therefore opens without blocking and
 * without following a final symlink, accepts only regular files (real sysfs
 * attributes and /proc/PID files are regular files per fstat), and reads at
 * most a bound; {@link listKernelDir} reads at most a bounded number of
 * entries. A file or directory of the wrong kind is an HmsdkError `ECONFIG`
 * naming the path and the problem. Other OS errors of open/read (ENOENT,
 * EACCES, EIO, ...) pass through unchanged: what "absent" means is the
 * caller's decision.
 * @internal
 */
import { closeSync, constants, fstatSync, lstatSync, opendirSync, openSync, readSync, type Dir, type Stats } from 'node:fs';
import { HmsdkError } from '../errors';

/**
 * Bound for one attribute-like file (sysfs attributes, /proc/PID/comm): a
 * sysfs show() method fills at most one page, and 64 KiB is the largest page
 * size Linux runs with (arm64, ppc64). Anything bigger is not an attribute.
 */
export const ATTRIBUTE_MAX_BYTES = 64 * 1024;

/**
 * Bound for one listed sysfs directory. The directories the topology reader
 * lists hold one entry per node (MAX_NUMNODES ≤ 1024), per memory tier or
 * per CXL/dax device: a few thousand on the largest machines.
 */
export const SYSFS_DIR_MAX_ENTRIES = 65_536;

// O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer
// (and fstat then refuses it). O_NOFOLLOW: attribute files are never
// symlinks, so a final symlink (to /dev/zero, to itself) is refused by the
// kernel before anything is opened. O_NOCTTY: a terminal device named by a
// hostile tree must not become our controlling terminal.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY;

// Attribute reads normally finish in the first chunk; big files (numa_maps)
// grow chunk by chunk so the bound costs no memory up front.
const CHUNK_BYTES = 64 * 1024;

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function symlinkLoopError(path: string, err: unknown): HmsdkError {
  return new HmsdkError('ECONFIG', `${path} cannot be resolved: symbolic link loop`, { cause: err });
}

/** ELOOP from open with O_NOFOLLOW: the final component is a symlink, or a parent loops. */
function fileLoopError(path: string, err: unknown): HmsdkError {
  let finalIsLink = false;
  try {
    finalIsLink = lstatSync(path).isSymbolicLink();
  } catch {
    // lstat fails too: the loop is in a parent directory.
  }
  if (!finalIsLink) return symlinkLoopError(path, err);
  return new HmsdkError('ECONFIG', `${path} is a symbolic link, not a regular file (kernel attribute files never are)`, { cause: err });
}

/**
 * Read a kernel pseudo-file as text, refusing anything but a regular file of
 * at most `maxBytes` bytes. Never blocks on a FIFO or device; never follows a
 * final symlink.
 *
 * @param path - absolute path
 * @param maxBytes - largest content accepted (see {@link ATTRIBUTE_MAX_BYTES})
 * @param encoding - text encoding of the content
 * @throws HmsdkError `ECONFIG` when the path is a directory, FIFO, device,
 *   socket or symlink, lies behind a symlink loop, or holds more than `maxBytes`
 * @throws the OS error of open/read otherwise (ENOENT, EACCES, EIO, ...)
 */
export function readKernelFile(path: string, maxBytes: number, encoding: BufferEncoding): string {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP') throw fileLoopError(path, err);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new HmsdkError('ECONFIG', `${path} is ${kindOf(st)}, not a regular file`);
    // Do not trust st.size: sysfs reports 4096 and procfs 0 whatever the content.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, maxBytes + 1 - total));
      const got = readSync(fd, chunk, 0, chunk.length, null);
      if (got === 0) break;
      chunks.push(chunk.subarray(0, got));
      total += got;
      if (total > maxBytes) throw new HmsdkError('ECONFIG', `${path} holds more than ${maxBytes} bytes, too much for a kernel file of its kind`);
    }
    return Buffer.concat(chunks, total).toString(encoding);
  } finally {
    closeSync(fd);
  }
}

/**
 * Entry names of a directory (files, directories and symlinks alike), in
 * the file system's order. A symlink to a directory is followed (sysfs bus
 * directories are made of them); a symlink loop is refused.
 *
 * @param path - absolute path
 * @param maxEntries - most entries accepted (see {@link SYSFS_DIR_MAX_ENTRIES})
 * @throws HmsdkError `ECONFIG` on a symlink loop or more than `maxEntries` entries
 * @throws the OS error of opendir/readdir otherwise (ENOENT, ENOTDIR, EACCES, ...)
 */
export function listKernelDir(path: string, maxEntries: number): string[] {
  let dir: Dir;
  try {
    dir = opendirSync(path);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP') throw symlinkLoopError(path, err);
    throw err;
  }
  try {
    const names: string[] = [];
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      if (names.length === maxEntries) throw new HmsdkError('ECONFIG', `${path} has more than ${maxEntries} entries, too many for a kernel directory of its kind`);
      names.push(entry.name);
    }
    return names;
  } finally {
    dir.closeSync();
  }
}
