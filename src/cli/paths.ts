/**
 * Paths named on the command line, checked before a command does any work:
 * the `--sys-root` tree it reads and the output locations it writes
 * (`hmsdk bench --out FILE`, `hmsdk emulate --out DIR`). A benchmark that
 * measures for minutes and then cannot write its report, or a VM that boots
 * and then cannot share its output directory, loses the user's time; so a bad
 * path is a {@link UsageError} up front, naming the flag, the path and what
 * is wrong with it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './args';

// statfs magic numbers (linux/magic.h). Files there are kernel interfaces:
// writing a report into one fails or, worse, means something to the kernel.
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
]);

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The `--sys-root` value: `/sys` when absent, else an existing directory.
 *
 * @param value - the flag's value from {@link parseArgs}
 * @throws UsageError when the path does not exist or is not a directory
 */
export function sysRootFlag(value: string | boolean | undefined): string {
  return rootDirFlag('--sys-root', value, '/sys');
}

/**
 * The `--proc-root` value: `/proc` when absent, else an existing directory.
 *
 * @param value - the flag's value from {@link parseArgs}
 * @throws UsageError when the path does not exist or is not a directory
 */
export function procRootFlag(value: string | boolean | undefined): string {
  return rootDirFlag('--proc-root', value, '/proc');
}

function rootDirFlag(flag: string, value: string | boolean | undefined, absent: string): string {
  if (typeof value !== 'string') return absent;
  let st: fs.Stats;
  try {
    st = fs.statSync(value);
  } catch (err) {
    throw new UsageError(`${flag} ${value}: ${errnoCode(err) === 'ENOENT' ? 'does not exist' : `cannot be read (${errnoCode(err) ?? String(err)})`}`);
  }
  if (!st.isDirectory()) throw new UsageError(`${flag} ${value}: not a directory`);
  return value;
}

/** An existing directory that output may be created in: a writable directory on a real file system. */
function checkWritableDirectory(flag: string, value: string, dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw new UsageError(`${flag} ${value}: directory ${dir} ${errnoCode(err) === 'ENOENT' ? 'does not exist' : `cannot be used (${errnoCode(err) ?? String(err)})`}`);
  }
  if (!st.isDirectory()) throw new UsageError(`${flag} ${value}: ${dir} is not a directory`);
  const pseudo = PSEUDO_FILE_SYSTEMS.get(fs.statfsSync(dir).type);
  if (pseudo !== undefined) throw new UsageError(`${flag} ${value}: ${dir} is on ${pseudo}, which holds kernel interfaces, not output files`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${value}: directory ${dir} is not writable`);
  }
}

/**
 * Check an output file before the work that produces it: its directory
 * exists and is writable (not procfs/sysfs), and the file, when it exists,
 * is a writable regular file (not a directory, FIFO or device, which would
 * fail or block at write time).
 *
 * @param flag - the flag, for messages (`--out`)
 * @param value - the path as given
 * @returns the absolute path
 * @throws UsageError naming the flag, the path and the problem
 */
export function outputFileFlag(flag: string, value: string): string {
  const file = path.resolve(value);
  checkWritableDirectory(flag, value, path.dirname(file));
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return file;
    throw new UsageError(`${flag} ${value}: cannot be used (${errnoCode(err) ?? String(err)})`);
  }
  if (st.isDirectory()) throw new UsageError(`${flag} ${value}: is a directory, not a file`);
  if (!st.isFile()) throw new UsageError(`${flag} ${value}: exists and is not a regular file`);
  try {
    fs.accessSync(file, fs.constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${value}: file is not writable`);
  }
  return file;
}

/**
 * Check an output directory before the work that fills it. The directory
 * may not exist yet (it is created with its parents later): then its
 * nearest existing ancestor must be a writable directory, not on
 * procfs/sysfs; when it exists it must be such a directory itself.
 *
 * @param flag - the flag, for messages (`--out`)
 * @param value - the path as given
 * @returns the absolute path
 * @throws UsageError naming the flag, the path and the problem
 */
export function outputDirFlag(flag: string, value: string): string {
  const dir = path.resolve(value);
  let existing = dir;
  for (;;) {
    try {
      fs.statSync(existing);
      break;
    } catch (err) {
      // ENOENT: not created yet; ENOTDIR: a file on the way, found further up.
      const code = errnoCode(err);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || existing === path.dirname(existing)) {
        throw new UsageError(`${flag} ${value}: cannot be used (${code ?? String(err)})`);
      }
      existing = path.dirname(existing);
    }
  }
  checkWritableDirectory(flag, value, existing);
  return dir;
}
