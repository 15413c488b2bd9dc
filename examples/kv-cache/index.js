// LLM KV-cache chunk store on two memory tiers, in the spirit of LMCache's
// CXL backend: the KV tensors of a prompt are cut into fixed-size chunks
// (256 tokens each), written once at prefill and read many times when a
// later request shares the prefix. Hot chunks live on DRAM, the rest on
// CXL (EXMEM) memory: hmsdk's TieredPool keeps DRAM use within a budget and
// moves chunks between tiers in the background. When a read is served from
// EXMEM, the store prefetches the next N chunks of that prompt (asks the
// pool to bring them up on its next tick). The store also has a total
// capacity: past it the least recently used chunk is evicted (it would be
// recomputed by prefill).
//
// The workload sweeps the working set past the DRAM budget and prints, per
// working-set size, the DRAM hit ratio (reads served from DRAM / reads
// served), EXMEM hits, misses (prefill recompute) and read throughput.
//
// Run: node examples/kv-cache/index.js [--budget-mib 4] [--chunk-kib 128]
//        [--capacity 128] [--sizes 16,32,64,128,256] [--requests 300] [--prefetch 4]
//        [--tick-every 20]   (a bounded rebalance tick, 4 MiB, every N requests)
// On a machine without EXMEM the cold tier falls back to DRAM (said in the
// output): the hit ratios show the policy, the throughput cannot show CXL.
'use strict';
const hm = require('../..');
const { TieredPool } = hm;

const MiB = 2 ** 20;

function args(argv) {
  const o = { budgetMiB: 4, chunkKiB: 128, capacity: 128, sizes: [16, 32, 64, 128, 256], requests: 300, prefetch: 4, chunksPerPrompt: 8, tickEvery: 20 };
  for (let i = 2; i < argv.length; i += 2) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--budget-mib': o.budgetMiB = Number(v); break;
      case '--chunk-kib': o.chunkKiB = Number(v); break;
      case '--capacity': o.capacity = Number(v); break;
      case '--sizes': o.sizes = String(v).split(',').map(Number); break;
      case '--requests': o.requests = Number(v); break;
      case '--prefetch': o.prefetch = Number(v); break;
      case '--tick-every': o.tickEvery = Number(v); break;
      default: throw new TypeError(`unknown argument ${argv[i]}`);
    }
  }
  return o;
}

/** Chunk store: TieredPool for placement, a Map in LRU order for capacity eviction. */
class KVChunkStore {
  constructor({ chunkBytes, dramBudget, capacity, prefetch, fallback }) {
    this.chunkBytes = chunkBytes;
    this.capacity = capacity;
    this.prefetchN = prefetch;
    // intervalMs: 0 — this benchmark drives the rebalance ticks itself, every
    // `tickEvery` requests, so its numbers do not depend on machine speed (a
    // service would use the background timer). The window should be long
    // compared to the time between reuses of a chunk: heat decays by 0.9
    // every window, so very short windows forget popularity and prefetched
    // chunks evict popular ones.
    this.pool = new TieredPool({ dramBudget, fallback, intervalMs: 0 });
    this.lru = new Map(); // key -> true, least recently used first
    this.evictions = 0;
    this.prefetches = 0;
  }
  static key(prompt, chunk) {
    return `${prompt}:${chunk}`;
  }
  /** Store a chunk written by prefill (copies it). */
  put(key, data) {
    if (this.lru.size >= this.capacity) {
      const victim = this.lru.keys().next().value;
      this.lru.delete(victim);
      this.pool.delete(victim);
      this.evictions++;
    }
    this.pool.set(key, data);
    this.lru.set(key, true);
  }
  /** The chunk and the tier that served it, or undefined (miss). Prefetches the next chunks on an EXMEM read. */
  get(prompt, chunk) {
    const key = KVChunkStore.key(prompt, chunk);
    const tier = this.pool.tierOf(key);
    if (tier === undefined) {
      this.pool.get(key); // counts the miss
      return undefined;
    }
    this.lru.delete(key);
    this.lru.set(key, true);
    if (tier === 'cold') {
      for (let j = chunk + 1; j <= chunk + this.prefetchN; j++) if (this.pool.prefetch(KVChunkStore.key(prompt, j))) this.prefetches++;
    }
    return { buf: this.pool.get(key), tier };
  }
  close() {
    this.pool.close();
  }
}

