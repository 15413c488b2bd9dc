'use strict';
// Per-operation timing with tinybench, ours and baselines interleaved.
//
// Each tinybench iteration runs a batch of `batch` operations and reports
// the mean time per operation of that batch (overriddenDuration), so one
// sample is one batch mean: a single allocation (~0.05-10 us) is below a
// reliable per-call timer resolution. The comparison runs in `rounds`
// rounds; each round is a fresh Bench holding every task of the comparison
// (order reversed every other round), so ours and the baselines see the
// same machine load. Samples of all rounds are pooled for the per-task
// summary (median, p25/p75, MAD, mean).
//
// The ratio is the median over rounds of the per-round ratio of MEAN time
// per op (all batches have the same size, so the mean is total time / ops).
// Allocation baselines defer their frees to the GC: a GC pause lands in a
// few batches only, so a batch median can leave it out entirely or not,
// depending on how often the GC runs (Buffer.allocUnsafeSlow(64 KiB) showed
// medians of 0.46 or 2.6 µs in back-to-back runs). The mean charges every
// op its share of the GC work it causes; each round spans many GCs.
const { summarize, median } = require('./stats');

let tinybench;
async function loadTinybench() {
  // tinybench 6 is an ES module: import() works on every Node >= 20.4.
  if (!tinybench) tinybench = await import('tinybench');
  return tinybench;
}

/**
 * @param spec.tasks   [{ key, name, body(n) }]: body runs n operations
 * @param spec.batch   operations per sample
 * @param spec.rounds  interleaved rounds
 * @param spec.timeMs  time budget per task per round
 * @param spec.iterations  minimum samples per task per round (default 8)
 * @returns { [key]: { summary (ns/op), roundMedians: number[] } }
 */
async function compare(spec) {
  const { Bench } = await loadTinybench();
  const { tasks, batch, rounds, timeMs } = spec;
  const samples = Object.fromEntries(tasks.map((t) => [t.key, []]));
  const roundMedians = Object.fromEntries(tasks.map((t) => [t.key, []]));
  const roundMeans = Object.fromEntries(tasks.map((t) => [t.key, []]));
  for (let r = 0; r < rounds; r++) {
    const bench = new Bench({
      name: spec.name,
      time: timeMs,
      iterations: spec.iterations ?? 8,
      warmup: r === 0,
      warmupTime: Math.min(100, timeMs),
      warmupIterations: 4,
      retainSamples: true,
      throws: true,
    });
    const order = r % 2 === 0 ? tasks : [...tasks].reverse();
    for (const t of order) {
      const body = t.body;
      bench.add(t.key, () => {
        const t0 = process.hrtime.bigint();
        body(batch);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        return { overriddenDuration: ms / batch, overriddenIterationCost: ms };
      }, { async: false });
    }
    await bench.run();
    for (const t of tasks) {
      const task = bench.getTask(t.key);
      const res = task && task.result;
      if (!res || res.state !== 'completed') {
        throw new Error(`${spec.name}/${t.key}: tinybench state ${res ? res.state : 'missing'}${res && res.error ? `: ${res.error.message}` : ''}`);
      }
      const ns = Array.from(res.latency.samples, (ms) => ms * 1e6);
      samples[t.key].push(...ns);
      roundMedians[t.key].push(median(ns));
      roundMeans[t.key].push(ns.reduce((a, b) => a + b, 0) / ns.length);
    }
  }
  const out = {};
  for (const t of tasks) out[t.key] = { name: t.name, summary: summarize(samples[t.key]), roundMedians: roundMedians[t.key], roundMeans: roundMeans[t.key] };
  return out;
}

/** Per-round ratios a/b (or b/a with invert) of two tasks' mean time per op. */
function roundRatios(res, a, b, invert = false) {
  return res[a].roundMeans.map((x, i) => (invert ? res[b].roundMeans[i] / x : x / res[b].roundMeans[i]));
}

module.exports = { compare, roundRatios, loadTinybench };
