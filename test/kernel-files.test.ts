// The one reader of kernel pseudo-files (src/kernel/files.ts): regular files
// only, never blocking, never following a final symlink, bounded reads and
// listings; OS errors other than those pass through with their code.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HmsdkError } from '../src/errors';
import { ATTRIBUTE_MAX_BYTES, listKernelDir, readKernelFile } from '../src/kernel/files';
import { thrown } from './helpers/error-code';

const dir = mkdtempSync(join(tmpdir(), 'hmsdk-kernel-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectConfigError(fn: () => unknown, message: RegExp): void {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(HmsdkError);
  expect((err as HmsdkError).code).toBe('ECONFIG');
  expect((err).message).toMatch(message);
}

describe('readKernelFile', () => {
  it('reads a regular file in the given encoding', () => {
    writeFileSync(join(dir, 'attr'), '0-3\n');
    expect(readKernelFile(join(dir, 'attr'), ATTRIBUTE_MAX_BYTES, 'latin1')).toBe('0-3\n');
    writeFileSync(join(dir, 'utf8'), 'café\n');
    expect(readKernelFile(join(dir, 'utf8'), ATTRIBUTE_MAX_BYTES, 'utf8')).toBe('café\n');
  });

  it('reads real procfs files (regular files per fstat, size 0)', () => {
    expect(readKernelFile('/proc/self/comm', ATTRIBUTE_MAX_BYTES, 'utf8').trim()).not.toBe('');
    expect(readKernelFile('/proc/self/numa_maps', 128 * 2 ** 20, 'utf8')).toMatch(/^[0-9a-f]+ /);
  });

  it('reads more than one chunk up to the bound, and refuses one byte more', () => {
    const size = 3 * 64 * 1024 + 5;
    writeFileSync(join(dir, 'exact'), 'x'.repeat(size));
    expect(readKernelFile(join(dir, 'exact'), size, 'latin1')).toHaveLength(size);
    expectConfigError(() => readKernelFile(join(dir, 'exact'), size - 1, 'latin1'), /exact holds more than \d+ bytes/);
  });

  it('stops at the bound of a huge (sparse) file instead of reading it', () => {
    const huge = join(dir, 'huge');
    writeFileSync(huge, '');
    truncateSync(huge, 8 * 2 ** 30);
    const t0 = Date.now();
    expectConfigError(() => readKernelFile(huge, ATTRIBUTE_MAX_BYTES, 'latin1'), /huge holds more than 65536 bytes/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('refuses a directory', () => {
    mkdirSync(join(dir, 'a-dir'));
    expectConfigError(() => readKernelFile(join(dir, 'a-dir'), ATTRIBUTE_MAX_BYTES, 'latin1'), /a-dir is a directory, not a regular file/);
  });

  it('refuses a FIFO without blocking on it', () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expectConfigError(() => readKernelFile(join(dir, 'fifo'), ATTRIBUTE_MAX_BYTES, 'latin1'), /fifo is a FIFO \(named pipe\), not a regular file/);
  });

  it('refuses a character device opened directly', () => {
    expectConfigError(() => readKernelFile('/dev/zero', ATTRIBUTE_MAX_BYTES, 'latin1'), /\/dev\/zero is a character device/);
  });

  it('refuses a final symlink, to a device or to a regular file alike', () => {
    symlinkSync('/dev/zero', join(dir, 'to-zero'));
    expectConfigError(() => readKernelFile(join(dir, 'to-zero'), ATTRIBUTE_MAX_BYTES, 'latin1'), /to-zero is a symbolic link, not a regular file/);
    symlinkSync('attr', join(dir, 'to-attr'));
    expectConfigError(() => readKernelFile(join(dir, 'to-attr'), ATTRIBUTE_MAX_BYTES, 'latin1'), /to-attr is a symbolic link/);
  });

  it('refuses a path behind a symlink loop', () => {
    symlinkSync('loop', join(dir, 'loop'));
    expectConfigError(() => readKernelFile(join(dir, 'loop', 'attr'), ATTRIBUTE_MAX_BYTES, 'latin1'), /loop\/attr cannot be resolved: symbolic link loop/);
  });

  it('passes other OS errors through with their code', () => {
    expect((thrown(() => readKernelFile(join(dir, 'absent'), ATTRIBUTE_MAX_BYTES, 'latin1')) as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect((thrown(() => readKernelFile(join(dir, 'attr', 'below'), ATTRIBUTE_MAX_BYTES, 'latin1')) as NodeJS.ErrnoException).code).toBe('ENOTDIR');
  });
});

describe('listKernelDir', () => {
  const listed = join(dir, 'listed');
  mkdirSync(listed);
  for (const name of ['a', 'b', 'c']) writeFileSync(join(listed, name), '');

  it('lists entries, following a symlink to a directory', () => {
    expect(listKernelDir(listed, 10).sort()).toEqual(['a', 'b', 'c']);
    symlinkSync('listed', join(dir, 'to-listed'));
    expect(listKernelDir(join(dir, 'to-listed'), 10).sort()).toEqual(['a', 'b', 'c']);
  });

  it('enforces the entry bound', () => {
    expect(listKernelDir(listed, 3)).toHaveLength(3);
    expectConfigError(() => listKernelDir(listed, 2), /listed has more than 2 entries/);
  });

  it('refuses a symlink loop', () => {
    symlinkSync('dir-loop', join(dir, 'dir-loop'));
    expectConfigError(() => listKernelDir(join(dir, 'dir-loop'), 10), /dir-loop cannot be resolved: symbolic link loop/);
  });

  it('passes ENOENT and ENOTDIR (a file or FIFO where a directory belongs) through', () => {
    expect((thrown(() => listKernelDir(join(dir, 'absent'), 10)) as NodeJS.ErrnoException).code).toBe('ENOENT');
    writeFileSync(join(dir, 'plain'), '');
    expect((thrown(() => listKernelDir(join(dir, 'plain'), 10)) as NodeJS.ErrnoException).code).toBe('ENOTDIR');
    execFileSync('mkfifo', [join(dir, 'dir-fifo')]);
    expect((thrown(() => listKernelDir(join(dir, 'dir-fifo'), 10)) as NodeJS.ErrnoException).code).toBe('ENOTDIR');
  });
});
