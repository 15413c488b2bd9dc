'use strict';
// The Markdown summary (bench/results/latest.md and the end of the run).
const { fmtBytes, fmtUnit, fmtRatio } = require('./fmt');

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

/* Case 10 rows carry extra.matrix = { history, label, size }: shown as matrices, not as 85 table rows. */
const isMatrix = (r) => Boolean(r.extra && r.extra.matrix);

function matrixCell(r, withNormalised) {
  if (!r) return 'reference';
  const text =
    `${fmtRatio(r.ratio.value)} (${fmtRatio(r.ratio.p25)}–${fmtRatio(r.ratio.p75)})` +
    `${withNormalised ? `; ${fmtRatio(r.extra.vsFreshNormalised)} via baseline` : ''}${r.extra.incomplete ? ' †' : ''}`;
  return r.met === false ? `**${text} ✗**` : text;
}

/** Two history × size tables of case 10: ours vs the baseline, ours vs the fresh cell. */
function matrixTables(rows) {
  const cells = rows.filter(isMatrix);
  const sizes = [...new Set(cells.map((r) => r.extra.matrix.size))];
  const histories = [...new Map(cells.map((r) => [r.extra.matrix.history, r.extra.matrix.label])).entries()];
  const find = (h, size, suffix) => cells.find((r) => r.extra.matrix.history === h && r.extra.matrix.size === size && r.id.endsWith(suffix));
  const header = `| history | ${sizes.map((s) => fmtBytes(s)).join(' | ')} |\n|---|${sizes.map(() => '---|').join('')}`;
  const table = (suffix) =>
    [
      header,
      ...histories.map(([h, label]) => {
        const cols = sizes.map((s) => {
          const r = find(h, s, suffix);
          if (suffix === '-vs-fresh') return matrixCell(r, true);
          return r ? `${fmtUnit(r.ours.mean, r.unit)}/op; ${matrixCell(r, false)}` : '–';
        });
        return `| ${esc(label)} | ${cols.join(' | ')} |`;
      }),
    ].join('\n');
  const judged = cells.filter((r) => r.target);
  const incomplete = cells.filter((r) => r.extra.incomplete);
  return [
    `Case 10 — history × scale: allocate(size) + free, default options, one fresh process per cell; ${judged.filter((r) => r.met).length} of ${judged.length} cell targets met ` +
      '(**bold ✗** = missed; † = the history could not be built within the setup time limit, missed whatever the ratio).',
    '',
    'Ours (mean per op) and ours / Buffer.allocUnsafeSlow in the same process, median (p25–p75) over interleaved rounds; target ≤ 2× at 4 KiB, ≤ 1.5× from 64 KiB up:',
    '',
    table('-vs-allocUnsafeSlow'),
    '',
    "Ours / ours in the fresh process of the same size: this cell's round means over the fresh cell's median, median (p25–p75); separate processes, so machine load does not cancel " +
      "(the last row repeats the fresh cell: the noise floor). \"via baseline\": the same ratio taken through each cell's own Buffer.allocUnsafeSlow ratio, which cancels load but moves if a history slows the baseline too. Target ≤ 1.5× (on the first figure):",
    '',
    table('-vs-fresh'),
    ...(incomplete.length ? ['', ...[...new Set(incomplete.map((r) => `- ${r.extra.matrix.label}, ${fmtBytes(r.extra.matrix.size)}: ${r.extra.incomplete}`))]] : []),
  ].join('\n');
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
  const flat = doc.rows.filter((r) => !isMatrix(r));
  if (flat.length) {
    out.push(rowsTable(flat));
    out.push('');
  }
  if (doc.rows.some(isMatrix)) {
    out.push(matrixTables(doc.rows));
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
  const noted = [...flat, ...((vm && vm.rows) || [])].filter((r) => r.status === 'missed' || r.status === 'skipped');
  if (noted.length) {
    out.push('Notes on missed / skipped rows:');
    out.push('');
    for (const r of noted) out.push(`- ${esc(r.what)} — ${r.note}`);
    out.push('');
  }
  return out.join('\n');
}

module.exports = { markdown, rowsTable, modelTable };
