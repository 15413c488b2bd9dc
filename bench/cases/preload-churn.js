'use strict';
// Case 13 — preload churn: the CPU cost of running an unmodified program
// whose large blocks churn (bench/preload-churn.c: 64 blocks live, each step
// frees one and mallocs 64 KiB..4 MiB, one byte written per page, fixed
// seed) under
//   glibc    no preload (the baseline);
//   hmsdk    the environment `node bin/hmsdk.js run --nodes <first DRAM node>
//            --min-size 64KiB` gives the program (bench/lib/preload-env.js:
//            hmsdk run execs in place, and its Node start-up must not count
//            as the program's CPU), so every block is a placed allocation;
//   memtier  memkind's libmemtier.so (Debian libmemkind0; installed from
//            here when missing and running as root, full runs only) with
//            MEMKIND_MEM_TIERS='KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO', the
//            DRAM-only tiering setup that works on a one-node machine:
//            another interposer that places every block.
// CPU time = user + sys from the program's own getrusage at the end of main
// (the preload's constructor and all allocation work count). Repetitions rotate the order of the three; ratios are per
// repetition against that repetition's glibc run. The hmsdk runs must show
// the preload placed blocks (its --stats-file), the memtier runs must print
// memtier's "loaded" line, and every run must print the same checksum.
// Target: hmsdk ≤ 1.0× glibc CPU.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { findMemtier } = require('../lib/memtier');
const { preloadEnv } = require('../lib/preload-env');
const { makeRow, skippedRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');
const { fmtMs, fmtRatio } = require('../lib/fmt');

const CASE = 13;
const MEMTIER_TIERS = 'KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO';

function parseRun(name, r) {
  if (r.status !== 0) throw new Error(`${name}: preload-churn exited ${r.status ?? r.signal}: ${String(r.stderr).slice(-1000)}`);
  const m = /cpu_user_ns=(\d+) cpu_sys_ns=(\d+) wall_ns=(\d+) minflt=(\d+) checksum=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`${name}: unexpected output: ${r.stdout} ${r.stderr}`);
  return { cpuMs: (Number(m[1]) + Number(m[2])) / 1e6, userMs: Number(m[1]) / 1e6, sysMs: Number(m[2]) / 1e6, wallMs: Number(m[3]) / 1e6, minflt: Number(m[4]), checksum: m[5] };
}

