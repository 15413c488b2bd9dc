/**
 * Minimal writer for the "newc" cpio format the Linux initramfs unpacker
 * reads (the same bytes as `find . | cpio -o -H newc`). Writing it here keeps
 * the initramfs build free of an external cpio and byte-for-byte
 * reproducible: every entry gets mtime 0 and uid/gid 0.
 */

/** One archive member. */
export interface CpioEntry {
  /** Path inside the archive, without a leading slash (e.g. `bin/busybox`). */
  name: string;
  /** Full st_mode including the file type bits (e.g. `0o100755`). */
  mode: number;
  /** File contents, or the link target for symlinks. */
  data?: Buffer | string;
  /** Device major/minor for character/block devices. */
  rdev?: [number, number];
}

/** File type bits for {@link CpioEntry.mode}. */
export const S_IFDIR = 0o040000;
/** Regular file. */
export const S_IFREG = 0o100000;
/** Symbolic link. */
export const S_IFLNK = 0o120000;
/** Character device. */
export const S_IFCHR = 0o020000;

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

/** Serialise `entries` (plus the trailer) as an uncompressed newc archive. */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (e: CpioEntry): void => {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
    const name = Buffer.from(`${e.name}\0`);
    const isDir = (e.mode & 0o170000) === S_IFDIR;
    const fields = [ino++, e.mode, 0, 0, isDir ? 2 : 1, 0, data.length, 0, 0, e.rdev?.[0] ?? 0, e.rdev?.[1] ?? 0, name.length, 0];
    const header = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'ascii');
    parts.push(header, name, pad4(header.length + name.length), data, pad4(data.length));
  };
  for (const e of entries) push(e);
  push({ name: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(parts);
}
