'use strict';
// Case 11 worker (bench/cases/held.js), in a fresh process: allocate and
// keep COUNT buffers of SIZE bytes, with allocate(SIZE) (ours) or
// Buffer.allocUnsafeSlow(SIZE) (baseline), and record the elapsed time at
// 40 checkpoints. Stops at the time limit, so a super-linear allocator
// still finishes; the checkpoints let the parent extrapolate.
//
// usage: node --expose-gc held-child.js --impl ours|baseline [--count N] [--size BYTES] [--limit-ms MS]
// Prints one JSON line.
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { childArgs, childMain, rss } = require('../lib/child');

async function main() {
  const a = childArgs(process.argv.slice(2), { impl: '', count: '10000', size: String(256 * 1024), 'limit-ms': '20000' });
  const count = Number(a.count);
  const size = Number(a.size);
  const limitMs = Number(a['limit-ms']);
  if (a.impl !== 'ours' && a.impl !== 'baseline') throw new Error(`--impl ours|baseline expected, got '${a.impl}'`);
  const h = require(path.join(__dirname, '..', '..'));
  const alloc = a.impl === 'ours' ? () => h.allocate(size) : () => Buffer.allocUnsafeSlow(size);
  const every = Math.max(1, Math.floor(count / 40));
  const held = [];
  const checkpoints = [];
  const rssStart = rss();
  const t0 = performance.now();
  let elapsed = 0;
  while (held.length < count) {
    held.push(alloc());
    if (held.length % every === 0 || held.length === count) {
      elapsed = performance.now() - t0;
      checkpoints.push([held.length, elapsed]);
      if (elapsed > limitMs) break;
    }
  }
  const built = held.length;
  const rssHeld = rss();
  if (a.impl === 'ours') for (const b of held) h.free(b);
  return { impl: a.impl, count, size, limitMs, built, ms: elapsed, incomplete: built < count, checkpoints, rss: { start: rssStart, held: rssHeld } };
}

childMain('held-child', main);
