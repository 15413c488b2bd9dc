'use strict';
// Case 8: weighted-interleave placement of 256 MiB, populated, through the
// kernel path (MPOL_WEIGHTED_INTERLEAVE with the kernel's global weights)
// and the userspace stripe path (the policy engine's weights from HMAT),
// each against plain MPOL_INTERLEAVE of the same size. Needs >= 2 memory
// nodes: on a one-node machine it reports "needs the VM" (run.js --vm).
const { makeRow, skippedRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');
const { fmtBytes, fmtMs } = require('../lib/fmt');

const MiB = 2 ** 20;

function pageShares(h, buf, nodes) {
  const w = h.where(buf);
  return {
    nodes: Object.fromEntries(nodes.map((n) => [n, w.nodes[n] ?? 0])),
    absent: w.absent,
    other: w.other,
    total: w.total,
    pct: nodes.map((n) => Number(((100 * (w.nodes[n] ?? 0)) / w.total).toFixed(1))),
  };
}

async function weighted(ctx) {
  const { h } = ctx;
  const t = h.readTopology();
  const memNodes = t.nodes.map((n) => n.id);
  const size = ctx.quick ? 32 * MiB : 256 * MiB;
  const reps = ctx.quick ? 2 : 5;
  const what = `weighted interleave ${fmtBytes(size)} populated`;
  const target = { op: '<=', value: 1.3 };
  if (memNodes.length < 2) {
    const note =
      `needs the VM: this machine has ${memNodes.length} memory node (${memNodes.join(',')}); ` +
      'run `node bench/run.js --vm` (boots `hmsdk emulate --kernel 6.12`, cxl-expander preset, and runs `--only weighted` inside)';
    return [
      skippedRow({ id: 'weighted-kernel-vs-interleave', case: 8, what: `${what}, kernel path vs MPOL_INTERLEAVE`, kind: 'time', target, note }),
      skippedRow({ id: 'weighted-stripe-vs-interleave', case: 8, what: `${what}, userspace stripe vs MPOL_INTERLEAVE`, kind: 'time', target, note }),
    ];
  }
  const dram = t.normalNodes[0] ?? memNodes[0];
  const other = t.exmemNodes[0] ?? memNodes.find((n) => n !== dram);
  const nodes = [dram, other];
  const sysW = nodes.map((n) => t.weightedInterleave.weights[n] ?? 1);

  const variants = {
    interleave: { policy: 'interleave', nodes },
    // Kernel path: the kernel's own global weights (no per-buffer weight vector upstream).
    kernel: { policy: 'weighted', nodes, weights: sysW },
    // Stripe path: the policy engine's weights (HMAT); they differ from the kernel's defaults.
    stripe: { policy: 'weighted', nodes },
  };
  const info = Object.fromEntries(Object.entries(variants).map(([k, o]) => [k, h.placementOf(o)]));
  // If the engine's weights happen to equal the kernel's, force a stripe with a different ratio.
  if (info.stripe.path !== 'stripe') {
    variants.stripe = { policy: 'weighted', nodes, weights: [sysW[0] * 3 + 1, sysW[1]] };
    info.stripe = h.placementOf(variants.stripe);
  }
  for (const [k, i] of Object.entries(info)) {
    ctx.log(`[8] ${k}: path ${i.path}${i.mode ? ` (${i.mode})` : ''}, nodes ${i.nodes.join(',')}${i.weights ? `, weights ${i.weights.join(':')}` : ''}`);
  }
  const times = { interleave: [], kernel: [], stripe: [] };
  const shares = {};
  const keys = ['interleave', 'kernel', 'stripe'];
  const once = (k) => {
    const t0 = process.hrtime.bigint();
    const b = h.allocate(size, { ...variants[k], populate: true });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (!shares[k]) shares[k] = pageShares(h, b, nodes);
    h.free(b);
    return ms;
  };
  ctx.log(`[8] allocate(${fmtBytes(size)}, populate) per path, ${reps} reps, rotating order`);
  for (const k of keys) once(k); // warm-up, and where() histograms
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[(i + r) % keys.length];
      times[k].push(once(k));
    }
    ctx.log(`[8] rep ${r + 1}/${reps}: ${keys.map((k) => `${k} ${fmtMs(times[k][r])}`).join(', ')}`);
  }
  for (const k of keys) ctx.log(`[8] ${k}: pages ${JSON.stringify(shares[k].nodes)} (${shares[k].pct.join('% / ')}%)`);
  const env = process.env.HMSDK_EMULATE === '1' ? `VM (QEMU TCG, kernel ${process.env.HMSDK_EMULATE_KERNEL || '?'}): ratios only, both nodes are host RAM` : 'this machine';
  const describe = (k) => {
    const i = info[k];
    return `${i.path}${i.mode ? ` ${i.mode}` : ''}${i.weights ? ` ${i.weights.join(':')}` : ''}`;
  };
  const row = (k) =>
    makeRow({
      id: `weighted-${k}-vs-interleave`,
      case: 8,
      what: `${what}, ${k === 'kernel' ? 'kernel path' : 'userspace stripe'} (${describe(k)}) vs MPOL_INTERLEAVE`,
      unit: 'ms',
      ours: { name: `allocate(${fmtBytes(size)}, ${JSON.stringify({ ...variants[k], populate: true })})`, summary: summarize(times[k]) },
      baseline: { name: `allocate(${fmtBytes(size)}, ${JSON.stringify({ ...variants.interleave, populate: true })})`, summary: summarize(times.interleave) },
      ratios: times[k].map((x, i) => x / times.interleave[i]),
      kind: 'time',
      target,
      note: `${env}; placementOf: ${describe(k)}; pages per node ${nodes.join('/')}: ${shares[k].pct.join('/')}% (interleave ${shares.interleave.pct.join('/')}%)`,
      extra: { placement: info[k], baselinePlacement: info.interleave, pages: shares[k], baselinePages: shares.interleave, bytes: size },
    });
  if (info.kernel.path !== 'kernel') {
    return [
      skippedRow({
        id: 'weighted-kernel-vs-interleave',
        case: 8,
        what: `${what}, kernel path vs MPOL_INTERLEAVE`,
        kind: 'time',
        target,
        note: `the kernel has no MPOL_WEIGHTED_INTERLEAVE (6.9+): placementOf gives ${describe('kernel')}`,
      }),
      row('stripe'),
    ];
  }
  return [row('kernel'), row('stripe')];
}

module.exports = { weighted };
