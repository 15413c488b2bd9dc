'use strict';
// Case 12 worker (bench/cases/interference.js), in a fresh process. Two
// worker threads per implementation:
//   A  1 KiB allocate + free in a loop, for a measurement window: its rate;
//   B  allocate + free of 1..8 MiB sizes that never repeat exactly (so no
//      reuse cache can serve them: every one takes the slow path), in a loop
//      until told to stop.
// The same pair with Buffer.allocUnsafeSlow (dropped, freed by the GC)
// shows what the machine itself costs A when B runs: two busy threads on a
// shared 2-core machine. Each repetition measures A solo and A while B runs,
// for ours and for the baseline, orders alternating.
//
// usage: node --expose-gc interference-child.js [--window-ms MS] [--reps N]
// Prints one JSON line.
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { childArgs, childMain } = require('../lib/child');

const KiB = 1024;
const MiB = 2 ** 20;
const SMALL = KiB;

function workerMain() {
  const { role, impl, control } = workerData;
  const h = require(path.join(__dirname, '..', '..'));
  let sink;
  const small =
    impl === 'ours'
      ? () => h.free(h.allocate(SMALL))
      : () => {
          sink = Buffer.allocUnsafeSlow(SMALL);
        };
  let seed = role === 'B' ? 0x9e3779b9 : 1;
  const nextLarge = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return MiB + (seed % (7 * MiB)); // 1..8 MiB, byte granular
  };
  const large =
    impl === 'ours'
      ? () => h.free(h.allocate(nextLarge()))
      : () => {
          sink = Buffer.allocUnsafeSlow(nextLarge());
        };
  const run = new Int32Array(control);
  parentPort.on('message', (msg) => {
    const t0 = process.hrtime.bigint();
    let ops = 0;
    if (role === 'A') {
      const endNs = t0 + BigInt(Math.round(msg.windowMs * 1e6));
      do {
        for (let i = 0; i < 256; i++) small();
        ops += 256;
      } while (process.hrtime.bigint() < endNs);
    } else {
      while (Atomics.load(run, 0) === 1) {
        large();
        ops++;
      }
    }
    parentPort.postMessage({ ops, ns: Number(process.hrtime.bigint() - t0), sinkLength: sink ? sink.length : 0 });
  });
}

const reply = (w) => new Promise((resolve) => w.once('message', resolve));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const a = childArgs(process.argv.slice(2), { 'window-ms': '300', reps: '5' });
  const windowMs = Number(a['window-ms']);
  const reps = Number(a.reps);
  const control = new SharedArrayBuffer(4);
  const run = new Int32Array(control);
  const impls = ['ours', 'baseline'];
  const workers = {};
  for (const impl of impls) {
    workers[impl] = {};
    for (const role of ['A', 'B']) {
      const w = new Worker(__filename, { workerData: { role, impl, control } });
      w.on('error', (err) => {
        process.stderr.write(`interference-child: worker ${impl} ${role}: ${err && err.stack ? err.stack : err}\n`);
        process.exit(1);
      });
      workers[impl][role] = w;
    }
  }
  const windowA = async (impl, ms) => {
    const w = workers[impl].A;
    const done = reply(w);
    w.postMessage({ windowMs: ms });
    const r = await done;
    return (r.ops / r.ns) * 1e9;
  };
  const withB = async (impl, fn) => {
    const w = workers[impl].B;
    Atomics.store(run, 0, 1);
    const done = reply(w);
    w.postMessage({});
    await sleep(20); // B is in its loop
    const result = await fn();
    Atomics.store(run, 0, 0);
    const b = await done;
    return { result, bRate: (b.ops / b.ns) * 1e9 };
  };
  // Warm-up: JIT, first mappings, the workers' module loading.
  for (const impl of impls) {
    await windowA(impl, Math.min(100, windowMs));
    await withB(impl, () => sleep(Math.min(100, windowMs)));
  }
  const out = Object.fromEntries(impls.map((i) => [i, { solo: [], paired: [], bRate: [] }]));
  for (let r = 0; r < reps; r++) {
    for (const impl of r % 2 === 0 ? impls : [...impls].reverse()) {
      const soloFirst = (r >> 1) % 2 === 0;
      if (soloFirst) out[impl].solo.push(await windowA(impl, windowMs));
      const p = await withB(impl, () => windowA(impl, windowMs));
      out[impl].paired.push(p.result);
      out[impl].bRate.push(p.bRate);
      if (!soloFirst) out[impl].solo.push(await windowA(impl, windowMs));
    }
  }
  for (const impl of impls) for (const w of Object.values(workers[impl])) await w.terminate();
  return { windowMs, reps, smallBytes: SMALL, largeBytes: [MiB, 8 * MiB], ...out };
}

if (isMainThread) childMain('interference-child', main);
else workerMain();