async function preloadChurn(ctx) {
  const iterations = ctx.quick ? 100 : 2000;
  const reps = ctx.quick ? 2 : 5;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-churn-'));
  try {
    const exe = path.join(dir, 'preload-churn');
    execFileSync('cc', ['-O2', '-Wall', '-o', exe, path.join(ctx.root, 'bench', 'preload-churn.c')], { stdio: ['ignore', 2, 2] });
    const argv = [String(iterations), '88172645463325252'];
    const env = { ...process.env };
    for (const k of ['LD_PRELOAD', 'HMSDK_CONF', 'NODE_OPTIONS']) delete env[k];
    const memtier = findMemtier(ctx, CASE);
    const variants = {
      glibc: () => parseRun('glibc', spawnSync(exe, argv, { env, encoding: 'utf8' })),
      hmsdk: (rep) => {
        const statsFile = path.join(dir, `stats-${rep}.%p`);
        const preload = preloadEnv(ctx.root, ['--nodes', String(ctx.node), '--min-size', '64KiB', '--stats-file', statsFile]);
        const d = parseRun('hmsdk run', spawnSync(exe, argv, { env: { ...env, ...preload }, encoding: 'utf8', cwd: ctx.root }));
        const prefix = path.basename(statsFile).replace('%p', '');
        const stats = fs.readdirSync(dir).filter((f) => f.startsWith(prefix)).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
        const placed = stats.map((s) => Number((/placed_count=(\d+)/.exec(s) || [])[1] || 0)).reduce((a, b) => a + b, 0);
        if (placed < iterations) throw new Error(`hmsdk run: the preload placed ${placed} blocks, expected >= ${iterations} (stats: ${stats.join(' | ')})`);
        return { ...d, placed };
      },
    };
    if (memtier) {
      variants.memtier = () => {
        const r = spawnSync(exe, argv, { env: { ...env, LD_PRELOAD: memtier, MEMKIND_MEM_TIERS: MEMTIER_TIERS, MEMKIND_MEM_TIERING_LOG_LEVEL: '1' }, encoding: 'utf8' });
        if (!/memtier lib loaded/.test(r.stderr)) throw new Error(`memtier: ${memtier} did not report being loaded: ${String(r.stderr).slice(-500)}`);
        return parseRun('memtier', r);
      };
    }
    const keys = Object.keys(variants);
    ctx.log(`[${CASE}] preload churn (${iterations.toLocaleString('en')} × malloc 64 KiB..4 MiB + 1 write per page + free, 64 live): ${keys.join(' / ')}, ${reps} reps, rotating order`);
    const runs = Object.fromEntries(keys.map((k) => [k, []]));
    for (const k of keys) variants[k]('warm'); // page cache, the CLI's first start
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < keys.length; i++) {
        const k = keys[(i + r) % keys.length];
        runs[k].push(variants[k](r));
      }
      ctx.log(`[${CASE}] rep ${r + 1}/${reps}: ${keys.map((k) => `${k} ${fmtMs(runs[k][r].cpuMs)} cpu (${runs[k][r].minflt} faults)`).join(', ')}`);
    }
    const checksums = new Set(keys.flatMap((k) => runs[k].map((d) => d.checksum)));
    if (checksums.size !== 1) throw new Error(`preload-churn checksums differ between runs: ${[...checksums].join(', ')}`);
    const sum = (k, f) => summarize(runs[k].map((d) => d[f]));
    const row = (k, target, note) =>
      makeRow({
        id: `churn-${k}-vs-glibc-cpu`,
        case: CASE,
        what: `large-block churn (C, ${iterations.toLocaleString('en')} steps of 64 KiB..4 MiB) CPU time under ${k === 'hmsdk' ? '`hmsdk run --min-size 64KiB`' : 'memkind memtier (DRAM only)'} vs plain glibc`,
        unit: 'ms',
        ours: { name: `${k} user+sys`, summary: sum(k, 'cpuMs') },
        baseline: { name: 'glibc user+sys', summary: sum('glibc', 'cpuMs') },
        ratios: runs[k].map((d, i) => d.cpuMs / runs.glibc[i].cpuMs),
        kind: 'time',
        target,
        note:
          `${note}; wall ${fmtMs(sum(k, 'wallMs').median)} vs ${fmtMs(sum('glibc', 'wallMs').median)}, minor faults ${sum(k, 'minflt').median} vs ${sum('glibc', 'minflt').median}, ` +
          `sys ${fmtMs(sum(k, 'sysMs').median)} vs ${fmtMs(sum('glibc', 'sysMs').median)} (medians)`,
        extra: { iterations, runs: runs[k], glibc: runs.glibc },
      });
    const rows = [row('hmsdk', { op: '<=', value: 1 }, `every block placed by the preload (bind to node ${ctx.node}; placed ${runs.hmsdk[0].placed} per run)`)];
    if (memtier) rows.push(row('memtier', null, `reference: ${memtier}, MEMKIND_MEM_TIERS='${MEMTIER_TIERS}'`));
    else {
      rows.push(
        skippedRow({
          id: 'churn-memtier-vs-glibc-cpu',
          case: CASE,
          what: 'large-block churn CPU time under memkind memtier vs plain glibc',
          kind: 'time',
          note: `libmemtier.so not found (Debian package libmemkind0${ctx.quick ? '; quick mode does not install it' : '; install it as root'})`,
        }),
      );
    }
    for (const r of rows) if (r.ratio) ctx.log(`[${CASE}] ${r.id}: ${fmtRatio(r.ratio.value)} (${fmtRatio(r.ratio.p25)}–${fmtRatio(r.ratio.p75)})`);
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { preloadChurn };
