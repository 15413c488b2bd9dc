'use strict';
// Case 6: `hmsdk stats` wall time vs `node -e 0` (and numastat -m). async (ctx) -> rows; ctx = { h, quick, log, root, node }.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { makeRow, skippedRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');
const { fmtMs } = require('../lib/fmt');

function hasCommand(cmd) {
  return (process.env.PATH || '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, cmd)));
}

async function statsCli(ctx) {
  const runs = ctx.quick ? 3 : 15;
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_OPTIONS;
  const cmds = [
    { key: 'stats', name: 'node bin/hmsdk.js stats', argv: [process.execPath, path.join(ctx.root, 'bin', 'hmsdk.js'), 'stats'] },
    { key: 'node', name: 'node -e 0', argv: [process.execPath, '-e', '0'] },
  ];
  const numastat = hasCommand('numastat');
  if (numastat) cmds.push({ key: 'numastat', name: 'numastat -m', argv: ['numastat', '-m'] });
  ctx.log(`[6] wall time of ${cmds.map((c) => c.name).join(' / ')}, ${runs} runs each, rotating order`);
  const t = Object.fromEntries(cmds.map((c) => [c.key, []]));
  const once = (c) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(c.argv[0], c.argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: ctx.root });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${c.name} exited ${r.status ?? r.signal}: ${String(r.stderr).slice(0, 500)}`);
    return ms;
  };
  for (const c of cmds) once(c); // warm the page cache
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < cmds.length; i++) {
      const c = cmds[(i + r) % cmds.length];
      t[c.key].push(once(c));
    }
  }
  const sum = Object.fromEntries(cmds.map((c) => [c.key, summarize(t[c.key])]));
  for (const c of cmds) ctx.log(`[6] ${c.name}: median ${fmtMs(sum[c.key].median)} (p25 ${fmtMs(sum[c.key].p25)}, p75 ${fmtMs(sum[c.key].p75)})`);
  const rows = [
    makeRow({
      id: 'stats-cli-vs-node',
      case: 6,
      what: '`hmsdk stats` wall time vs `node -e 0`',
      unit: 'ms',
      ours: { name: cmds[0].name, summary: sum.stats },
      baseline: { name: cmds[1].name, summary: sum.node },
      ratios: t.stats.map((x, i) => x / t.node[i]),
      kind: 'time',
      target: { op: '<=', value: 1.5 },
      note: `spawnSync wall time, ${runs} runs each, order rotated every run`,
    }),
  ];
  if (numastat) {
    rows.push(
      makeRow({
        id: 'stats-cli-vs-numastat',
        case: 6,
        what: '`hmsdk stats` wall time vs `numastat -m` (reference)',
        unit: 'ms',
        ours: { name: cmds[0].name, summary: sum.stats },
        baseline: { name: cmds[2].name, summary: sum.numastat },
        ratios: t.stats.map((x, i) => x / t.numastat[i]),
        kind: 'time',
        target: null,
        note: 'reference only (a C program vs a Node process): no target',
      }),
    );
  } else {
    rows.push(skippedRow({ id: 'stats-cli-vs-numastat', case: 6, what: '`numastat -m` (reference)', note: 'numastat not installed (numactl package)' }));
  }
  return rows;
}

module.exports = { statsCli };
