// Model tensors placed by tier: the large, sparsely read embedding table on
// CXL (EXMEM) memory, the small dense layers every token goes through on
// DRAM. A tiny forward pass (embedding lookup, then matmul + ReLU per layer)
// runs over SDK-placed Float32Arrays, checked against the same computation
// on plain arrays; where() shows each tensor's pages per node (move_pages).
//
// Run: node examples/tensors/index.js [--vocab 8192] [--dim 64] [--layers 4] [--tokens 32]
// Without an EXMEM node the embeddings fall back to DRAM, and the output says so.
'use strict';
const hm = require('../..');

function args(argv) {
  const o = { vocab: 8192, dim: 64, layers: 4, tokens: 32 };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o)) throw new TypeError(`unknown argument ${argv[i]}`);
    o[k] = Number(argv[i + 1]);
  }
  return o;
}

function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
}

/** y = relu(W x), W row-major dim x dim. */
function layer(w, x, y, dim) {
  for (let r = 0; r < dim; r++) {
    let acc = 0;
    const off = r * dim;
    for (let c = 0; c < dim; c++) acc += w[off + c] * x[c];
    y[r] = acc > 0 ? acc : 0;
  }
}

/** Embedding lookup then the layers; returns the sum of the outputs. */
function forward(emb, layers, tokens, dim) {
  let x = new Float32Array(dim);
  let y = new Float32Array(dim);
  let sum = 0;
  for (const t of tokens) {
    x.set(emb.subarray(t * dim, (t + 1) * dim));
    for (const w of layers) {
      layer(w, x, y, dim);
      [x, y] = [y, x];
    }
    for (let i = 0; i < dim; i++) sum += x[i];
  }
  return sum;
}

function describe(name, arr, shape, asked) {
  const w = hm.where(arr);
  const nodes = Object.entries(w.nodes).map(([n, p]) => `node ${n}: ${p} pages`).join(', ') || 'no resident page';
  console.log(`${name.padEnd(10)} ${shape.padEnd(12)} ${String(arr.byteLength).padStart(9)} B  asked ${asked.padEnd(6)}  where(): ${nodes}`);
}

const o = args(process.argv);
const t = hm.readTopology();
const hasExmem = t.exmemNodes.length > 0;
console.log(`memory nodes: ${t.nodes.map((n) => `${n.id}:${n.type}`).join(' ')}`);
if (!hasExmem) console.log("no EXMEM node on this machine: the embeddings use DRAM (fallback: 'normal')");

const rnd = lcg(7);
// Embeddings: vocab x dim, read a few rows per token -> capacity tier.
const emb = hm.allocateTyped(Float32Array, o.vocab * o.dim, { tier: 'EXMEM', fallback: 'normal', populate: true });
for (let i = 0; i < emb.length; i++) emb[i] = rnd();
// Layers: dim x dim each, every token reads all of them -> DRAM.
const layers = [];
for (let l = 0; l < o.layers; l++) {
  const w = hm.allocateTyped(Float32Array, o.dim * o.dim, { tier: 'NORMAL', populate: true });
  for (let i = 0; i < w.length; i++) w[i] = rnd() / Math.sqrt(o.dim);
  layers.push(w);
}

describe('embeddings', emb, `${o.vocab}x${o.dim}`, 'EXMEM');
layers.forEach((w, l) => describe(`layer${l}`, w, `${o.dim}x${o.dim}`, 'NORMAL'));

const tokens = Array.from({ length: o.tokens }, (_, i) => (i * 2654435761) % o.vocab);
forward(emb, layers, tokens, o.dim); // warm up the JIT
const t0 = process.hrtime.bigint();
const out = forward(emb, layers, tokens, o.dim);
const us = Number(process.hrtime.bigint() - t0) / 1e3;
const ref = forward(Float32Array.from(emb), layers.map((w) => Float32Array.from(w)), tokens, o.dim);
console.log(`forward over ${o.tokens} tokens: sum ${out.toFixed(6)} in ${us.toFixed(0)} us; plain-array reference ${ref.toFixed(6)}: ${out === ref ? 'match' : 'MISMATCH'}`);
const s = hm.stats();
console.log(`SDK used: NORMAL ${s.tiers.NORMAL.used} B, EXMEM ${s.tiers.EXMEM.used} B`);

hm.free(emb);
for (const w of layers) hm.free(w);
console.log(`after free: live allocations ${hm.stats().sdk.liveAllocations}`);
if (out !== ref) process.exit(1);
