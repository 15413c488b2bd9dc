'use strict';
// One cell of the history × scale matrix (case 10, bench/cases/history.js),
// in a process of its own: first establish one history (what the process
// did before, or what it holds now), then measure allocate(size) + free(buf)
// with default options against Buffer.allocUnsafeSlow(size) (dropped, freed
// by the GC), interleaved rounds in this process. A constant-cost allocator
// gives every cell of a size the cost of the fresh cell.
//
// Histories that build many buffers stop at a time limit: a history the
// allocator cannot establish in that time is itself the finding, and the
// cell reports how far it got (setup.incomplete) instead of running for
// minutes.
//
// usage: node --expose-gc history-child.js --cell HISTORY:SIZE [--scale full|quick]
//          [--rounds N] [--time-ms MS] [--setup-limit-ms MS]
// Prints one JSON line.
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { childArgs, childMain, rss, settle } = require('../lib/child');

const KiB = 1024;
const MiB = 2 ** 20;
const PAGE = 4096;
const HELD_SIZE = 256 * KiB;

/* 16 distinct sizes that match no size class or page multiple (1.3 .. 7.9 MiB). */
const ODD_SIZES = [1.3, 3.7, 5.1, 2.9, 7.3, 1.7, 6.1, 4.3, 2.3, 5.9, 3.1, 6.7, 1.9, 4.7, 7.9, 2.6].map((m, i) => Math.round(m * MiB) + 8 * i + 1);

/**
 * The histories, in report order. Quick scale shrinks the large ones so the
 * smoke test runs every code path in a fraction of a second.
 */
function histories(scale) {
  const quick = scale === 'quick';
  const liveCounts = quick ? [10, 100] : [1000, 10000];
  const smallBlocks = quick ? 1024 : 262144;
  return [
    { key: 'fresh', label: 'fresh process', run: () => {} },
    { key: 'arena-64m', label: 'after createArena(64 MiB).dispose()', run: ({ h }) => h.createArena(64 * MiB).dispose() },
    { key: 'alloc-64m', label: 'after one 64 MiB allocate + free', run: ({ h }) => h.free(h.allocate(64 * MiB)) },
    {
      key: 'odd-frees-16',
      label: 'after 16 frees of distinct unusual sizes (1.3..7.9 MiB, all live, then all freed)',
      run: ({ h }) => {
        const bufs = ODD_SIZES.map((n) => h.allocate(n));
        for (const b of bufs) h.free(b);
      },
    },
    {
      key: `small-${smallBlocks}`,
      label: `after ${smallBlocks.toLocaleString('en')} × 4 KiB (${(smallBlocks * 4) / KiB} MiB) were live once, then all freed`,
      gib: true,
      run: ({ h, deadline }) => {
        const blocks = buildHeld(h, smallBlocks, 4 * KiB, false, deadline);
        for (const b of blocks.held) h.free(b);
        return { built: blocks.held.length, target: smallBlocks };
      },
    },
    ...liveCounts.flatMap((n) =>
      [false, true].map((touched) => ({
        key: `live-${n}-${touched ? 'touched' : 'untouched'}`,
        label: `with ${n.toLocaleString('en')} × 256 KiB held, ${touched ? 'every page written' : 'never written'}`,
        run: ({ h, deadline }) => {
          const blocks = buildHeld(h, n, HELD_SIZE, touched, deadline);
          return { built: blocks.held.length, target: n, held: blocks.held };
        },
      })),
    ),
  ];
}

/** Allocate `count` buffers of `size` (writing each page if `touched`), stopping at `deadline` (performance.now() ms). */
function buildHeld(h, count, size, touched, deadline) {
  const held = [];
  for (let i = 0; i < count; i++) {
    if ((i & 15) === 0 && performance.now() > deadline) break;
    const b = h.allocate(size);
    if (touched) for (let off = 0; off < size; off += PAGE) b[off] = 1;
    held.push(b);
  }
  return { held };
}

/* Baseline results go here so no allocation can be optimised away. */
let sink;

/** Operations per sample so that one sample takes about 1 ms (at least 1, at most 256). */
function batchFor(ops) {
  const perOp = ops.map((op) => {
    op();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 4; i++) op();
    return Number(process.hrtime.bigint() - t0) / 4;
  });
  return Math.max(1, Math.min(256, Math.floor(1e6 / Math.max(...perOp))));
}

async function main() {
  const a = childArgs(process.argv.slice(2), { cell: '', scale: 'full', rounds: '8', 'time-ms': '50', 'setup-limit-ms': '5000' });
  const m = /^([\w-]+):(\d+)$/.exec(a.cell);
  if (!m) throw new Error(`--cell HISTORY:SIZE expected, got '${a.cell}'`);
  const history = histories(a.scale).find((x) => x.key === m[1]);
  if (!history) throw new Error(`unknown history '${m[1]}' (known: ${histories(a.scale).map((x) => x.key).join(', ')})`);
  const size = Number(m[2]);
  const h = require(path.join(__dirname, '..', '..'));
  const { compare, roundRatios } = require('../lib/micro');

  const rssStart = rss();
  const t0 = performance.now();
  const setup = history.run({ h, deadline: t0 + Number(a['setup-limit-ms']) }) || {};
  const setupMs = performance.now() - t0;
  await settle();

  const ours = () => h.free(h.allocate(size));
  const baseline = () => {
    sink = Buffer.allocUnsafeSlow(size);
  };
  const batch = batchFor([ours, baseline]);
  const res = await compare({
    name: `history-${history.key}-${size}`,
    batch,
    rounds: Number(a.rounds),
    timeMs: Number(a['time-ms']),
    iterations: 4,
    tasks: [
      { key: 'ours', name: `allocate(${size}) + free`, body: (k) => { for (let i = 0; i < k; i++) ours(); } },
      { key: 'base', name: `Buffer.allocUnsafeSlow(${size})`, body: (k) => { for (let i = 0; i < k; i++) baseline(); } },
    ],
  });
  const sdk = h.stats().sdk;
  const heldCount = setup.held ? setup.held.length : 0;
  for (const b of setup.held || []) h.free(b);
  return {
    history: history.key,
    label: history.label,
    size,
    batch,
    setup: {
      ms: setupMs,
      built: setup.built ?? null,
      target: setup.target ?? null,
      incomplete: setup.target !== undefined && setup.built < setup.target,
      held: heldCount,
      limitMs: Number(a['setup-limit-ms']),
    },
    ours: res.ours,
    baseline: res.base,
    ratios: roundRatios(res, 'ours', 'base'),
    rss: { start: rssStart, measured: rss() },
    sdk,
    sinkLength: sink.length,
  };
}

if (require.main === module) childMain('history-child', main);

module.exports = { histories };
