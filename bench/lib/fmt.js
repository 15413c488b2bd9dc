'use strict';
// Number formatting for progress lines and the Markdown table.

function fmtNs(ns) {
  if (!Number.isFinite(ns)) return String(ns);
  if (ns < 1e3) return `${ns.toFixed(ns < 100 ? 1 : 0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

function fmtMs(ms) {
  return fmtNs(ms * 1e6);
}

function fmtBytes(b) {
  if (b >= 2 ** 30 && b % 2 ** 30 === 0) return `${b / 2 ** 30} GiB`;
  if (b >= 2 ** 20 && b % 2 ** 20 === 0) return `${b / 2 ** 20} MiB`;
  if (b >= 1024 && b % 1024 === 0) return `${b / 1024} KiB`;
  return `${b} B`;
}

function fmtMiB(b) {
  return `${(b / 2 ** 20).toFixed(1)} MiB`;
}

/** Format a value in a row's unit. */
function fmtUnit(v, unit) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  switch (unit) {
    case 'ns/op':
      return fmtNs(v);
    case 'ms':
      return fmtMs(v);
    case 'GB/s':
      return `${v.toFixed(2)} GB/s`;
    case 'MiB':
      return `${v.toFixed(1)} MiB`;
    case 'ops/s':
      return `${(v / 1e6).toFixed(2)} M ops/s`;
    case 'GB/s (model)':
      return `${(v / 1000).toFixed(1)} GB/s`;
    default:
      return `${v} ${unit}`;
  }
}

function fmtRatio(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;
}

module.exports = { fmtNs, fmtMs, fmtBytes, fmtMiB, fmtUnit, fmtRatio };
