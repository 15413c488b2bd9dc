'use strict';
// Case 14 — memory of a long synchronous loop: RSS growth over 1,000,000 ×
// (s_malloc('NORMAL', 1024) + s_free) that never yields to the event loop,
// and what is left of it after yielding (setImmediate turns + global.gc).
// A constant-cost allocator frees synchronously in s_free, so nothing piles
// up while JS keeps the thread; Buffer.allocUnsafeSlow(1024), dropped, is
// the reference (its growth is the V8 heap and glibc). Each run is a fresh
// process (bench/cases/loop-rss-child.js); repetitions alternate ours and
// the baseline.
//
// Targets: growth during the loop ≤ 32 MiB; after yielding, RSS within the
// same 32 MiB of the start, and the row says how close it came (the
// allocUnsafeSlow reference itself keeps ~15-25 MiB of V8 heap growth here,
// so a tighter bound would fail the reference).
const path = require('node:path');
const { runChild } = require('../lib/child');
const { makeRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');
const { fmtMiB } = require('../lib/fmt');

const CASE = 14;
const MiB = 2 ** 20;
const BUDGET = 32 * MiB;
const child = path.join(__dirname, 'loop-rss-child.js');

async function loopRss(ctx) {
  const ops = ctx.quick ? 20_000 : 1_000_000;
  const reps = ctx.quick ? 1 : 3;
  const opsText = ops.toLocaleString('en');
  ctx.log(`[${CASE}] RSS over one synchronous loop of ${opsText} × s_malloc('NORMAL', 1 KiB) + s_free vs Buffer.allocUnsafeSlow(1 KiB), fresh process each, ${reps} reps`);
  const runs = { ours: [], baseline: [] };
  for (let r = 0; r < reps; r++) {
    for (const impl of r % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours']) {
      const d = runChild(child, ['--impl', impl, '--ops', String(ops)], { timeoutMs: 300_000 });
      runs[impl].push(d);
      ctx.log(
        `[${CASE}] ${impl}: RSS ${fmtMiB(d.rss.start)} -> ${fmtMiB(d.rss.afterLoop)} after the loop (${fmtMiB(d.rss.afterLoop - d.rss.start)}), ` +
          `${fmtMiB(d.rss.afterYield)} after yielding (${fmtMiB(d.rss.afterYield - d.rss.start)}); ${d.nsPerOp.toFixed(0)} ns/op, ` +
          `pending finalizers ${d.pendingFinalizersAfterLoop} after the loop, ${d.pendingFinalizersAfterYield} after yielding`,
      );
    }
  }
  const rows = [];
  const what = {
    ours: `${opsText} × s_malloc('NORMAL', 1 KiB) + s_free in one synchronous loop`,
    baseline: `${opsText} × Buffer.allocUnsafeSlow(1 KiB) in one synchronous loop (reference)`,
  };
  for (const impl of ['ours', 'baseline']) {
    const loop = runs[impl].map((d) => d.rss.afterLoop - d.rss.start);
    const left = runs[impl].map((d) => d.rss.afterYield - d.rss.start);
    const pending = summarize(runs[impl].map((d) => d.pendingFinalizersAfterLoop)).median;
    const target = (value) => (impl === 'ours' ? { op: '<=', value } : null);
    const common = { case: CASE, unit: 'MiB', kind: 'budget', extra: { ops, runs: runs[impl] } };
    rows.push(
      makeRow({
        ...common,
        id: `loop-rss-${ops}-${impl}-during-loop`,
        what: `RSS growth during ${what[impl]}`,
        ours: { name: 'RSS growth', summary: summarize(loop.map((b) => b / MiB)) },
        baseline: { name: 'budget', summary: summarize([BUDGET / MiB]) },
        ratios: loop.map((b) => b / BUDGET),
        target: target(1),
        note: `fresh process per run, ${reps} run(s); RSS after 1,000 warm-up ops and settling vs right after the loop; pending finalizers after the loop: ${pending}`,
      }),
      makeRow({
        ...common,
        id: `loop-rss-${ops}-${impl}-after-yield`,
        what: `RSS left after yielding, ${what[impl]}`,
        ours: { name: 'RSS above the start', summary: summarize(left.map((b) => b / MiB)) },
        baseline: { name: 'budget', summary: summarize([BUDGET / MiB]) },
        ratios: left.map((b) => b / BUDGET),
        target: target(1),
        note: `after 8 × (global.gc() + setImmediate turn): ${fmtMiB(summarize(left).median)} above the start, against ${fmtMiB(summarize(loop).median)} right after the loop (medians)`,
      }),
    );
  }
  return rows;
}

module.exports = { loopRss };
