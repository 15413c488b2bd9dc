'use strict';
// Case 7 worker, run in a fresh process by cases.js (so earlier cases'
// malloc high-water marks do not count): allocate/free cycles of small
// sizes with a ring of live buffers, RSS after warm-up and after the
// measured cycles, each after letting finalizers run. Prints one JSON line.
//
// usage: node --expose-gc rss-child.js '{"cycles":1000000,"warm":100000,"yieldEvery":10000}'
const path = require('node:path');

const cfg = JSON.parse(process.argv[2] || '{}');
const cycles = cfg.cycles ?? 1_000_000;
const warm = cfg.warm ?? 100_000;
const yieldEvery = cfg.yieldEvery ?? 10_000; // 0: one synchronous loop, no event-loop turn
const h = require(path.join(__dirname, '..', '..'));

const sizes = [16, 24, 40, 64, 100, 128, 200, 256, 512, 1000, 2048, 4096, 8192, 16384, 32768];
const LIVE = 256; // a ring of live buffers: each cycle frees the oldest and allocates a new one
const ring = new Array(LIVE).fill(null);
let j = 0;
let peakPending = 0;

function run(k) {
  for (let i = 0; i < k; i++, j++) {
    const slot = j % LIVE;
    if (ring[slot] !== null) h.free(ring[slot]);
    const b = h.allocate(sizes[j % sizes.length], { zero: false });
    b[0] = 1;
    ring[slot] = b;
  }
  peakPending = Math.max(peakPending, h.stats().sdk.pendingFinalizers);
}

const turn = () => new Promise((r) => setImmediate(r));

async function cyclesOf(n) {
  if (yieldEvery <= 0) return run(n);
  for (let done = 0; done < n; done += yieldEvery) {
    run(Math.min(yieldEvery, n - done));
    await turn();
  }
}

async function settle() {
  for (let i = 0; i < 6; i++) {
    global.gc();
    await turn();
  }
}

function snapshot() {
  const m = process.memoryUsage();
  const s = h.stats().sdk;
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arenaBytes: s.arenaBytes, liveAllocations: s.liveAllocations, pendingFinalizers: s.pendingFinalizers };
}

(async () => {
  await cyclesOf(warm);
  await settle();
  const before = snapshot();
  peakPending = 0;
  const t0 = process.hrtime.bigint();
  await cyclesOf(cycles);
  const nsPerCycle = Number(process.hrtime.bigint() - t0) / cycles;
  await settle();
  const after = snapshot();
  for (let s = 0; s < LIVE; s++) if (ring[s] !== null) h.free(ring[s]);
  process.stdout.write(`${JSON.stringify({ cycles, warm, yieldEvery, live: LIVE, sizes, before, after, peakPending, nsPerCycle: Math.round(nsPerCycle), execArgv: process.execArgv })}\n`);
})().catch((err) => {
  process.stderr.write(`rss-child: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
});
