'use strict';
// Case 3: allocate/free 64 KiB..1 MiB vs Buffer.allocUnsafeSlow. async (ctx) -> rows; ctx = { h, quick, log, root, node }.
const { compare, roundRatios } = require('../lib/micro');
const { makeRow } = require('../lib/rows');
const { fmtBytes } = require('../lib/fmt');
const { KiB, MiB, microCfg, logTask } = require('../lib/common');

/* Results of baseline allocations go here so no call can be optimised away. */
let sink;

async function large(ctx) {
  const { h } = ctx;
  const { rounds, timeMs } = microCfg(ctx);
  const rows = [];
  const opts = { zero: false };
  for (const n of [64 * KiB, 256 * KiB, MiB]) {
    ctx.log(`[3] allocate(${fmtBytes(n)}, { zero: false }) + free vs Buffer.allocUnsafeSlow`);
    const res = await compare({
      name: `large-${n}`,
      batch: 32,
      rounds,
      timeMs,
      tasks: [
        {
          key: 'ours',
          name: `allocate(${fmtBytes(n)}, { zero: false }) + free`,
          body: (k) => {
            for (let i = 0; i < k; i++) h.free(h.allocate(n, opts));
          },
        },
        {
          key: 'slow',
          name: `Buffer.allocUnsafeSlow(${fmtBytes(n)})`,
          body: (k) => {
            for (let i = 0; i < k; i++) sink = Buffer.allocUnsafeSlow(n);
          },
        },
      ],
    });
    for (const k of ['ours', 'slow']) logTask(ctx, `[3] ${fmtBytes(n)}`, res[k]);
    rows.push(
      makeRow({
        id: `large-${n}-vs-allocUnsafeSlow`,
        case: 3,
        what: `allocate+free ${fmtBytes(n)} vs Buffer.allocUnsafeSlow`,
        unit: 'ns/op',
        ours: res.ours,
        baseline: res.slow,
        ratios: roundRatios(res, 'ours', 'slow'),
        kind: 'time',
        target: { op: '<=', value: 1.5 },
        note:
          'zero: false on our side (allocUnsafeSlow does not zero either). Ours: a cached mapping of the placement is reused, so the cost is the fixed ' +
          'per-buffer cost of an external ArrayBuffer through N-API (~1.4 µs, the same as case 1), independent of size. Baseline: glibc malloc, which serves ' +
          'these sizes from its heap once its dynamic mmap threshold has risen (after the first free of a large chunk), freed in bulk by GC (GC time included)',
      }),
    );
  }
  return rows;
}

module.exports = { large };
