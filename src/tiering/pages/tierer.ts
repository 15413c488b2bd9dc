/**
 * The page tierer: keeps an unmodified process's hot pages on DRAM and the
 * rest on EXMEM, within a DRAM budget. What `hmsdk tier` runs beside the
 * program, one tick per interval.
 *
 * ## Units
 * The process's address space is cut into granules: aligned ranges of
 * `granule` bytes (2 MiB by default, one huge page). A granule is what gets
 * a temperature and what moves; the preload keeps each granule a mapping of
 * its own (hm_mbind_split), so the kernel reports its pages separately.
 *
 * ## A tick
 * 1. **Access.** The monitor (DAMON vaddr, or the clear_refs/smaps sampler)
 *    gives regions with an access rate 0..1. A granule's rate is the
 *    byte-weighted mean over the regions covering it; its heat decays by
 *    HEAT_DECAY per tick and gains the rate (a granule read in every window
 *    settles at 1 / (1 - HEAT_DECAY) = 5). Decay is applied lazily, so
 *    granules nobody touched cost nothing until they are looked at.
 * 2. **Where the pages are**, by the kernel: /proc/PID/maps + numa_maps give
 *    each anonymous mapping's resident pages per node; a mapping inside one
 *    granule is exact, a larger one (not split) is spread over its granules
 *    by length. The process's DRAM use is the sum over DRAM nodes: what the
 *    budget is checked against (pages the tierer did not move count too).
 * 3. **The DRAM set** (src/tiering/dram-set.ts, the rule TieredPool uses):
 *    granules with heat > 0 ranked by heat, granules already on DRAM scored
 *    HYSTERESIS times higher plus HYSTERESIS_HEAT (a granule displaces one on
 *    DRAM only when clearly hotter: no ping-pong between equals), charged
 *    their resident bytes, cut at the budget. No rate threshold: whatever is
 *    hottest relative to the rest gets DRAM, however slow the program reads.
 * 4. **Moves**, at most `maxBytesPerTick` a tick (migration bandwidth is
 *    bounded), against the budget less a headroom (HEADROOM_SHARE): first
 *    demote DRAM granules outside the set, coldest first, while DRAM use is
 *    over it; then promote the set's granules
 *    that are not on DRAM yet, hottest first, each after demoting just
 *    enough outside granules to make room. A move is one move_pages call
 *    over the granule; its status array is the verdict: pages counted as
 *    moved are those the kernel reports on the target node afterwards.
 *
 * Cost per tick: the monitor's (see damon.ts / sample.ts), one read of maps
 * and numa_maps (O(mappings)), O(granules with heat or DRAM pages) to rank,
 * and the moves (bounded bytes).
 */
import { HmsdkError } from '../../errors';
import { native } from '../../alloc/native';
import { dramSet } from '../dram-set';
import type { AccessMonitor, AccessRegion } from './monitor';
import type { AnonMapping, TrackedProcess } from './process';

/** Heat kept per tick (a half-life of ~3 ticks: a new hot set wins within a few seconds at 1 s ticks). */
const HEAT_DECAY = 0.8;
/** Granules already on DRAM score this much higher... */
const HYSTERESIS = 1.25;
/** ... and this much more heat (a fifth of one window's full use). */
const HYSTERESIS_HEAT = 0.2;
/** Heat below this reads as 0 (after ~40 idle ticks from full heat). */
const HEAT_FLOOR = 1e-4;
/**
 * The controller plans for the budget less 1/HEADROOM_SHARE of it: pages the
 * program faults on DRAM itself between passes (its main stack, memory no
 * placement reaches) land there without asking; the headroom keeps a
 * reading between two passes within the budget (TPP keeps headroom for new
 * allocations the same way). At a pass, what is over is demoted first.
 */
const HEADROOM_SHARE = 64;
/** A larger mapping is not cut into more granules than this for the residency estimate (V8 and jemalloc reserve far more than they use). */
const MAX_GRANULES_PER_MAPPING = 1 << 20;

export interface TiererOptions {
  /** Node that hot granules move to. */
  dramNode: number;
  /** Nodes counted as DRAM use (dramNode and any other DRAM node). */
  dramNodes: readonly number[];
  /** Node that cold granules move to. */
  exmemNode: number;
  /** Most DRAM the process may use, bytes. */
  budget: number;
  /** Granule size, bytes (a multiple of the page size). */
  granule: number;
  /** Bound on bytes moved per tick (both directions). */
  maxBytesPerTick: number;
}

/** Totals since start: every number from move_pages or numa_maps. */
export interface TiererStats {
  ticks: number;
  /** DRAM bytes gained by promotions: pages the kernel reports on DRAM after the move that were not before. */
  promotedBytes: number;
  /** DRAM bytes shed by demotions, the same way. */
  demotedBytes: number;
  /** Resident pages a move left where they were (busy, pinned, target full), bytes. */
  notMovedBytes: number;
  /** Granule moves (move_pages calls). */
  moves: number;
  /** DRAM use at the last tick, bytes (numa_maps). */
  dramBytes: number;
  /** Highest DRAM use seen at a tick, bytes. */
  peakDramBytes: number;
  /** Anonymous resident memory at the last tick, bytes. */
  residentBytes: number;
}

