'use strict';
// Case 7: RSS across 1M allocate/free cycles. async (ctx) -> rows; ctx = { h, quick, log, root, node }.
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { makeRow } = require('../lib/rows');
const { fmtMiB, fmtRatio } = require('../lib/fmt');
const { KiB, MiB, rss } = require('../lib/common');

/*
 * Each variant runs in a fresh process (bench/cases/rss-child.js): earlier
 * cases leave glibc heaps at their high-water marks (e.g. 1 MiB
 * allocUnsafeSlow buffers freed by GC), which would inflate "before".
 *  fixed-young  V8 young generation fixed (--min/--max-semi-space-size=8):
 *               V8 otherwise doubles its new space under allocation
 *               pressure (heapTotal 8 -> 12 -> 20 -> 36 MiB over ~3M
 *               allocations, heapUsed flat), which is V8 heap sizing, not
 *               SDK memory. Event loop turns every 10k cycles. Target row.
 *  default-v8   same, default V8 flags: shows that heap sizing.
 *  no-turn      one synchronous 1M loop, no event-loop turn: Node runs
 *               N-API finalizers of external ArrayBuffers from setImmediate,
 *               so every buffer freed in the loop keeps its finalizer record
 *               until the loop ends (pendingFinalizers peaks at 1M).
 */
async function rssCase(ctx) {
  const cycles = ctx.quick ? 20_000 : 1_000_000;
  const warm = ctx.quick ? 5_000 : 200_000;
  const child = path.join(__dirname, 'rss-child.js');
  const variants = [
    { key: 'fixed-young', flags: ['--min-semi-space-size=8', '--max-semi-space-size=8'], yieldEvery: 10_000, target: true,
      label: 'V8 young generation fixed at 8 MiB semi-spaces, event loop turn every 10k cycles' },
    { key: 'default-v8', flags: [], yieldEvery: 10_000, target: false, label: 'default V8 flags, event loop turn every 10k cycles' },
    { key: 'no-turn', flags: ['--min-semi-space-size=8', '--max-semi-space-size=8'], yieldEvery: 0, target: false,
      label: `one synchronous loop of ${cycles.toLocaleString('en')} cycles (no event loop turn), young generation fixed` },
  ];
  const rows = [];
  const one = (v) => ({ median: v, p25: v, p75: v, mad: 0, min: v, max: v, n: 1 });
  for (const v of variants) {
    ctx.log(`[7] RSS over ${cycles.toLocaleString('en')} allocate/free cycles (16 B..32 KiB, 256 live), fresh process: ${v.label}`);
    const r = spawnSync(process.execPath, ['--expose-gc', ...v.flags, child, JSON.stringify({ cycles, warm, yieldEvery: v.yieldEvery })], {
      encoding: 'utf8',
      cwd: ctx.root,
      timeout: 300_000,
    });
    if (r.status !== 0) throw new Error(`rss-child (${v.key}) exited ${r.status ?? r.signal}: ${r.stderr}`);
    const d = JSON.parse(r.stdout.trim().split('\n').pop());
    const growth = d.after.rss / d.before.rss;
    ctx.log(
      `[7] ${v.key}: RSS ${fmtMiB(d.before.rss)} -> ${fmtMiB(d.after.rss)} (${fmtRatio(growth)}), heapTotal ${fmtMiB(d.before.heapTotal)} -> ${fmtMiB(d.after.heapTotal)}, ` +
        `peak pending finalizers ${d.peakPending}, ${d.nsPerCycle} ns/cycle`,
    );
    const why =
      v.key === 'default-v8'
        ? 'reference: V8 grows its young generation under allocation pressure (heapTotal above; heapUsed stays flat), which shows up in RSS but is not SDK memory'
        : v.key === 'no-turn'
          ? 'reference: Node runs N-API finalizers of external ArrayBuffers from setImmediate, so each buffer freed inside one synchronous loop keeps its finalizer record ' +
            '(hm_block + Node/V8 bookkeeping, ~250 B) until the loop returns; glibc keeps that high-water mark after they run. A real server turns the event loop far more often'
          : 'fresh process; V8 young generation fixed so that V8 heap sizing does not count as growth (see the default-v8 row); event loop turns every 10k cycles';
    rows.push(
      makeRow({
        id: `rss-${cycles}-${v.key}`,
        case: 7,
        what: `RSS after ${cycles.toLocaleString('en')} allocate/free cycles vs before (${v.label})`,
        unit: 'MiB',
        ours: { name: 'RSS after', summary: one(d.after.rss / MiB) },
        baseline: { name: `RSS before (after ${warm.toLocaleString('en')} warm-up cycles)`, summary: one(d.before.rss / MiB) },
        ratios: [growth],
        kind: 'growth',
        target: v.target ? { op: '<=', value: 1.05 } : null,
        note:
          `${why}; one measurement, settled with global.gc() + setImmediate turns; growth ${fmtMiB(d.after.rss - d.before.rss)}, ` +
          `heapTotal ${fmtMiB(d.before.heapTotal)} -> ${fmtMiB(d.after.heapTotal)}, heapUsed ${fmtMiB(d.before.heapUsed)} -> ${fmtMiB(d.after.heapUsed)}, ` +
          `SDK arenas ${fmtMiB(d.before.arenaBytes)} -> ${fmtMiB(d.after.arenaBytes)}, peak pending finalizers ${d.peakPending}`,
        extra: d,
      }),
    );
  }
  return rows;
}

module.exports = { rssCase };
