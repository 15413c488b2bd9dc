'use strict';
// Case 4: allocate(1 GiB, { populate: true }) vs Buffer.alloc + a write per page. async (ctx) -> rows; ctx = { h, quick, log, root, node }.
const { makeRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');
const { fmtBytes, fmtMs } = require('../lib/fmt');
const { KiB, MiB, GiB, settle, rss } = require('../lib/common');

/* Results of baseline allocations go here so no call can be optimised away. */
let sink;

async function populate(ctx) {
  const { h } = ctx;
  const size = ctx.quick ? 64 * MiB : GiB;
  const reps = ctx.quick ? 2 : 5;
  const page = 4096;
  const ours = { alloc: [], free: [] };
  const base = { alloc: [], free: [] };
  const ratios = [];
  ctx.log(`[4] allocate(${fmtBytes(size)}, { populate: true }) vs Buffer.alloc + 1 byte per 4 KiB page, ${reps} reps each, alternating`);
  await settle();
  const rss0 = rss();
  // Never hold more than one such buffer: wait until the previous one is gone.
  const waitReleased = async () => {
    for (let i = 0; i < 100 && rss() > rss0 + size / 4; i++) {
      await settle(1);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const runOurs = () => {
    const t0 = process.hrtime.bigint();
    const b = h.allocate(size, { populate: true });
    const t1 = process.hrtime.bigint();
    h.free(b);
    const t2 = process.hrtime.bigint();
    ours.alloc.push(Number(t1 - t0) / 1e6);
    ours.free.push(Number(t2 - t1) / 1e6);
  };
  const runBase = async () => {
    const t0 = process.hrtime.bigint();
    let b = Buffer.alloc(size);
    for (let i = 0; i < size; i += page) b[i] = 1;
    const t1 = process.hrtime.bigint();
    sink = b[size - page];
    b = null;
    global.gc();
    const t2 = process.hrtime.bigint();
    base.alloc.push(Number(t1 - t0) / 1e6);
    base.free.push(Number(t2 - t1) / 1e6);
  };
  // One untimed round of each first (first-touch effects, code warm-up).
  runOurs();
  await runBase();
  ours.alloc.length = ours.free.length = base.alloc.length = base.free.length = 0;
  await waitReleased();
  for (let r = 0; r < reps; r++) {
    if (r % 2 === 0) {
      runOurs();
      await waitReleased();
      await runBase();
    } else {
      await runBase();
      await waitReleased();
      runOurs();
    }
    await waitReleased();
    ratios.push(ours.alloc[r] / base.alloc[r]);
    ctx.log(`[4] rep ${r + 1}/${reps}: ours ${fmtMs(ours.alloc[r])} (+ free ${fmtMs(ours.free[r])}), baseline ${fmtMs(base.alloc[r])} (+ gc ${fmtMs(base.free[r])})`);
  }
  const so = summarize(ours.alloc);
  const sb = summarize(base.alloc);
  ctx.log(`[4] allocate(populate): median ${fmtMs(so.median)}; Buffer.alloc + touch: median ${fmtMs(sb.median)}`);
  return [
    makeRow({
      id: `populate-${size}-vs-alloc-touch`,
      case: 4,
      what: `allocate(${fmtBytes(size)}, { populate: true }) vs Buffer.alloc + 1 write per 4 KiB page`,
      unit: 'ms',
      ours: { name: `allocate(${fmtBytes(size)}, { populate: true })`, summary: so },
      baseline: { name: `Buffer.alloc(${fmtBytes(size)}) + b[i] = 1 every 4096 B`, summary: sb },
      ratios,
      kind: 'time',
      target: { op: '<=', value: 1.2 },
      note:
        `time until the buffer is usable and every page is resident (free / GC timed separately: ours free median ${fmtMs(summarize(ours.free).median)}, ` +
        `baseline drop + global.gc() median ${fmtMs(summarize(base.free).median)})` +
        (ctx.quick ? `; quick mode uses ${fmtBytes(size)} instead of 1 GiB` : ''),
      extra: { bytes: size, oursFreeMs: summarize(ours.free), baselineGcMs: summarize(base.free) },
    }),
  ];
}

module.exports = { populate };
