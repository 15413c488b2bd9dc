/**
 * The VM's initramfs, in two gzip'd cpio layers that the kernel unpacks one
 * after the other:
 *
 * 1. a base layer, cached per kernel: static busybox, the kernel's
 *    virtio/9p modules and `/init`;
 * 2. a per-run job layer: `/hmsdk/vars` (markers' nonce, output dir) and
 *    `/hmsdk/job.sh` (see job.ts).
 *
 * `/init` mounts proc/sys/dev, loads the modules in order, mounts the host
 * root read-only over 9p at /newroot (with proc, sys, dev, a tmpfs /tmp and
 * /dev/shm inside), mounts the read-write results share at the host path of
 * the output directory, prints the start marker, runs the job chrooted,
 * prints the exit marker and powers off through sysrq. Any setup failure
 * prints `hmsdk-init: ...` and reports exit code 125.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { HmsdkError } from '../errors';
import { cpioNewc, CpioEntry, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG } from './cpio';
import { JOB_SETUP_FAILED, JobSpec, jobScript, shQuote } from './job';
import type { CachedKernel } from './kernels';
import { requireTool } from './tools';

/** 9p mount tag of the read-only host root. */
export const HOSTROOT_TAG = 'hostroot';
/** 9p mount tag of the read-write results directory. */
export const OUT_TAG = 'hmsdkout';

/** Markers the init prints on the console; `nonce` makes them unforgeable by the command's output. */
export function markers(nonce: string): { start: string; exitPrefix: string } {
  return { start: `<<hmsdk:start:${nonce}>>`, exitPrefix: `<<hmsdk:exit:${nonce}:` };
}

/** The /init script (busybox sh). */
export function initScript(): string {
  const p9 = 'trans=virtio,version=9p2000.L,msize=512000';
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
. /hmsdk/vars
bye() { echo "<<hmsdk:exit:$HMSDK_NONCE:$1>>"; sync; echo o >/proc/sysrq-trigger; sleep 10; }
die() { echo "hmsdk-init: $*"; bye ${JOB_SETUP_FAILED}; }
for m in /lib/modules/*.ko; do insmod "$m" || die "insmod $m failed"; done
# Loopback up: programs under test may serve and call 127.0.0.1.
ifconfig lo 127.0.0.1 up 2>/dev/null || ip link set lo up 2>/dev/null
mount -t 9p -o ${p9},cache=loose,ro ${HOSTROOT_TAG} /newroot || die "cannot mount the host root (9p tag ${HOSTROOT_TAG})"
mount -t proc proc /newroot/proc || die "cannot mount /proc in the host root"
mount -t sysfs sysfs /newroot/sys || die "cannot mount /sys in the host root"
mount -t devtmpfs devtmpfs /newroot/dev || die "cannot mount /dev in the host root"
mkdir -p /newroot/dev/shm /newroot/dev/pts && mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mkdir -p /hosttmp && mount --bind /newroot/tmp /hosttmp || die "cannot keep the host /tmp"
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || die "cannot mount a tmpfs on /tmp"
# A working directory under the host's /tmp (CI clones can live there) stays
# visible: bind the host's copy of it over the guest's tmpfs.
case "$HMSDK_CWD" in /tmp/?*) mkdir -p "/newroot$HMSDK_CWD" && mount --bind "/hosttmp\${HMSDK_CWD#/tmp}" "/newroot$HMSDK_CWD" || die "cannot bind $HMSDK_CWD from the host /tmp";; esac
mkdir -p "/newroot$HMSDK_OUT" 2>/dev/null
mount -t 9p -o ${p9},cache=none ${OUT_TAG} "/newroot$HMSDK_OUT" || die "cannot mount the output directory $HMSDK_OUT (9p tag ${OUT_TAG})"
cp /hmsdk/job.sh /newroot/tmp/.hmsdk-job.sh || die "cannot copy the job script"
echo "<<hmsdk:start:$HMSDK_NONCE>>"
chroot /newroot /bin/sh /tmp/.hmsdk-job.sh
bye $?
`;
}

function gzip(entries: CpioEntry[]): Buffer {
  return zlib.gzipSync(cpioNewc(entries), { level: 6 });
}

/** Path of the (cached) base initramfs for `kernel`; built on first use. */
export function baseInitramfs(kernel: CachedKernel): string {
  const busybox = requireTool('busybox');
  const bb = fs.readFileSync(busybox);
  if (!isStaticElf(bb)) {
    throw new HmsdkError('ETOOL', `${busybox} is dynamically linked and cannot run in the initramfs; install it with: apt-get install busybox-static`);
  }
  const init = initScript();
  const hash = crypto.createHash('sha256').update(bb).update(init).update(kernel.modules.map((m) => path.basename(m)).join()).digest('hex').slice(0, 16);
  const file = path.join(kernel.dir, `initramfs-${hash}.cpio.gz`);
  if (fs.existsSync(file)) return file;
  const dir = (name: string): CpioEntry => ({ name, mode: S_IFDIR | 0o755 });
  const entries: CpioEntry[] = [
    dir('bin'), dir('dev'), dir('proc'), dir('sys'), dir('newroot'), dir('lib'), dir('lib/modules'), dir('hmsdk'),
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdev: [5, 1] },
    { name: 'bin/busybox', mode: S_IFREG | 0o755, data: bb },
    { name: 'bin/sh', mode: S_IFLNK | 0o777, data: 'busybox' },
    { name: 'init', mode: S_IFREG | 0o755, data: init },
    ...kernel.modules.map((m): CpioEntry => ({ name: `lib/modules/${path.basename(m)}`, mode: S_IFREG | 0o644, data: fs.readFileSync(m) })),
  ];
  for (const old of fs.readdirSync(kernel.dir)) if (/^initramfs-.*\.cpio\.gz$/.test(old)) fs.rmSync(path.join(kernel.dir, old), { force: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, gzip(entries));
  fs.renameSync(tmp, file);
  return file;
}

/** The per-run job layer (gzip'd cpio) carrying the job script and init variables. */
export function jobLayer(job: JobSpec, nonce: string): Buffer {
  const vars = `HMSDK_NONCE=${shQuote(nonce)}\nHMSDK_OUT=${shQuote(job.outDir)}\nHMSDK_CWD=${shQuote(job.cwd)}\n`;
  return gzip([
    { name: 'hmsdk', mode: S_IFDIR | 0o755 },
    { name: 'hmsdk/vars', mode: S_IFREG | 0o644, data: vars },
    { name: 'hmsdk/job.sh', mode: S_IFREG | 0o755, data: jobScript(job) },
  ]);
}

/** Write base + job layer to `file` (the `-initrd` for one run). */
export function writeRunInitrd(kernel: CachedKernel, job: JobSpec, nonce: string, file: string): void {
  fs.writeFileSync(file, Buffer.concat([fs.readFileSync(baseInitramfs(kernel)), jobLayer(job, nonce)]));
}

/** True for an ELF executable without a PT_INTERP program header (statically linked). */
export function isStaticElf(b: Buffer): boolean {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > b.length) return false;
    if (b.readUInt32LE(off) === 3) return false; // PT_INTERP
  }
  return true;
}
