'use strict';
// Helpers shared by the micro cases of bench/cases/ (1-7).
const { fmtNs } = require('./fmt');

const KiB = 1024;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

function microCfg(ctx) {
  return ctx.quick ? { rounds: 2, timeMs: 25 } : { rounds: 10, timeMs: 200 };
}

function logTask(ctx, label, r) {
  const s = r.summary;
  ctx.log(`${label}: ${r.name}: median ${fmtNs(s.median)}/op (p25 ${fmtNs(s.p25)}, p75 ${fmtNs(s.p75)}), mean ${fmtNs(s.mean)}/op, ${s.n} batch samples`);
}

/* Wait for finalizers and freed backing stores: gc + event-loop turns. */
async function settle(turns = 4) {
  for (let i = 0; i < turns; i++) {
    if (global.gc) global.gc();
    await new Promise((r) => setImmediate(r));
  }
}

const rss = () => process.memoryUsage.rss();

module.exports = { KiB, MiB, GiB, microCfg, logTask, settle, rss };
