'use strict';
// Case 12 — two-worker interference: does one thread's slow-path traffic
// slow down another thread's small allocations? Worker A runs 1 KiB
// allocate + free; its rate is measured alone and while worker B allocates
// and frees 1..8 MiB buffers of never-repeating sizes (every one a cache
// miss). A constant-cost allocator keeps A's fast path independent of B
// (no shared lock held across B's mmap / mbind / page work).
//
// The same pair with Buffer.allocUnsafeSlow is the reference for what two
// busy threads cost each other on this machine (2 shared cores). Ratio per
// repetition: A's rate with B over A's adjacent solo rate, in one fresh
// process (bench/cases/interference-child.js). Target: ours ≥ 0.8.
const path = require('node:path');
const { runChild } = require('../lib/child');
const { makeRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');
const { fmtRatio, fmtUnit } = require('../lib/fmt');

const CASE = 12;
const child = path.join(__dirname, 'interference-child.js');

async function interference(ctx) {
  const args = ctx.quick ? ['--window-ms', '40', '--reps', '1'] : ['--window-ms', '300', '--reps', '6'];
  ctx.log(`[${CASE}] worker A: 1 KiB allocate+free rate, solo vs while worker B allocates+frees 1..8 MiB; ours and Buffer.allocUnsafeSlow, one fresh process`);
  const d = runChild(child, args, { timeoutMs: 120_000 });
  const keptOf = (r) => r.paired.map((x, i) => x / r.solo[i]);
  const baselineKept = summarize(keptOf(d.baseline)).median;
  const rows = [];
  for (const impl of ['ours', 'baseline']) {
    const r = d[impl];
    const kept = keptOf(r);
    const solo = summarize(r.solo);
    const paired = summarize(r.paired);
    const bRate = summarize(r.bRate);
    ctx.log(
      `[${CASE}] ${impl}: A solo ${fmtUnit(solo.median, 'ops/s')}, with B ${fmtUnit(paired.median, 'ops/s')} (keeps ${fmtRatio(summarize(kept).median)}; ` +
        `per rep ${kept.map((k) => k.toFixed(2)).join(' ')}); B ${bRate.median.toFixed(0)} large ops/s`,
    );
    const ours = impl === 'ours';
    rows.push(
      makeRow({
        id: `interference-${impl}-1k-with-large-churn`,
        case: CASE,
        what: ours
          ? 'worker A allocate+free 1 KiB while worker B allocates+frees 1..8 MiB, vs A alone'
          : 'worker A Buffer.allocUnsafeSlow(1 KiB) while worker B allocUnsafeSlow(1..8 MiB), vs A alone (reference: machine contention)',
        unit: 'ops/s',
        ours: { name: 'A with B running', summary: paired },
        baseline: { name: 'A alone', summary: solo },
        ratios: kept,
        kind: 'throughput',
        target: ours ? { op: '>=', value: 0.8 } : null,
        note:
          `${r.solo.length} repetitions of ${d.windowMs} ms windows, A's rate with B over its adjacent solo window; B ran ${bRate.median.toFixed(0)} large ops/s` +
          (ours
            ? `; the allocUnsafeSlow pair in the same process kept ${fmtRatio(baselineKept)} (the machine's own contention)`
            : '; the share the machine itself takes when two threads are busy on 2 shared cores'),
        extra: d[impl],
      }),
    );
  }
  return rows;
}

module.exports = { interference };
