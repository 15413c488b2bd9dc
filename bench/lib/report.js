'use strict';
// The Markdown summary (bench/results/latest.md and the end of the run).
const { fmtUnit, fmtRatio } = require('./fmt');

const esc = (s) => String(s).replace(/\|/g, '\\|');

function ratioText(r) {
  if (!r.ratio) return '-';
  const v = fmtRatio(r.ratio.value);
  const spread = r.ratio.n > 1 ? ` (${fmtRatio(r.ratio.p25)}–${fmtRatio(r.ratio.p75)})` : '';
  return r.kind === 'speedup' ? `${v} faster${spread}` : `${v}${spread}`;
}

function targetText(r) {
  if (!r.target) return 'none (reference)';
  const op = r.target.op === '<=' ? '≤' : '≥';
  return `${op} ${r.target.value}×${r.kind === 'speedup' ? ' faster' : ''}`;
}

function metText(r) {
  if (r.status === 'skipped') return 'skipped';
  if (r.met === null) return 'n/a';
  if (r.met) return 'yes';
  const by = r.target.op === '<=' ? `${fmtRatio(r.ratio.value / r.target.value)} over` : `${fmtRatio(r.target.value / r.ratio.value)} short`;
  return `**NO** (${by})`;
}

function valueText(side, unit) {
  if (!side) return '-';
  const spread = side.n > 1 ? ` [${fmtUnit(side.p25, unit)}–${fmtUnit(side.p75, unit)}]` : '';
  const mean = unit === 'ns/op' && Number.isFinite(side.mean) ? `, mean ${fmtUnit(side.mean, unit)}` : '';
  return `${fmtUnit(side.median, unit)}${spread}${mean}`;
}

function rowsTable(rows) {
  const out = ['| # | what | ours (median [p25–p75]) | baseline | ratio (p25–p75) | target | met? |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    out.push(
      `| ${r.case} | ${esc(r.what)} | ${esc(valueText(r.ours, r.unit))} | ${r.baseline ? `${esc(r.baseline.name)}: ${esc(valueText(r.baseline, r.unit))}` : '-'} | ${ratioText(r)} | ${targetText(r)} | ${metText(r)} |`,
    );
  }
  return out.join('\n');
}

function modelTable(model) {
  const gb = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : `${(v / 1000).toFixed(1)}`);
  const out = [
    '| preset | topology from | initiator | DRAM only | 1:1 interleave | engine weights (nodes) | engine | gain over DRAM only |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const m of model) {
    const w = `${m.weights.join(':')} (${m.nodes.join(',')})${m.planSource === 'uniform' ? ' uniform: no HMAT' : ''}`;
    out.push(
      `| ${m.preset} | ${esc(m.source)} | ${m.initiator} | ${gb(m.dramOnlyMBps)} | ${gb(m.interleave11MBps)} | ${esc(w)} | ${gb(m.engineMBps)} | ${
        m.gainOverDramOnly === null ? '-' : fmtRatio(m.gainOverDramOnly)
      } |`,
    );
  }
  return out.join('\n');
}

function markdown(doc, { vm } = {}) {
  const out = [];
  out.push(`# hmsdk benchmarks — ${doc.host}, ${doc.date}${doc.quick ? ' (QUICK mode: tiny iteration counts, not for comparison)' : ''}`);
  out.push('');
  out.push(
    `Node ${doc.env.node}, Linux ${doc.env.kernel}, ${doc.env.cpus} CPUs, ${doc.env.memNodes} memory node(s)` +
      `${doc.env.emulated ? `, inside \`hmsdk emulate\` (QEMU TCG, kernel ${doc.env.emulateKernel})` : ''}. ` +
      'Baselines run in the same process, interleaved with ours; ratios are medians of per-round (paired) ratios, so machine load mostly cancels. ' +
      'Per-op rows (cases 1-3): tinybench samples are batch means; the columns show median [p25–p75] and mean per op; the ratio uses the per-round MEAN ' +
      '(total time / ops), so the GC work that baselines defer to the collector is charged to them.',
  );
  out.push('');
  if (doc.rows.length) {
    out.push(rowsTable(doc.rows));
    out.push('');
  }
  if (vm && vm.rows && vm.rows.length) {
    out.push(`Case 8 in the VM (${vm.file}: ${vm.date}, QEMU TCG, kernel ${vm.kernel}; both nodes are host RAM, so only the relative cost of the placement paths is meaningful):`);
    out.push('');
    out.push(rowsTable(vm.rows));
    out.push('');
  }
  if (doc.model && doc.model.length) {
    out.push('Case 9 — **HMAT model, not measured** (policy engine min-link model, workload `mixed` = min(read, write) bandwidth; GB/s = 1000 MB/s of the HMAT figures):');
    out.push('');
    out.push(modelTable(doc.model));
    out.push('');
  }
  const noted = [...doc.rows, ...((vm && vm.rows) || [])].filter((r) => r.status === 'missed' || r.status === 'skipped');
  if (noted.length) {
    out.push('Notes on missed / skipped rows:');
    out.push('');
    for (const r of noted) out.push(`- ${esc(r.what)} — ${r.note}`);
    out.push('');
  }
  return out.join('\n');
}

module.exports = { markdown, rowsTable, modelTable };
