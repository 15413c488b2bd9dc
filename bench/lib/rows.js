'use strict';
// Result rows: one comparison (ours vs one baseline) with its ratio, target
// and verdict, in the shape written to the JSON file and the Markdown table.
const { quantile, roundSummary, sig } = require('./stats');

/**
 * Ratio kinds:
 *  time       ours / baseline time        (lower is better, target "<=")
 *  speedup    baseline / ours time        (higher is better, target ">=")
 *  throughput ours / baseline throughput  (higher is better, target ">=")
 *  growth     after / before              (lower is better, target "<=")
 *  budget     measured / allowed amount   (lower is better, target "<=")
 *  share      ours / optimum share         (higher is better, target ">=")
 */
const RATIO_DEFS = {
  time: 'ours / baseline time per op',
  speedup: 'baseline / ours time per op (speed-up)',
  throughput: 'ours / baseline throughput',
  growth: 'RSS after / RSS before',
  budget: 'measured / budget',
  share: 'ours / offline optimum DRAM-hit share',
};

/**
 * @param o.id        stable id (group-size-baseline)
 * @param o.case      case number 1..14 (bench/run.js --help)
 * @param o.what      short description of the operation
 * @param o.unit      unit of ours/baseline summaries
 * @param o.ours      { name, summary }
 * @param o.baseline  { name, summary } | null
 * @param o.ratios    per-round (paired) ratios; their median is the ratio
 * @param o.kind      key of RATIO_DEFS
 * @param o.target    { op: '<=' | '>=', value } | null (report only)
 * @param o.note      explanation (why missed, what was measured)
 * @param o.incomplete  reason the measured situation could not be fully set
 *                    up (e.g. a history that hit its time limit): the row is
 *                    "missed" whatever its ratio
 */
function makeRow(o) {
  const ratios = (o.ratios || []).filter((r) => Number.isFinite(r));
  const ratio = ratios.length
    ? {
        value: sig(quantile(ratios, 0.5)),
        p25: sig(quantile(ratios, 0.25)),
        p75: sig(quantile(ratios, 0.75)),
        n: ratios.length,
        definition: RATIO_DEFS[o.kind],
      }
    : null;
  let met = null;
  let status = o.status || 'info';
  if (o.target && ratio) {
    met = o.target.op === '<=' ? ratio.value <= o.target.value : ratio.value >= o.target.value;
    status = met ? 'met' : 'missed';
  }
  if (o.incomplete && o.target) {
    met = false;
    status = 'missed';
  }
  return {
    id: o.id,
    case: o.case,
    what: o.what,
    unit: o.unit,
    ours: o.ours ? { name: o.ours.name, ...roundSummary(o.ours.summary) } : null,
    baseline: o.baseline ? { name: o.baseline.name, ...roundSummary(o.baseline.summary) } : null,
    ratio,
    kind: o.kind || null,
    target: o.target ? { op: o.target.op, value: o.target.value } : null,
    met,
    status,
    // how far from the target: ratio / target (>1 = worse for "<=", <1 = worse for ">=")
    vsTarget: o.target && ratio ? sig(ratio.value / o.target.value, 3) : null,
    note: o.note || '',
    ...(o.extra ? { extra: o.extra } : {}),
  };
}

/** A row for a case that did not run here (needs the VM, tool missing...). */
function skippedRow(o) {
  return makeRow({ ...o, ratios: [], status: 'skipped' });
}

module.exports = { makeRow, skippedRow, RATIO_DEFS };
