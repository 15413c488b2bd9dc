'use strict';
// Case 14 worker (bench/cases/loop-rss.js), in a fresh process: RSS before
// and after OPS × (s_malloc('NORMAL', 1024) + s_free) in one synchronous
// loop (ours) or OPS × Buffer.allocUnsafeSlow(1024) dropped (baseline),
// then again after yielding to the event loop (setImmediate turns with
// global.gc). Nothing in the loop yields, so whatever the allocator defers
// to the event loop (finalizers, deferred releases) piles up during it.
//
// usage: node --expose-gc loop-rss-child.js --impl ours|baseline [--ops N]
// Prints one JSON line.
const path = require('node:path');
const { childArgs, childMain, rss, settle } = require('../lib/child');

const SIZE = 1024;

async function main() {
  const a = childArgs(process.argv.slice(2), { impl: '', ops: '1000000' });
  const ops = Number(a.ops);
  if (a.impl !== 'ours' && a.impl !== 'baseline') throw new Error(`--impl ours|baseline expected, got '${a.impl}'`);
  const h = require(path.join(__dirname, '..', '..'));
  let sink;
  const once = a.impl === 'ours' ? () => h.s_free(h.s_malloc('NORMAL', SIZE)) : () => (sink = Buffer.allocUnsafeSlow(SIZE));
  // Load the code paths (and the addon's first arena) before the start figure.
  for (let i = 0; i < 1000; i++) once();
  await settle();
  const start = rss();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) once();
  const loopNs = Number(process.hrtime.bigint() - t0);
  const afterLoop = rss();
  const pendingAfterLoop = h.stats().sdk.pendingFinalizers;
  await settle(8);
  const afterYield = rss();
  return {
    impl: a.impl,
    ops,
    size: SIZE,
    rss: { start, afterLoop, afterYield },
    nsPerOp: loopNs / ops,
    pendingFinalizersAfterLoop: pendingAfterLoop,
    pendingFinalizersAfterYield: h.stats().sdk.pendingFinalizers,
    sinkLength: sink ? sink.length : 0,
  };
}

childMain('loop-rss-child', main);
