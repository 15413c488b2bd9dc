'use strict';
// Small statistics helpers: quantiles (linear interpolation, like numpy's
// default), median absolute deviation, and a summary object used in every
// result row.

function sorted(xs) {
  return Float64Array.from(xs).sort();
}

/** q-quantile (0..1) of an already sorted array. */
function quantileSorted(s, q) {
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

function quantile(xs, q) {
  return quantileSorted(sorted(xs), q);
}

function median(xs) {
  return quantile(xs, 0.5);
}

/** Median absolute deviation (unscaled). */
function mad(xs) {
  const m = median(xs);
  return median(Array.from(xs, (x) => Math.abs(x - m)));
}

/** { median, p25, p75, mad, min, max, n } of samples. */
function summarize(xs) {
  const s = sorted(xs);
  const m = quantileSorted(s, 0.5);
  let total = 0;
  for (let i = 0; i < s.length; i++) total += s[i];
  return {
    median: m,
    mean: s.length ? total / s.length : NaN,
    p25: quantileSorted(s, 0.25),
    p75: quantileSorted(s, 0.75),
    mad: median(Array.from(s, (x) => Math.abs(x - m))),
    min: s.length ? s[0] : NaN,
    max: s.length ? s[s.length - 1] : NaN,
    n: s.length,
  };
}

/** Round a summary's numbers to `digits` significant digits (for JSON). */
function roundSummary(sum, digits = 4) {
  const out = {};
  for (const [k, v] of Object.entries(sum)) out[k] = typeof v === 'number' && k !== 'n' ? sig(v, digits) : v;
  return out;
}

function sig(v, digits = 4) {
  if (!Number.isFinite(v) || v === 0) return v;
  return Number(v.toPrecision(digits));
}

module.exports = { quantile, median, mad, summarize, roundSummary, sig };
