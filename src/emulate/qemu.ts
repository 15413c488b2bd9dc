/**
 * Preset → `qemu-system-x86_64` command line.
 *
 * q35 with `hmat=on` (when the preset has HMAT figures), TCG (`-accel tcg -cpu max`: KVM guests hang on the
 * build machines), one RAM backend per node, `-numa node` / `-numa dist` /
 * `-numa hmat-lb` lines from the preset, the host root shared read-only and
 * the output directory read-write over virtio-9p, serial console on stdio.
 *
 * HMAT units: QEMU takes bandwidth in bytes/s and the kernel prints it in
 * units of 2^20 bytes/s ("MB/s" in sysfs), so a preset's `readBandwidthMBps`
 * is passed with QEMU's `M` suffix (2^20) and sysfs shows the same number.
 * Latencies are ns on both sides.
 */
import type { Preset } from './preset';
import { HOSTROOT_TAG, OUT_TAG } from './initramfs';
import { requireTool } from './tools';

/** Inputs besides the preset. */
export interface QemuBoot {
  /** Kernel image. */
  kernel: string;
  /** Initramfs. */
  initrd: string;
  /** Host directory shared read-write (results). */
  outDir: string;
  /** Extra kernel command line words. */
  append?: string[];
}

/** The `-smp`, `-object memory-backend-ram`, `-numa` and `-m` arguments of a preset. */
export function numaArgs(preset: Preset): string[] {
  const vcpus = preset.nodes.reduce((s, n) => s + n.cpus.length, 0);
  const present = preset.nodes.reduce((s, n) => s + (n.offline ? 0 : n.cpus.length), 0);
  const totalMiB = preset.nodes.reduce((s, n) => s + n.memMiB, 0);
  const hmat = preset.hmat.length > 0;
  const a: string[] = ['-m', `${totalMiB}M`, '-smp', present === vcpus ? String(vcpus) : `${present},maxcpus=${vcpus}`];
  for (const n of preset.nodes) if (!n.offline) a.push('-object', `memory-backend-ram,id=mem${n.id},size=${n.memMiB}M`);
  for (const n of preset.nodes) {
    const cpus = n.cpus.length ? `,cpus=${cpuRanges(n.cpus)}` : '';
    const mem = n.offline ? '' : `,memdev=mem${n.id}`;
    a.push('-numa', `node,nodeid=${n.id}${cpus}${mem}${hmat ? `,initiator=${n.initiator}` : ''}`);
  }
  if (preset.distances) {
    preset.nodes.forEach((src, i) =>
      preset.nodes.forEach((dst, j) => {
        if (i !== j) a.push('-numa', `dist,src=${src.id},dst=${dst.id},val=${preset.distances![i]![j]}`);
      }),
    );
  }
  const lb = (h: Preset['hmat'][number], type: string, value: string): void => {
    a.push('-numa', `hmat-lb,initiator=${h.initiator},target=${h.target},hierarchy=memory,data-type=${type},${value}`);
  };
  // Write figures are all-or-nothing per table (validated): split read/write or give one access figure.
  const splitLat = preset.hmat.some((h) => h.writeLatencyNs !== undefined);
  const splitBw = preset.hmat.some((h) => h.writeBandwidthMBps !== undefined);
  for (const h of preset.hmat) {
    if (splitLat) {
      lb(h, 'read-latency', `latency=${h.readLatencyNs}`);
      lb(h, 'write-latency', `latency=${h.writeLatencyNs}`);
    } else lb(h, 'access-latency', `latency=${h.readLatencyNs}`);
    if (splitBw) {
      lb(h, 'read-bandwidth', `bandwidth=${h.readBandwidthMBps}M`);
      lb(h, 'write-bandwidth', `bandwidth=${h.writeBandwidthMBps}M`);
    } else lb(h, 'access-bandwidth', `bandwidth=${h.readBandwidthMBps}M`);
  }
  return a;
}

/** Full argv (without the binary) to boot `preset`. */
export function qemuArgs(preset: Preset, boot: QemuBoot): string[] {
  const append = ['console=ttyS0', 'quiet', 'loglevel=0', 'panic=-1', 'rdinit=/init', ...(boot.append ?? [])];
  return [
    '-accel', 'tcg', '-cpu', 'max',
    '-machine', preset.hmat.length > 0 ? 'q35,hmat=on' : 'q35',
    '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio', '-monitor', 'none',
    ...numaArgs(preset),
    '-virtfs', `local,path=/,mount_tag=${HOSTROOT_TAG},security_model=none,readonly=on,multidevs=remap`,
    '-virtfs', `local,path=${escapeOpt(boot.outDir)},mount_tag=${OUT_TAG},security_model=none,multidevs=remap`,
    '-kernel', boot.kernel,
    '-initrd', boot.initrd,
    '-append', append.join(' '),
  ];
}

/** Path of qemu-system-x86_64; `ETOOL` with the install command when missing. */
export function qemuBinary(searchPath?: string): string {
  return requireTool('qemu-system-x86_64', searchPath);
}

/** CPU list → QEMU `cpus=` value; QEMU takes one range per `cpus=`, so `[0,1,2,5]` → `0-2,cpus=5`. */
function cpuRanges(cpus: number[]): string {
  const ranges: string[] = [];
  let start = cpus[0]!;
  let prev = start;
  for (const c of [...cpus.slice(1), Number.NaN]) {
    if (c === prev + 1) {
      prev = c;
      continue;
    }
    ranges.push(start === prev ? String(start) : `${start}-${prev}`);
    start = prev = c;
  }
  return ranges.join(',cpus=');
}

/** QEMU option values escape a comma by doubling it. */
function escapeOpt(v: string): string {
  return v.replace(/,/g, ',,');
}
