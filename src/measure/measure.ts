/**
 * Per-node memory measurements with SDK-placed buffers: sequential read and
 * write bandwidth and dependent-load latency. The loops are the runtime's
 * own native ones, so JS overhead stays out of the bandwidth figures:
 * - write: `Buffer.fill` (memset) over the whole buffer;
 * - read: `Buffer.indexOf` of a byte that is absent (memchr scans it all);
 * - latency: a pointer chase (`i = next[i]`) over a random cyclic
 *   permutation of cache lines, one dependent load per step, so the time per
 *   step is the load-to-use latency plus a small constant JS cost.
 * Figures are only as real as the memory under them: inside the QEMU VM both
 * nodes are host RAM under an emulator, so tier differences do not show.
 */
import { allocate, free } from '../alloc/buffers';

/** Result for one node. */
export interface NodeMeasurement {
  /** Node id. */
  node: number;
  /** Sequential read bandwidth, MB/s (10^6 bytes per second). */
  readMBps: number;
  /** Sequential write bandwidth, MB/s. */
  writeMBps: number;
  /** Dependent-load latency, ns. */
  latencyNs: number;
  /** Buffer size used, bytes. */
  bytes: number;
}

/** Options of {@link measureNode}. */
export interface MeasureOptions {
  /** Buffer size; default 256 MiB (well above last-level caches). */
  bytes?: number;
  /** Repetitions per bandwidth figure (best is kept); default 3. */
  repeats?: number;
  /** Pointer-chase steps; default 2,000,000. */
  chaseSteps?: number;
  /** Called with a fraction 0..1 as work progresses. */
  onProgress?: (fraction: number) => void;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Measure one node. The buffer is strict on the node and populated first. */
export function measureNode(node: number, opts: MeasureOptions = {}): NodeMeasurement {
  const bytes = opts.bytes ?? 256 * 2 ** 20;
  const repeats = opts.repeats ?? 3;
  const steps = opts.chaseSteps ?? 2_000_000;
  const progress = opts.onProgress ?? (() => {});
  const total = 2 * repeats + 1;
  let done = 0;
  const tick = () => progress(++done / total);

  const buf = allocate(bytes, { node, populate: true, zero: false });
  try {
    let write = 0;
    for (let r = 0; r < repeats; r++) {
      const t = process.hrtime.bigint();
      buf.fill(r + 1);
      write = Math.max(write, bytes / seconds(t) / 1e6);
      tick();
    }
    let read = 0;
    for (let r = 0; r < repeats; r++) {
      const t = process.hrtime.bigint();
      if (buf.indexOf(0xff) !== -1) throw new Error('unexpected byte in measurement buffer');
      read = Math.max(read, bytes / seconds(t) / 1e6);
      tick();
    }
    // Random cyclic permutation over 64-byte lines (Sattolo's algorithm).
    const lines = Math.floor(bytes / 64);
    const next = new Uint32Array(buf.buffer, buf.byteOffset, lines * 16);
    const order = new Uint32Array(lines);
    for (let i = 0; i < lines; i++) order[i] = i;
    for (let i = lines - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * i);
      const tmp = order[i] as number;
      order[i] = order[j] as number;
      order[j] = tmp;
    }
    for (let i = 0; i < lines; i++) next[(order[i] as number) * 16] = (order[(i + 1) % lines] as number) * 16;
    let p = 0;
    const t = process.hrtime.bigint();
    for (let s = 0; s < steps; s++) p = next[p] as number;
    const latency = (seconds(t) * 1e9) / steps;
    if (p < 0) throw new Error('unreachable'); // keeps the chase observable
    tick();
    return { node, readMBps: Math.round(read), writeMBps: Math.round(write), latencyNs: Math.round(latency * 10) / 10, bytes };
  } finally {
    free(buf);
  }
}
