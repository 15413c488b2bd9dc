// A piscina worker pool sharing ONE table from the store: the main thread
// creates a weight table in the store and seals it; each pool worker maps it
// once (store.get() in the worker thread, zero copies) and scores tasks
// against it. The same API runs in worker_threads as in processes.
//
// Run: node examples/store-piscina/index.js [--threads 2] [--rows 4096] [--dim 64] [--tasks 32]
// Without an EXMEM node the table falls back to DRAM, and the output says so.
'use strict';
const path = require('node:path');
const { Piscina } = require('piscina');
const hm = require('../..');

function args(argv) {
  const o = { threads: 2, rows: 4096, dim: 64, tasks: 32 };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o)) throw new TypeError(`unknown argument ${argv[i]}`);
    o[k] = Number(argv[i + 1]);
  }
  return o;
}

const weight = (r, d) => ((r * 13 + d * 5) % 101) / 101;

/** The score the workers compute, here on a plain array. */
function reference(o, task) {
  let s = 0;
  for (let d = 0; d < o.dim; d++) s += weight(task % o.rows, d) * (d + 1);
  return s;
}

(async () => {
  const o = args(process.argv);
  if (hm.readTopology().exmemNodes.length === 0) console.log("no EXMEM node on this machine: the table uses DRAM (fallback: 'normal')");
  const name = `example-piscina-${process.pid}`;
  const store = await hm.connect({ name, tier: 'EXMEM', fallback: 'normal' });
  const buf = await store.create('weights', o.rows * o.dim * 4);
  const w = new Float32Array(buf.buffer, buf.byteOffset, o.rows * o.dim);
  for (let r = 0; r < o.rows; r++) for (let d = 0; d < o.dim; d++) w[r * o.dim + d] = weight(r, d);
  await store.seal('weights');
  const pool = new Piscina({ filename: path.join(__dirname, 'worker.js'), minThreads: o.threads, maxThreads: o.threads, workerData: { name, dim: o.dim } });
  const results = await Promise.all(Array.from({ length: o.tasks }, (_, t) => pool.run(t)));
  const threads = new Set(results.map((r) => r.thread));
  const ok = results.every((r, t) => Math.abs(r.score - reference(o, t)) < 1e-3);
  console.log(`${o.tasks} tasks on ${threads.size} pool threads, each mapping the table once from store ${name}: scores ${ok ? 'match' : 'MISMATCH'}`);
  const info = await store.stat('weights');
  console.log(`table ${info.size} B, nodes ${JSON.stringify(info.nodes)}, holds ${info.holders.map((h) => h.holds).join('+')} in pid ${process.pid} (one per pool thread)`);
  await pool.destroy();
  await store.delete('weights');
  await store.disconnect();
  process.exitCode = ok ? 0 : 1;
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
