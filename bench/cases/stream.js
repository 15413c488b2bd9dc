'use strict';
// Case 5: sequential read/write of a 64 MiB Float64Array, SDK vs plain. async (ctx) -> rows; ctx = { h, quick, log, root, node }.
const { makeRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');
const { fmtBytes } = require('../lib/fmt');
const { MiB } = require('../lib/common');

/* Results of baseline allocations go here so no call can be optimised away. */
let sink;

/*
 * The loops are JS (one function source), with a separate function
 * instance per array, each warmed on its own array: a function shared by
 * arrays of different maps (allocateTyped adds an own Symbol.dispose
 * property, which gives the array another map) becomes polymorphic and
 * measures V8's inline caches instead of memory.
 */
async function stream(ctx) {
  const { h } = ctx;
  const bytes = ctx.quick ? 8 * MiB : 64 * MiB;
  const reps = ctx.quick ? 3 : 21;
  const n = bytes / 8;
  const SUM = 'const n = a.length; let s = 0; for (let i = 0; i < n; i++) s += a[i]; return s;';
  const FILL = 'const n = a.length; for (let i = 0; i < n; i++) a[i] = v;';
  const mk = () => ({ sum: new Function('a', SUM), fill: new Function('a', 'v', FILL) });
  const typedBuf = h.allocateTyped(Float64Array, n, { populate: true });
  const viewBuf = h.allocate(bytes, { populate: true });
  const arrays = {
    typed: { arr: typedBuf, f: mk(), name: `allocateTyped(Float64Array, ${n}, { populate: true })` },
    view: { arr: new Float64Array(viewBuf.buffer, viewBuf.byteOffset, n), f: mk(), name: `new Float64Array(allocate(${fmtBytes(bytes)}, { populate: true }).buffer)` },
    plain: { arr: new Float64Array(n), f: mk(), name: `new Float64Array(${n})` },
  };
  const keys = Object.keys(arrays);
  ctx.log(`[5] sequential read/write of a ${fmtBytes(bytes)} Float64Array: SDK (allocateTyped; raw view of allocate) vs plain, ${reps} passes each`);
  for (let w = 0; w < 5; w++) {
    for (const k of keys) {
      arrays[k].f.fill(arrays[k].arr, w + 1);
      arrays[k].f.sum(arrays[k].arr);
    }
  }
  const time = (fn, arr, v) => {
    const t0 = process.hrtime.bigint();
    sink = fn(arr, v);
    return bytes / Number(process.hrtime.bigint() - t0); // bytes/ns = GB/s
  };
  const res = { read: {}, write: {} };
  for (const op of ['read', 'write']) for (const k of keys) res[op][k] = [];
  for (let r = 0; r < reps; r++) {
    const order = keys.map((_, i) => keys[(i + r) % keys.length]);
    for (const k of order) res.write[k].push(time(arrays[k].f.fill, arrays[k].arr, r));
    for (const k of order) res.read[k].push(time(arrays[k].f.sum, arrays[k].arr));
  }
  h.free(typedBuf);
  h.free(viewBuf);
  const rows = [];
  for (const op of ['read', 'write']) {
    const sum = Object.fromEntries(keys.map((k) => [k, summarize(res[op][k])]));
    ctx.log(`[5] ${op}: allocateTyped ${sum.typed.median.toFixed(2)} GB/s, view of allocate ${sum.view.median.toFixed(2)} GB/s, plain ${sum.plain.median.toFixed(2)} GB/s`);
    for (const k of ['typed', 'view']) {
      rows.push(
        makeRow({
          id: `stream-${op}-${k}-${bytes}`,
          case: 5,
          what: `sequential ${op} (JS ${op === 'read' ? 'sum' : 'fill'} loop) of a ${fmtBytes(bytes)} Float64Array, ${k === 'typed' ? 'allocateTyped' : 'Float64Array view of allocate()'} vs plain`,
          unit: 'GB/s',
          ours: { name: arrays[k].name, summary: sum[k] },
          baseline: { name: arrays.plain.name, summary: sum.plain },
          ratios: res[op][k].map((x, i) => x / res[op].plain[i]),
          kind: 'throughput',
          target: k === 'typed' ? { op: '>=', value: 0.95 } : null,
          note:
            'same source, a separate function instance per array warmed on its own array (5 passes); passes rotate order' +
            (k === 'view' ? '; reference: the SDK memory without allocateTyped\'s own Symbol.dispose property' : ''),
        }),
      );
    }
  }
  return rows;
}

module.exports = { stream };