function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Zipf(s) sampler over n items. */
function zipf(n, s, rnd) {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cdf[i] = acc += 1 / (i + 1) ** s;
  return () => {
    const x = rnd() * acc;
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

async function runWorkingSet(o, wsChunks, fallback, tiering) {
  const chunkBytes = o.chunkKiB * 1024;
  const store = new KVChunkStore({ chunkBytes, dramBudget: o.budgetMiB * MiB, capacity: o.capacity, prefetch: o.prefetch, fallback });
  const prompts = Math.max(1, Math.ceil(wsChunks / o.chunksPerPrompt));
  const rnd = lcg(42);
  const pick = zipf(prompts, 0.9, rnd);
  const prefill = Buffer.alloc(chunkBytes);
  const staging = Buffer.alloc(chunkBytes); // where a reader copies a chunk (the "GPU" side)
  const readPrompt = (p, count) => {
    for (let c = 0; c < o.chunksPerPrompt; c++) {
      const hit = store.get(p, c);
      if (hit === undefined) {
        prefill.fill((p * 31 + c) & 0xff); // "recompute" the KV chunk
        store.put(KVChunkStore.key(p, c), prefill);
        if (count) counts.miss++;
      } else {
        hit.buf.copy(staging);
        if (count) counts[hit.tier]++;
      }
    }
  };
  const counts = { hot: 0, cold: 0, miss: 0 };
  // Warm-up: prefill every prompt once, in a random arrival order (so the
  // first chunks to land on DRAM are not the most popular by construction).
  const order = Array.from({ length: prompts }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const p of order) readPrompt(p, false);
  const s0 = store.pool.stats();
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < o.requests; r++) {
    readPrompt(pick(), true);
    if (tiering && r % o.tickEvery === o.tickEvery - 1) store.pool.rebalance({ maxBytes: 4 * MiB }); // a bounded tick
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const s = store.pool.stats();
  const served = counts.hot + counts.cold;
  const total = served + counts.miss;
  const row = {
    wsChunks: prompts * o.chunksPerPrompt,
    wsMiB: (prompts * o.chunksPerPrompt * chunkBytes) / MiB,
    dramHit: served ? counts.hot / served : 0,
    exmemShare: total ? counts.cold / total : 0,
    missShare: total ? counts.miss / total : 0,
    promotions: s.promotions - s0.promotions,
    demotions: s.demotions - s0.demotions,
    prefetches: store.prefetches,
    evictions: store.evictions,
    readsPerSec: total / secs,
    gibPerSec: (served * chunkBytes) / 2 ** 30 / secs,
    maxDram: s.hotBytes,
  };
  store.close();
  return row;
}

async function main() {
  const o = args(process.argv);
  const t = hm.readTopology();
  const fallback = t.exmemNodes.length ? 'none' : 'normal';
  console.log(`memory nodes: ${t.nodes.map((n) => `${n.id}:${n.type}`).join(' ')}`);
  if (fallback === 'normal') {
    console.log("no EXMEM node on this machine: cold tier = DRAM (fallback: 'normal'). Hit ratios show the tiering policy; throughput cannot show CXL latency.");
  } else {
    console.log(`cold tier: EXMEM nodes ${t.exmemNodes.join(',')}; hot tier: NORMAL nodes ${t.normalNodes.join(',')}`);
  }
  console.log(
    `chunk ${o.chunkKiB} KiB (256 tokens), DRAM budget ${o.budgetMiB} MiB (${Math.floor((o.budgetMiB * 1024) / o.chunkKiB)} chunks), ` +
      `store capacity ${o.capacity} chunks, ${o.chunksPerPrompt} chunks/prompt, Zipf(0.9) prompts, ${o.requests} requests per size, prefetch next ${o.prefetch}, a rebalance tick (<= 4 MiB moved) every ${o.tickEvery} requests`,
  );
  const head = ['ws chunks', 'ws MiB', 'DRAM hit %', 'static %', 'EXMEM %', 'miss %', 'promote', 'demote', 'prefetch', 'evict', 'reads/s', 'GiB/s'];
  const rows = [];
  for (const ws of o.sizes) {
    const r = await runWorkingSet(o, ws, fallback, true);
    const s = await runWorkingSet(o, ws, fallback, false); // same requests, no rebalancing
    rows.push([
      r.wsChunks,
      r.wsMiB.toFixed(1),
      (100 * r.dramHit).toFixed(1),
      (100 * s.dramHit).toFixed(1),
      (100 * r.exmemShare).toFixed(1),
      (100 * r.missShare).toFixed(1),
      r.promotions,
      r.demotions,
      r.prefetches,
      r.evictions,
      Math.round(r.readsPerSec),
      r.gibPerSec.toFixed(2),
    ]);
  }
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padStart(w[i])).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log('DRAM hit % = reads served from DRAM / reads served (hits); static % = the same without rebalancing (placement at prefill only);');
  console.log('EXMEM % and miss % (evicted, recomputed) are shares of all reads.');
  console.log(`live SDK allocations after close: ${hm.stats().sdk.liveAllocations}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