/** One tick's work. */
export interface TickResult {
  promoted: number;
  demoted: number;
  notMoved: number;
  dramBytes: number;
  /** Ticks the move bound cut short. */
  truncated: boolean;
  /** Share of this pass's accesses (rate-weighted bytes) that went to granules not on DRAM after the moves: 0 when the program ran from DRAM. */
  coldAccessShare: number;
}

interface Granule {
  readonly index: number;
  heat: number;
  /** Tick of `heat`. */
  at: number;
  /** Kernel's residency at the current tick: resident bytes (what the granule charges against the budget) and DRAM bytes. */
  charge: number;
  dram: number;
  seen: number;
  last: number;
}

export class PageTierer {
  readonly #proc: TrackedProcess;
  readonly #monitor: AccessMonitor;
  readonly #o: TiererOptions;
  readonly #granules = new Map<number, Granule>();
  /** This pass's access rate per accessed granule. */
  readonly #passRates = new Map<Granule, number>();
  readonly #pageSize: number;
  #tick = 0;
  readonly #stats: TiererStats = { ticks: 0, promotedBytes: 0, demotedBytes: 0, notMovedBytes: 0, moves: 0, dramBytes: 0, peakDramBytes: 0, residentBytes: 0 };

  constructor(proc: TrackedProcess, monitor: AccessMonitor, options: TiererOptions) {
    this.#proc = proc;
    this.#monitor = monitor;
    this.#o = options;
    this.#pageSize = native().info().pageSize;
    if (options.granule % this.#pageSize !== 0) throw new RangeError(`granule must be a multiple of the page size (${this.#pageSize}), got ${options.granule}`);
  }

  stats(): Readonly<TiererStats> {
    return { ...this.#stats };
  }

  get monitor(): AccessMonitor['kind'] {
    return this.#monitor.kind;
  }

  /** One tick: sample, read residency, move. Throws ESRCH once the process is gone. */
  async tick(): Promise<TickResult> {
    const regions = await this.#monitor.sample();
    this.#tick++;
    this.#stats.ticks++;
    const maps = this.#proc.anonMappings();
    // an exiting process shows no mappings: not a reading to keep
    if (maps.length === 0 && !this.#proc.alive()) throw new HmsdkError('ESRCH', `process ${this.#proc.pid} exited`);
    this.#heatFrom(regions, maps);
    const dramUse = this.#residency(maps);
    const r: TickResult = { promoted: 0, demoted: 0, notMoved: 0, dramBytes: dramUse, truncated: false, coldAccessShare: 0 };
    this.#rebalance(dramUse, r);
    let all = 0;
    let cold = 0;
    for (const [g, rate] of this.#passRates) {
      all += rate;
      if (g.dram < g.charge / 2) cold += rate;
    }
    r.coldAccessShare = all > 0 ? cold / all : 0;
    this.#stats.dramBytes = r.dramBytes;
    this.#stats.peakDramBytes = Math.max(this.#stats.peakDramBytes, dramUse, r.dramBytes);
    return r;
  }

  #granule(index: number): Granule {
    let g = this.#granules.get(index);
    if (g === undefined) {
      g = { index, heat: 0, at: this.#tick, charge: 0, dram: 0, seen: -1, last: 0 };
      this.#granules.set(index, g);
    }
    return g;
  }

  #heatOf(g: Granule): number {
    if (g.at !== this.#tick) {
      g.heat *= HEAT_DECAY ** (this.#tick - g.at);
      if (g.heat < HEAT_FLOOR) g.heat = 0;
      g.at = this.#tick;
    }
    return g.heat;
  }

  /** Heat from the monitor's regions, for the parts of them inside the process's anonymous mappings (DAMON's regions also span gaps). */
  #heatFrom(regions: readonly AccessRegion[], maps: readonly AnonMapping[]): void {
    const G = this.#o.granule;
    const hot = regions.filter((x) => x.rate > 0 && x.end > x.start).sort((a, b) => a.start - b.start);
    const acc = new Map<number, number>(); // granule -> byte-weighted rate
    let k = 0;
    for (const m of maps) {
      while (k < hot.length && hot[k]!.end <= m.start) k++;
      for (let j = k; j < hot.length && hot[j]!.start < m.end; j++) {
        const lo = Math.max(m.start, hot[j]!.start);
        const hi = Math.min(m.end, hot[j]!.end);
        for (let i = Math.floor(lo / G); i * G < hi; i++) {
          const overlap = Math.min(hi, (i + 1) * G) - Math.max(lo, i * G);
          acc.set(i, (acc.get(i) ?? 0) + (hot[j]!.rate * overlap) / G);
        }
      }
    }
    this.#passRates.clear();
    for (const [i, rate] of acc) {
      const g = this.#granule(i);
      g.heat = this.#heatOf(g) + Math.min(1, rate);
      g.last = this.#tick;
      this.#passRates.set(g, Math.min(1, rate));
    }
  }

  /** Sets each granule's resident / DRAM bytes from the kernel's mappings; returns the process's DRAM use. */
  #residency(maps: readonly AnonMapping[]): number {
    const G = this.#o.granule;
    const dramNodes = new Set(this.#o.dramNodes);
    let dramUse = 0;
    let resident = 0;
    for (const m of maps) {
      let pages = 0;
      let dramPages = 0;
      for (const [node, p] of m.pages) {
        pages += p;
        if (dramNodes.has(node)) dramPages += p;
      }
      const bytes = pages * m.pageSize;
      const dram = dramPages * m.pageSize;
      resident += bytes;
      dramUse += dram;
      const first = Math.floor(m.start / G);
      const last = Math.floor((m.end - 1) / G);
      if (last - first >= MAX_GRANULES_PER_MAPPING) continue;
      const len = m.end - m.start;
      for (let i = first; i <= last; i++) {
        const share = (Math.min(m.end, (i + 1) * G) - Math.max(m.start, i * G)) / len;
        const g = this.#granules.get(i) ?? (dram > 0 ? this.#granule(i) : undefined);
        if (g === undefined) continue;
        if (g.seen !== this.#tick) {
          g.seen = this.#tick;
          g.charge = 0;
          g.dram = 0;
        }
        g.charge += bytes * share;
        g.dram += dram * share;
      }
    }
    for (const g of this.#granules.values()) {
      if (g.seen !== this.#tick) {
        g.charge = 0;
        g.dram = 0;
      }
      if (g.charge === 0 && this.#heatOf(g) === 0) this.#granules.delete(g.index);
    }
    this.#stats.residentBytes = resident;
    return dramUse;
  }

  #rebalance(dramUse: number, r: TickResult): void {
    const { maxBytesPerTick } = this.#o;
    const budget = this.#o.budget - Math.min(this.#o.granule, Math.ceil(this.#o.budget / HEADROOM_SHARE));
    const ranked: { e: Granule; score: number }[] = [];
    for (const g of this.#granules.values()) {
      const h = this.#heatOf(g);
      if (h <= 0 || g.charge <= 0) continue;
      ranked.push({ e: g, score: g.dram > 0 ? h * HYSTERESIS + HYSTERESIS_HEAT : h });
    }
    const target = dramSet(ranked, budget);
    const ups = ranked.filter((x) => target.has(x.e) && x.e.charge - x.e.dram >= this.#pageSize).sort((a, b) => b.score - a.score);
    const victims = [...this.#granules.values()].filter((g) => g.dram > 0 && !target.has(g)).sort((a, b) => this.#heatOf(a) - this.#heatOf(b) || a.last - b.last);
    let use = dramUse;
    let moved = 0;
    const room = (bytes: number): boolean => moved === 0 || moved + bytes <= maxBytesPerTick;
    const demoteOne = (): boolean => {
      const v = victims.shift();
      if (v === undefined || !room(v.dram)) return false;
      const before = v.dram;
      moved += before;
      use -= before - this.#move(v, this.#o.exmemNode, r);
      return true;
    };
    while (use > budget) {
      if (!demoteOne()) {
        r.truncated = victims.length > 0;
        break;
      }
    }
    for (const { e } of ups) {
      const need = e.charge - e.dram;
      if (!room(need)) {
        r.truncated = true;
        break;
      }
      while (use + need > budget && demoteOne());
      if (use + need > budget) break;
      const before = e.dram;
      moved += need;
      use += this.#move(e, this.#o.dramNode, r) - before;
    }
    r.dramBytes = use;
  }

  /** move_pages over granule g to `node`; by the status array: counts what moved, returns the granule's DRAM bytes afterwards. */
  #move(g: Granule, node: number, r: TickResult): number {
    const G = this.#o.granule;
    const ps = this.#pageSize;
    const status = native().movePages(this.#proc.pid, g.index * G, G / ps, node);
    if (typeof status === 'number') {
      if (status === -3 /* ESRCH */) throw new HmsdkError('ESRCH', `process ${this.#proc.pid} exited`);
      throw new HmsdkError('ESYSCALL', `move_pages on process ${this.#proc.pid} failed with errno ${-status}`, { syscall: 'move_pages', errno: -status });
    }
    const dramNodes = new Set(this.#o.dramNodes);
    let elsewhere = 0;
    let dram = 0;
    for (const s of status) {
      if (s < 0) continue; // not resident, unmapped: nothing to move
      if (s !== node) elsewhere++;
      if (dramNodes.has(s)) dram++;
    }
    this.#stats.moves++;
    const dramAfter = dram * ps;
    if (node === this.#o.dramNode) {
      const gained = Math.max(0, dramAfter - g.dram);
      r.promoted += gained;
      this.#stats.promotedBytes += gained;
    } else {
      const shed = Math.max(0, g.dram - dramAfter);
      r.demoted += shed;
      this.#stats.demotedBytes += shed;
    }
    g.dram = dramAfter;
    r.notMoved += elsewhere * ps;
    this.#stats.notMovedBytes += elsewhere * ps;
    return dramAfter;
  }
}
