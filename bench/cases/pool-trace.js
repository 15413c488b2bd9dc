'use strict';
// Case 17 — TieredPool trace replay: the share of get() requests served
// from DRAM (the hot tier) against the offline optimum for the same budget,
// for today's pool, the pool before issue 17 (its promoteAfter window
// threshold; compiled from git, OLD_POOL_REF) and static placement (the
// entries stay where set() put them: the first ones that fit the budget).
//
// Traces (deterministic, seeded; simulated time, one rebalance() per
// simulated second, as the default 1 s timer would (http: every 0.5 s, the
// issue's intervalMs: 500); key popularity is a
// random permutation of insertion order, so "first inserted" is no hint):
//   zipf   2,000 x 64 KiB, 16 MiB budget, Zipf s = 0.99, 400 req/s
//   shift  1,000 x 128 KiB, 16 MiB budget, 90% of requests on 100 hot keys,
//          the hot set replaced by a disjoint one every 20 s, 300 req/s
//   scan   1,000 x 128 KiB, 16 MiB budget, Zipf 0.99 at 200 req/s plus a
//          full sequential scan (every key once, within 1 s) every 15 s
//   http   the issue's HTTP cache: 1,600 x 128 KiB, 32 MiB budget, 90% of
//          requests on 64 hot keys, 3 reads/s per hot key (213 req/s)
// 60 simulated seconds each (--quick: 10 s, a quarter of the keys).
//
// The optimum is computed offline from the trace, per 20 s segment: the
// entries with the most requests in the segment that fit in the budget
// (greedy by requests per byte; exact for equal sizes), moved for free at
// the segment's start. It is at least the static offline optimum (one set
// for the whole trace), also reported. Target: ours >= 0.9 x the segment
// optimum. The hit share is the pool's own count (stats().hits); that the
// pool's tiers are the pages' nodes is checked by move_pages in the VM
// (test/numa/thp.test.ts, test/numa/tiering.test.ts), not here: on a
// one-node host both tiers are DRAM (fallback 'normal') and only the
// policy is measured.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { KiB, MiB } = require('../lib/common');
const { makeRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');

const CASE = 17;
/** The pool before the threshold-free rewrite (the branch point of issue 17). */
const OLD_POOL_REF = '8409a06';
const SEGMENT_SEC = 20;

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function permutation(n, rand) {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

function zipfSampler(n, s, rand) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1) ** s;
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** A trace: { name, n, size, budget, seconds, reqs: [{ t, key }] } with reqs sorted by t. */
function makeTrace(name, quick, seed) {
  const rand = rng(seed);
  const seconds = quick ? 10 : 60;
  const scale = quick ? 4 : 1;
  const reqs = [];
  const poisson = (rate, pick) => {
    for (let t = rand() / rate; t < seconds; t += -Math.log(1 - rand()) / rate) reqs.push({ t, key: pick(t) });
  };
  if (name === 'zipf') {
    const n = 2000 / scale;
    const perm = permutation(n, rand);
    const z = zipfSampler(n, 0.99, rand);
    poisson(400 / scale, () => perm[z()]);
    return { name, n, size: 64 * KiB, budget: (16 * MiB) / scale, seconds, reqs };
  }
  if (name === 'shift') {
    const n = 1000 / scale;
    const hot = 100 / scale;
    const perm = permutation(n, rand);
    poisson(300 / scale, (t) => {
      if (rand() >= 0.9) return Math.floor(rand() * n);
      const phase = Math.floor(t / SEGMENT_SEC);
      return perm[(phase * hot + Math.floor(rand() * hot)) % n];
    });
    return { name, n, size: 128 * KiB, budget: (16 * MiB) / scale, seconds, reqs };
  }
  if (name === 'scan') {
    const n = 1000 / scale;
    const perm = permutation(n, rand);
    const z = zipfSampler(n, 0.99, rand);
    poisson(200 / scale, () => perm[z()]);
    for (let start = 15; start < seconds; start += 15) for (let k = 0; k < n; k++) reqs.push({ t: start + k / n, key: k });
    reqs.sort((a, b) => a.t - b.t);
    return { name, n, size: 128 * KiB, budget: (16 * MiB) / scale, seconds, reqs };
  }
  // http
  const n = 1600 / scale;
  const hot = 64 / scale;
  const perm = permutation(n, rand);
  poisson((hot * 3) / 0.9, () => (rand() < 0.9 ? perm[Math.floor(rand() * hot)] : perm[hot + Math.floor(rand() * (n - hot))]));
  return { name, n, size: 128 * KiB, budget: (32 * MiB) / scale, seconds, reqs, tickSec: 0.5 };
}

/** Requests served from DRAM by the best set for the budget, chosen with hindsight, over `reqs`. */
function bestHits(trace, reqs) {
  const counts = new Map();
  for (const r of reqs) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
  const ranked = [...counts.values()].sort((a, b) => b - a); // equal sizes: by count
  const fit = Math.floor(trace.budget / trace.size);
  let hits = 0;
  for (let i = 0; i < Math.min(fit, ranked.length); i++) hits += ranked[i];
  return hits;
}

function optimum(trace) {
  let segmented = 0;
  for (let s = 0; s < trace.seconds; s += SEGMENT_SEC) segmented += bestHits(trace, trace.reqs.filter((r) => r.t >= s && r.t < s + SEGMENT_SEC));
  return { segment: segmented / trace.reqs.length, static: bestHits(trace, trace.reqs) / trace.reqs.length };
}

/** Replay the trace against a pool; `rebalance` false = static placement. Returns the DRAM-hit share. */
function replay(Pool, trace, rebalance, sameNodes) {
  const opts = { dramBudget: trace.budget, intervalMs: 0, ...(sameNodes ? { fallback: 'normal' } : {}) };
  const pool = new Pool(opts);
  try {
    for (let k = 0; k < trace.n; k++) pool.set(k, trace.size);
    if (rebalance) pool.rebalance(); // the fill's own accesses end with the first window, as with the timer
    const tick = trace.tickSec ?? 1;
    let next = tick;
    for (const r of trace.reqs) {
      while (rebalance && r.t >= next) {
        pool.rebalance();
        next += tick;
      }
      pool.get(r.key);
    }
    const s = pool.stats();
    replay.promotions = s.promotions;
    return s.hits.hot / (s.hits.hot + s.hits.cold);
  } finally {
    pool.close();
  }
}

/**
 * The old pool, compiled from git into a cache directory that shares this
 * checkout's native build and node_modules (the addon is the same).
 * Undefined (with the reason) when git or tsc cannot provide it.
 */
function oldPool(root, log) {
  const dir = path.join(os.tmpdir(), `hmsdk-bench-pool-${OLD_POOL_REF}`);
  const entry = path.join(dir, 'dist', 'tiering', 'pool.js');
  try {
    if (!fs.existsSync(entry)) {
      log(`[${CASE}] building the old pool (${OLD_POOL_REF}) into ${dir}`);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      const tar = execFileSync('git', ['-C', root, 'archive', OLD_POOL_REF, 'src', 'tsconfig.json'], { maxBuffer: 64 * MiB });
      execFileSync('tar', ['-x', '-C', dir], { input: tar });
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
      fs.symlinkSync(path.join(root, 'build'), path.join(dir, 'build'));
      execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.json')], { stdio: 'pipe' });
    }
    return { Pool: require(entry).TieredPool };
  } catch (err) {
    return { reason: `old pool (${OLD_POOL_REF}) unavailable: ${String(err && err.message ? err.message : err).split('\n')[0]}` };
  }
}

async function poolTrace(ctx) {
  const { h, quick, log, root } = ctx;
  const sameNodes = h.readTopology().exmemNodes.length === 0;
  const old = quick ? { reason: 'not in --quick' } : oldPool(root, log);
  const seeds = quick ? [1] : [1, 2, 3];
  const rows = [];
  for (const name of ['zipf', 'shift', 'scan', 'http']) {
    const ours = [];
    const opt = [];
    const optStatic = [];
    const olds = [];
    const statics = [];
    const ratios = [];
    const promos = [];
    const oldPromos = [];
    for (const seed of seeds) {
      const trace = makeTrace(name, quick, seed);
      const o = optimum(trace);
      const share = replay(h.TieredPool, trace, true, sameNodes);
      promos.push(replay.promotions / trace.seconds);
      ours.push(share);
      opt.push(o.segment);
      optStatic.push(o.static);
      ratios.push(share / o.segment);
      statics.push(replay(h.TieredPool, trace, false, sameNodes));
      if (old.Pool) {
        olds.push(replay(old.Pool, trace, true, sameNodes));
        oldPromos.push(replay.promotions / trace.seconds);
      }
    }
    const med = (xs) => summarize(xs).median;
    const pct = (x) => `${(100 * x).toFixed(1)}%`;
    const t0 = makeTrace(name, quick, seeds[0]);
    const note =
      `${t0.n} x ${t0.size / KiB} KiB, budget ${t0.budget / MiB} MiB, ${t0.reqs.length} requests over ${t0.seconds} s; DRAM-hit share: ` +
      `pool ${pct(med(ours))} (${med(promos).toFixed(1)} promotions/s), old pool ${olds.length ? `${pct(med(olds))} (${med(oldPromos).toFixed(1)} promotions/s)` : `n/a (${old.reason})`}, static ${pct(med(statics))}; ` +
      `optimum per ${SEGMENT_SEC} s ${pct(med(opt))}, static optimum ${pct(med(optStatic))} (medians over ${seeds.length} seed(s))`;
    log(`[${CASE}] ${name}: ${note}`);
    rows.push(
      makeRow({
        id: `pool-trace-${name}`,
        case: CASE,
        what: `TieredPool DRAM-hit share, ${name} trace`,
        unit: 'share',
        ours: { name: 'TieredPool', summary: summarize(ours) },
        baseline: { name: `offline optimum per ${SEGMENT_SEC} s`, summary: summarize(opt) },
        ratios,
        kind: 'share',
        target: { op: '>=', value: 0.9 },
        note,
        extra: { pool: { ours, optimum: opt, staticOptimum: optStatic, oldPool: olds, static: statics, promotionsPerSec: promos, oldPoolPromotionsPerSec: oldPromos } },
      }),
    );
  }
  return rows;
}

module.exports = { poolTrace };
