/**
 * Per-link performance as seen from the initiator(s) the process runs on.
 *
 * sysfs gives each memory node HMAT figures in `access0` (best initiator of
 * any kind) and `access1` (best CPU initiator), each naming the initiator
 * nodes the figures are for. For target `t` and initiator `i`:
 *
 * 1. the first of `access1`, `access0` (CPU initiators preferred: a Node.js
 *    process runs on CPUs) that has a bandwidth and lists `i` is used as is;
 * 2. otherwise the figures are for another initiator `j` (two sockets: node 1's
 *    DRAM is described from socket 1). They are then converted with the SLIT
 *    distances as a rough penalty: bandwidth · d(j,t)/d(i,t), latency ·
 *    d(i,t)/d(j,t), with `j` the listed initiator nearest to `t`. SLIT is a
 *    relative *latency*; treating it as a bandwidth ratio is a heuristic that
 *    only orders remote links below local ones (10/21 ≈ 0.48 for a typical
 *    remote socket). The conversion is reported in the notes. Without
 *    distances the figures are used unscaled, with a note;
 * 3. a figure set that lists no initiators at all is used as is, with a note.
 *
 * Several initiators (a process spread over two sockets): the figures are
 * averaged over the initiators, i.e. threads are assumed evenly spread.
 * No initiator (none known): the preferred figures are used for whichever
 * initiator they list.
 */

import type { NodePerf, NumaNode } from '../topology/types';

/** Figures of one link, after initiator resolution. */
export interface LinkPerf {
  /** Read bandwidth, MB/s. */
  readMBps: number | undefined;
  /** Write bandwidth, MB/s. */
  writeMBps: number | undefined;
  /** Read latency, ns. */
  readLatencyNs: number | undefined;
  /** Write latency, ns. */
  writeLatencyNs: number | undefined;
  /** Which HMAT class the figures came from; undefined when there were none. */
  access: 'access1' | 'access0' | undefined;
  /** True when every initiator was listed by the figures (no SLIT conversion). */
  direct: boolean;
  /** Human-readable remarks (fallbacks used). */
  notes: string[];
}

/**
 * HMAT figures of `target` as seen from `initiators` (see the file header).
 *
 * @example
 * ```ts
 * const perf = hmatLinkPerf(cxlNode, [0]);
 * perf.readMBps; // e.g. 65536, from access1 listing initiator 0
 * ```
 */
export function hmatLinkPerf(target: NumaNode, initiators: readonly number[]): LinkPerf {
  const notes: string[] = [];
  const candidates: ['access1' | 'access0', NodePerf | undefined][] = [
    ['access1', target.access1],
    ['access0', target.access0],
  ];
  const withBw = candidates.filter(
    (c): c is ['access1' | 'access0', NodePerf] => c[1] !== undefined && (c[1].readBandwidth !== undefined || c[1].writeBandwidth !== undefined),
  );
  const empty: LinkPerf = {
    readMBps: undefined,
    writeMBps: undefined,
    readLatencyNs: undefined,
    writeLatencyNs: undefined,
    access: undefined,
    direct: false,
    notes,
  };
  const first = withBw[0];
  if (first === undefined) return empty;
  if (initiators.length === 0) {
    // Initiator unknown: take the preferred figures for whichever initiator they list.
    const [access, perf] = first;
    return {
      readMBps: perf.readBandwidth,
      writeMBps: perf.writeBandwidth,
      readLatencyNs: perf.readLatency,
      writeLatencyNs: perf.writeLatency,
      access,
      direct: true,
      notes,
    };
  }

  const per: { perf: NodePerf; factor: number; access: 'access1' | 'access0' }[] = [];
  let direct = true;
  for (const i of initiators) {
    const exact = withBw.find(([, p]) => p.initiators.includes(i));
    if (exact) {
      per.push({ perf: exact[1], factor: 1, access: exact[0] });
      continue;
    }
    const [access, perf] = first;
    direct = false;
    if (perf.initiators.length === 0) {
      notes.push(`HMAT ${access} of node ${target.id} lists no initiators: used as is for initiator node${i}`);
      per.push({ perf, factor: 1, access });
      continue;
    }
    const di = target.distances[i];
    const nearest = nearestInitiator(target, perf.initiators);
    const dj = nearest === undefined ? undefined : target.distances[nearest];
    if (di === undefined || dj === undefined || di <= 0 || dj <= 0) {
      notes.push(
        `HMAT ${access} of node ${target.id} is for initiator(s) ${perf.initiators.join(',')}, not node${i}, and SLIT distances are missing: used unscaled`,
      );
      per.push({ perf, factor: 1, access });
      continue;
    }
    const factor = dj / di;
    notes.push(
      `HMAT ${access} of node ${target.id} is for initiator node${String(nearest)}, not node${i}: ` +
        `bandwidth scaled by SLIT ${dj}/${di} = ${factor.toFixed(3)} (rough)`,
    );
    per.push({ perf, factor, access });
  }
  if (per.length === 0) return empty;

  const mean = (f: (p: { perf: NodePerf; factor: number }) => number | undefined): number | undefined => {
    const xs = per.map(f);
    if (xs.some((x) => x === undefined)) return undefined;
    return (xs as number[]).reduce((a, b) => a + b, 0) / xs.length;
  };
  return {
    readMBps: mean(({ perf, factor }) => scale(perf.readBandwidth, factor)),
    writeMBps: mean(({ perf, factor }) => scale(perf.writeBandwidth, factor)),
    readLatencyNs: mean(({ perf, factor }) => scale(perf.readLatency, 1 / factor)),
    writeLatencyNs: mean(({ perf, factor }) => scale(perf.writeLatency, 1 / factor)),
    access: per.every((p) => p.access === 'access1') ? 'access1' : per.every((p) => p.access === 'access0') ? 'access0' : first[0],
    direct,
    notes,
  };
}

function scale(v: number | undefined, factor: number): number | undefined {
  return v === undefined ? undefined : v * factor;
}

function nearestInitiator(target: NumaNode, initiators: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const j of initiators) {
    const d = target.distances[j];
    if (d === undefined) continue;
    if (best === undefined || d < (target.distances[best] ?? Infinity)) best = j;
  }
  return best;
}
