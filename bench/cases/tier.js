'use strict';
// Case 18 — what `hmsdk tier` costs the program it tiers, and itself. A
// program reading a hot set (test/preload/hotset.c: SIZE MiB written once,
// SIZE/8 MiB read over and over, under the preload with 2 MiB granules)
// runs alone and with the controller attached (`hmsdk tier --pid`, the
// page-table sampler: clear_refs + smaps every 1 s pass, 500 ms window),
// paired rounds in alternating order.
//
// Rows:
//  - the program's read throughput (hot-set passes per second) with the
//    controller / alone: clearing the accessed bits costs the program TLB
//    refills and the CPU's re-setting of the bits. Target >= 0.95.
//  - the controller's CPU time over the program's run time, per GiB of the
//    program's resident memory (a pass walks the page tables three times:
//    clear_refs, smaps, numa_maps; passes that move nothing back off to
//    8 s): budget 2.5% of one core per GiB.
// On this one-node host nothing moves between tiers (the controller is
// given the cxl-expander fixture's topology; pages already on node 0 stay
// there), so this is the monitoring cost; the moves are shown in the VM
// (test/numa/tier.test.ts). 
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { makeRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');

const CASE = 18;
const MiB = 2 ** 20;

function waitExit(child) {
  return new Promise((resolve) => child.once('exit', resolve));
}

/** One run of hotset, alone or with the controller attached once it is reading: passes/s and the controller's JSON line. */
async function runOnce(ctx, exe, env, sizeMiB, seconds, tiered) {
  const child = spawn(exe, [String(sizeMiB), String(sizeMiB / 8), '0', String(seconds)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  const exited = waitExit(child);
  while (!/ready /.test(out)) {
    if (child.exitCode !== null) throw new Error('hotset exited early');
    await new Promise((r) => setTimeout(r, 5));
  }
  const t0 = process.hrtime.bigint();
  let ctl;
  let err = '';
  if (tiered) {
    ctl = spawn(process.execPath, [path.join(ctx.root, 'bin', 'hmsdk.js'), 'tier', '--sys-root', path.join(ctx.root, 'test', 'fixtures', 'sysfs', 'cxl-expander'), '--monitor', 'sample', '--stats-json', '--pid', String(child.pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    ctl.stderr.on('data', (d) => (err += d.toString()));
  }
  await exited;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const passes = Number(/passes (\d+)/.exec(out)?.[1] ?? NaN);
  let tier;
  if (ctl) {
    await waitExit(ctl);
    const line = err.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`hmsdk tier printed no statistics: ${err}`);
    tier = JSON.parse(line).hmsdkTier;
  }
  return { pps: passes / secs, tier };
}

async function tierCase(ctx) {
  const sizes = ctx.quick ? [64] : [256, 1024];
  const seconds = ctx.quick ? 2 : 20;
  const rounds = ctx.quick ? 1 : 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-bench-tier-'));
  const exe = path.join(dir, 'hotset');
  execFileSync('cc', ['-O2', '-o', exe, path.join(ctx.root, 'test', 'preload', 'hotset.c')], { stdio: ['ignore', 2, 2] });
  const so = fs.existsSync(path.join(ctx.root, 'build', 'Release', 'hmsdk_preload.so')) ? path.join(ctx.root, 'build', 'Release', 'hmsdk_preload.so') : null;
  if (!so) throw new Error('no build/Release/hmsdk_preload.so: run npm run build');
  const env = { ...process.env, LD_PRELOAD: so, HMSDK_CONF: 'nodes=0,policy=preferred,expect=0,granule=2097152' };
  const rows = [];
  try {
    for (const size of sizes) {
      ctx.log(`[${CASE}] hotset ${size} MiB (hot ${size / 8} MiB), ${seconds} s, alone vs under hmsdk tier --pid (sampler), ${rounds} paired rounds`);
      const alone = [];
      const tiered = [];
      const cpuSharePerGiB = [];
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? [false, true] : [true, false];
        for (const t of order) {
          const x = await runOnce(ctx, exe, env, size, seconds, t);
          if (!t) alone.push(x.pps);
          else {
            tiered.push(x.pps);
            const gib = Math.max(x.tier.residentBytes, size * MiB) / 2 ** 30;
            cpuSharePerGiB.push((100 * x.tier.cpuSeconds) / x.tier.seconds / gib);
          }
        }
      }
      ctx.log(`[${CASE}] ${size} MiB: ${summarize(alone).median.toFixed(1)} passes/s alone, ${summarize(tiered).median.toFixed(1)} tiered; controller ${summarize(cpuSharePerGiB).median.toFixed(2)}% of a core per GiB`);
      rows.push(
        makeRow({
          case: CASE,
          id: `tier-overhead-${size}mib`,
          what: `a program reading ${size / 8} MiB of ${size} MiB: its throughput under hmsdk tier (sampler, 1..8 s passes) vs alone`,
          unit: 'passes/s',
          kind: 'throughput',
          ours: { name: 'with the controller attached', summary: summarize(tiered) },
          baseline: { name: 'alone (same preload, same granules)', summary: summarize(alone) },
          ratios: tiered.map((v, i) => v / alone[i]),
          target: { op: '>=', value: 0.95 },
          note: `${rounds} paired rounds of ${seconds} s, order alternating; one node here, so no page moves between tiers`,
        }),
      );
      rows.push(
        makeRow({
          case: CASE,
          id: `tier-controller-cpu-${size}mib`,
          what: `hmsdk tier's own CPU, % of one core per GiB of the program's resident memory (${size} MiB program, steady hot set)`,
          unit: '%',
          kind: 'budget',
          ours: { name: 'controller CPU share per GiB', summary: summarize(cpuSharePerGiB) },
          baseline: { name: 'budget', summary: summarize([2.5]) },
          ratios: cpuSharePerGiB.map((v) => v / 2.5),
          target: { op: '<=', value: 1 },
          note: `process.cpuUsage of the controller from its first pass to the program's exit (${seconds} s) / that time / GiB resident`,
        }),
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

module.exports = { tierCase };
