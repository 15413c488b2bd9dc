'use strict';
// Case 2: createArena: arena.alloc(16..256 B) vs Buffer.allocUnsafe. async (ctx) -> rows; ctx = { h, quick, log, root, node }.
const { compare, roundRatios } = require('../lib/micro');
const { makeRow } = require('../lib/rows');
const { KiB, MiB, microCfg, logTask } = require('../lib/common');

/* Results of baseline allocations go here so no call can be optimised away. */
let sink;

async function arena(ctx) {
  const { h } = ctx;
  const { rounds, timeMs } = microCfg(ctx);
  const DISPOSE_EVERY = 10_000;
  const ARENA_BYTES = 2 * MiB; // 10k allocs of 16..256 B (~1.4 MB with alignment) fit one chunk
  const placement = { tier: 'NORMAL' };
  // Pseudo-random sizes 16..256 (fixed seed), the same sequence for both tasks.
  const sizes = new Uint16Array(4096);
  let seed = 12345;
  for (let i = 0; i < sizes.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    sizes[i] = 16 + ((seed >>> 8) % 241);
  }
  let a = h.createArena(ARENA_BYTES, placement);
  let count = 0;
  let j = 0;
  let jb = 0;
  ctx.log(`[2] arena.alloc(16..256) (dispose every ${DISPOSE_EVERY}) vs Buffer.allocUnsafe`);
  const res = await compare({
    name: 'arena',
    batch: 2048,
    rounds,
    timeMs,
    tasks: [
      {
        key: 'ours',
        name: `createArena(2 MiB, { tier: 'NORMAL' }).alloc(16..256), dispose + new arena every ${DISPOSE_EVERY / 1000}k`,
        body: (k) => {
          for (let i = 0; i < k; i++) {
            if (count === DISPOSE_EVERY) {
              a.dispose();
              a = h.createArena(ARENA_BYTES, placement);
              count = 0;
            }
            sink = a.alloc(sizes[j++ & 4095]);
            count++;
          }
        },
      },
      {
        key: 'pool',
        name: 'Buffer.allocUnsafe(16..256) (8 KiB pool)',
        body: (k) => {
          for (let i = 0; i < k; i++) sink = Buffer.allocUnsafe(sizes[jb++ & 4095]);
        },
      },
    ],
  });
  a.dispose();
  for (const k of ['ours', 'pool']) logTask(ctx, '[2] arena', res[k]);
  return [
    makeRow({
      id: 'arena-16-256-vs-allocUnsafe',
      case: 2,
      what: 'arena.alloc(16..256 B) vs Buffer.allocUnsafe (pooled)',
      unit: 'ns/op',
      ours: res.ours,
      baseline: res.pool,
      ratios: roundRatios(res, 'ours', 'pool'),
      kind: 'time',
      target: { op: '<=', value: 1.5 },
      note: `2 MiB arena chunk on NORMAL, disposed and recreated every ${DISPOSE_EVERY} allocs (cost included); sizes pseudo-random 16..256`,
    }),
  ];
}

module.exports = { arena };
