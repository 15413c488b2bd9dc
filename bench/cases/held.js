'use strict';
// Case 11 — building a large live heap: the time to allocate and keep
// 10,000 × 256 KiB with allocate() against Buffer.allocUnsafeSlow, each in
// a fresh process (bench/cases/held-child.js). A constant-cost allocator
// builds it in time linear in the count; one whose per-allocation work
// grows with the number of live buffers is quadratic here (the allocator
// this bench was written against takes ~98 s).
//
// Each run stops at a time limit (--held-limit SEC, default 20). A stopped
// run is reported with the time extrapolated to the full count from its
// checkpoints (least-squares fit of t = a·n + b·n²) and is "missed" whatever
// the ratio. Repetitions (up to 3 pairs, order alternating) stop once the
// case has spent the time limit in total, so a slow allocator costs one
// pair and a fast one gets three. Target: ours ≤ 2× the baseline.
const path = require('node:path');
const { runChild } = require('../lib/child');
const { makeRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');
const { fmtMs, fmtRatio } = require('../lib/fmt');

const CASE = 11;
const child = path.join(__dirname, 'held-child.js');

/** Least-squares t = a·n + b·n² (b >= 0) through the checkpoints, evaluated at n. */
function extrapolate(checkpoints, n) {
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let st1 = 0;
  let st2 = 0;
  for (const [x, t] of checkpoints) {
    s2 += x * x;
    s3 += x * x * x;
    s4 += x * x * x * x;
    st1 += t * x;
    st2 += t * x * x;
  }
  const det = s2 * s4 - s3 * s3;
  let a = (st1 * s4 - st2 * s3) / det;
  let b = (s2 * st2 - s3 * st1) / det;
  if (!(b >= 0) || !Number.isFinite(a)) {
    a = st1 / s2;
    b = 0;
  }
  return a * n + b * n * n;
}

async function held(ctx) {
  const count = ctx.quick ? 200 : 10000;
  const size = 256 * 1024;
  const limitMs = (ctx.quick ? 5 : ctx.flags.heldLimitSec) * 1000;
  const reps = ctx.quick ? 1 : 3;
  ctx.log(`[${CASE}] build ${count.toLocaleString('en')} held × 256 KiB: allocate vs Buffer.allocUnsafeSlow, fresh process each, ${limitMs / 1000} s limit per run`);
  const run = (impl) => runChild(child, ['--impl', impl, '--count', String(count), '--size', String(size), '--limit-ms', String(limitMs)], { timeoutMs: limitMs + 120_000 });
  const ours = [];
  const base = [];
  const started = Date.now();
  for (let r = 0; r < reps && Date.now() - started < limitMs; r++) {
    const pair = r % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours'];
    for (const impl of pair) {
      const d = run(impl);
      const fullMs = d.incomplete ? extrapolate(d.checkpoints, count) : d.ms;
      (impl === 'ours' ? ours : base).push({ ...d, fullMs });
      ctx.log(
        `[${CASE}] ${impl}: ${d.built.toLocaleString('en')} of ${count.toLocaleString('en')} in ${fmtMs(d.ms)}` +
          (d.incomplete ? ` (stopped at the limit; extrapolated to ${count.toLocaleString('en')}: ${fmtMs(fullMs)})` : ''),
      );
    }
  }
  const stopped = ours.find((d) => d.incomplete);
  const incomplete = stopped
    ? `stopped at the ${limitMs / 1000} s limit after ${stopped.built.toLocaleString('en')} of ${count.toLocaleString('en')} buffers; ours is the extrapolated full time`
    : null;
  const ratios = ours.map((d, i) => d.fullMs / base[i].fullMs);
  ctx.log(`[${CASE}] ratio ${fmtRatio(summarize(ratios).median)}${incomplete ? ` (${incomplete})` : ''}`);
  return [
    makeRow({
      id: `held-build-${count}-vs-allocUnsafeSlow`,
      case: CASE,
      what: `allocate and keep ${count.toLocaleString('en')} × 256 KiB, allocate() vs Buffer.allocUnsafeSlow`,
      unit: 'ms',
      ours: { name: `${count.toLocaleString('en')} × allocate(256 KiB), kept`, summary: summarize(ours.map((d) => d.fullMs)) },
      baseline: { name: `${count.toLocaleString('en')} × Buffer.allocUnsafeSlow(256 KiB), kept`, summary: summarize(base.map((d) => d.fullMs)) },
      ratios,
      kind: 'time',
      target: { op: '<=', value: 2 },
      incomplete,
      note:
        `fresh process per run, ${ours.length} pair(s), order alternating; default options (untouched buffers)` + (incomplete ? `; ${incomplete}` : ''),
      extra: { count, size, limitMs, ours, baseline: base },
    }),
  ];
}

module.exports = { held };
