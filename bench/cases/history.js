'use strict';
// Case 10 — history × scale matrix: is the cost of allocate(size) + free(buf)
// the same whatever the process did before and however much it holds?
//
// Sizes 4 KiB, 64 KiB, 256 KiB, 1 MiB, 16 MiB (default options: NORMAL,
// bind), each after every history of bench/cases/history-child.js: a fresh
// process; createArena(64 MiB).dispose(); one 64 MiB allocate + free; 16
// frees of distinct unusual sizes; 1 GiB of 4 KiB blocks live once (skip
// with --no-gib-history); and 1,000 / 10,000 held 256 KiB buffers, never
// written or with every page written (0 held is the fresh cell). Every
// cell runs in a fresh child process (a history must not leak into the next
// cell) that measures ours against Buffer.allocUnsafeSlow(size) in
// interleaved rounds.
//
// Per cell: the median over rounds of ours / baseline mean time per op
// (p25–p75), and ours / the fresh cell of the same size: this cell's round
// means over the fresh cell's median round mean. Those come from separate
// processes, so machine load does not cancel: the fresh cell runs once more
// after the others of its size (an info row, the noise floor), and the
// ratio taken through each cell's own baseline, which does cancel load, is
// in extra.vsFreshNormalised. Targets: every cell within 1.5× of the fresh
// cost; ≤ 1.5× the baseline from 64 KiB up, ≤ 2× at 4 KiB. A cell whose
// history could not be built within the setup limit is "missed" whatever
// its ratios (extra.incomplete says how far it got).
const path = require('node:path');
const { runChild } = require('../lib/child');
const { makeRow } = require('../lib/rows');
const { median } = require('../lib/stats');
const { fmtBytes, fmtNs, fmtRatio } = require('../lib/fmt');
const { histories } = require('./history-child');

const KiB = 1024;
const MiB = 2 ** 20;
const CASE = 10;
const child = path.join(__dirname, 'history-child.js');

const FULL_SIZES = [4 * KiB, 64 * KiB, 256 * KiB, MiB, 16 * MiB];
const QUICK_SIZES = [4 * KiB, MiB];
const FRESH_TARGET = 1.5;
const baselineTarget = (size) => (size < 64 * KiB ? 2 : 1.5);

async function history(ctx) {
  const scale = ctx.quick ? 'quick' : 'full';
  const sizes = ctx.quick ? QUICK_SIZES : FULL_SIZES;
  const hist = histories(scale).filter((x) => !(x.gib && ctx.flags.noGibHistory));
  const childArgs = ctx.quick
    ? ['--rounds', '2', '--time-ms', '10', '--setup-limit-ms', '2000']
    : ['--rounds', '8', '--time-ms', '50', '--setup-limit-ms', '5000'];
  ctx.log(`[${CASE}] history × scale: ${hist.length} histories × ${sizes.length} sizes, one fresh process per cell${ctx.flags.noGibHistory ? ' (--no-gib-history)' : ''}`);
  const rows = [];
  // The fresh cell once more after the others of its size: how far two fresh
  // processes differ on this machine now (the noise floor of the vs-fresh ratios).
  const freshAgain = { key: 'fresh-again', cellKey: 'fresh', label: 'fresh process again, after the other cells of this size (noise floor)' };
  for (const size of sizes) {
    let fresh;
    for (const hx of [...hist, freshAgain]) {
      const cell = runChild(child, ['--cell', `${hx.cellKey ?? hx.key}:${size}`, '--scale', scale, ...childArgs], { timeoutMs: 180_000 });
      const base = median(cell.ratios);
      const incomplete = cell.setup.incomplete
        ? `history incomplete: built ${cell.setup.built.toLocaleString('en')} of ${cell.setup.target.toLocaleString('en')} within the ${cell.setup.limitMs / 1000} s setup limit`
        : null;
      if (hx.key === 'fresh') fresh = cell;
      const vsFresh = cell.ours.roundMeans.map((x) => x / median(fresh.ours.roundMeans));
      const vsFreshNormalised = base / median(fresh.ratios);
      ctx.log(
        `[${CASE}] ${fmtBytes(size)} ${hx.key}: ours ${fmtNs(median(cell.ours.roundMeans))}/op, baseline ${fmtNs(median(cell.baseline.roundMeans))}/op, ` +
          `${fmtRatio(base)} baseline, ${fmtRatio(median(vsFresh))} fresh (setup ${(cell.setup.ms / 1000).toFixed(2)} s)${incomplete ? `; ${incomplete}` : ''}`,
      );
      const extra = {
        matrix: { history: hx.key, label: hx.label, size },
        setup: cell.setup,
        batch: cell.batch,
        rss: cell.rss,
        sdk: cell.sdk,
        vsFreshNormalised,
        ...(incomplete ? { incomplete } : {}),
      };
      const common = { case: CASE, unit: 'ns/op', kind: 'time', incomplete, extra };
      const ours = { name: `allocate(${fmtBytes(size)}) + free, ${hx.label}`, summary: cell.ours.summary };
      if (hx !== freshAgain) {
        rows.push(
          makeRow({
            ...common,
            id: `history-${hx.key}-${size}-vs-allocUnsafeSlow`,
            what: `allocate+free ${fmtBytes(size)} ${hx.label}, vs Buffer.allocUnsafeSlow`,
            ours,
            baseline: { name: `Buffer.allocUnsafeSlow(${fmtBytes(size)})`, summary: cell.baseline.summary },
            ratios: cell.ratios,
            target: { op: '<=', value: baselineTarget(size) },
            note:
              `fresh child process; ${cell.ratios.length} interleaved rounds of ${cell.batch}-op batches; default options (zeroed memory) vs allocUnsafeSlow (not zeroed, freed by GC, GC time included)` +
              (incomplete ? `; ${incomplete}` : ''),
          }),
        );
      }
      if (hx.key !== 'fresh') {
        rows.push(
          makeRow({
            ...common,
            id: `history-${hx.key}-${size}-vs-fresh`,
            what: `allocate+free ${fmtBytes(size)} ${hx.label}, vs the fresh process`,
            ours,
            baseline: { name: `allocate(${fmtBytes(size)}) + free, fresh process`, summary: fresh.ours.summary },
            ratios: vsFresh,
            target: hx === freshAgain ? null : { op: '<=', value: FRESH_TARGET },
            note:
              `round means of this cell over the fresh cell's median round mean (separate processes); normalised through each cell's baseline: ${fmtRatio(vsFreshNormalised)}` +
              (incomplete ? `; ${incomplete}` : ''),
          }),
        );
      }
    }
  }
  const judged = rows.filter((r) => r.target);
  ctx.log(`[${CASE}] history × scale: ${judged.filter((r) => r.met).length} of ${judged.length} cell targets met`);
  return rows;
}

module.exports = { history };
