#!/usr/bin/env node
// hmsdk performance suite (`npm run bench`). Every case runs its baseline in
// this same process, interleaved with ours, and reports median and spread
// (p25/p75, MAD) per task plus the ratio to the baseline against the issue's
// target. Progress goes to stderr; the Markdown table to stdout at the end
// (or the JSON document with --json). Results: <out>/<host>-<date>.json and
// <out>/latest.md (full runs; quick / partial / VM runs get their own names).
//
// usage: node bench/run.js [--quick] [--only NAME[,NAME]] [--json] [--out DIR] [--vm]
//                          [--no-gib-history] [--held-limit SEC]
//
// cases (--only accepts the name or the number):
//   1 smalloc       s_malloc/s_free 64 B..4 KiB vs Buffer.allocUnsafeSlow
//   2 arena         arena.alloc(16..256) vs Buffer.allocUnsafe
//   3 large         allocate/free 64 KiB..1 MiB vs Buffer.allocUnsafeSlow
//   4 populate      allocate(1 GiB, { populate: true }) vs Buffer.alloc + touch every page
//   5 stream        JS read/write loops over a 64 MiB Float64Array, SDK vs plain
//   6 stats         `hmsdk stats` wall time vs `node -e 0` (and numastat -m)
//   7 rss           RSS across 1M allocate/free cycles
//   8 weighted      weighted interleave (kernel + stripe paths) vs MPOL_INTERLEAVE (>= 2 nodes: --vm)
//   9 model         policy-engine bandwidth model per preset (HMAT model, not measured)
// constant cost at any size of heap and any history (`--only history` runs 10-14;
// they use the public package only, bench/cases/):
//  10 matrix        allocate+free 4 KiB..16 MiB after each history / with 0..10k held
//                   buffers, one fresh process per cell, vs allocUnsafeSlow and vs fresh
//  11 held          build 10,000 held 256 KiB buffers: allocate vs allocUnsafeSlow
//  12 interference  worker A's 1 KiB allocate+free rate while worker B churns 1..8 MiB
//  13 churn         C program churning 64 KiB..4 MiB blocks: CPU under `hmsdk run` and
//                   memkind memtier vs plain glibc (installs libmemkind0 as root)
//  14 loop-rss      RSS over 1M s_malloc+s_free in one synchronous loop, and after yielding
// whole programs (needs an EXMEM node: --vm):
//  15 programs      node, python3, sqlite3, redis-server, memcached, an mmap user: CPU, peak
//                   RSS and share on EXMEM under `hmsdk run` vs numactl --membind vs memtier
// sharing between processes:
//  16 store         get() of a sealed 256 MiB store object made by another process vs a
//                   pipe from it and a worker's postMessage copy; bytes copied
//  17 pool-trace    TieredPool trace replay (zipf, shifting hot set, scan, HTTP cache):
//                   DRAM-hit share vs the offline optimum, the old pool and static placement
//  18 tier          hmsdk tier's cost: a hot-set program's throughput with the controller
//                   attached vs alone; the controller's CPU per pass per GiB
//
// --quick            tiny iteration counts: checks that every case runs (schema only)
// --no-gib-history   case 10 without the "1 GiB of 4 KiB blocks live once" history
//                    (needs ~1.3 GiB of memory per cell)
// --held-limit SEC   time limit of each case 11 run and of the case in total (default 20);
//                    a run stopped at the limit reports the extrapolated time
//
// --vm runs cases 8 and 15 inside `hmsdk emulate --kernel 6.12` (cxl-expander
// preset) and copies their JSON into the results directory (--only picks
// some of them).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const CASES = ['smalloc', 'arena', 'large', 'populate', 'stream', 'stats', 'rss', 'weighted', 'model', 'matrix', 'held', 'interference', 'churn', 'loop-rss', 'programs', 'store', 'pool-trace', 'tier'];
/* Cases that need two tiers: run by --vm inside the emulator. */
const VM_CASES = ['weighted', 'programs'];
/* --only names that stand for several cases. */
const GROUPS = { history: ['matrix', 'held', 'interference', 'churn', 'loop-rss'] };
const SCHEMA = 'hmsdk-bench/1';

const log = (m) => process.stderr.write(`bench: ${m}\n`);

function usage(code, msg) {
  if (msg) process.stderr.write(`bench: ${msg}\n`);
  const src = fs.readFileSync(__filename, 'utf8').split('\n');
  const end = src.findIndex((l) => l.startsWith("'use strict'"));
  process.stderr.write(`${src.slice(1, end).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(code);
}

function parse(argv) {
  const o = { quick: false, json: false, vm: false, only: null, onlyTag: null, out: null, kernel: '6.12', noGibHistory: false, heldLimitSec: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) usage(2, `${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--json') o.json = true;
    else if (a === '--vm') o.vm = true;
    else if (a === '--only') o.only = val();
    else if (a.startsWith('--only=')) o.only = a.slice(7);
    else if (a === '--out') o.out = val();
    else if (a.startsWith('--out=')) o.out = a.slice(6);
    else if (a === '--kernel') o.kernel = val();
    else if (a === '--no-gib-history') o.noGibHistory = true;
    else if (a === '--held-limit' || a.startsWith('--held-limit=')) {
      o.heldLimitSec = Number(a.includes('=') ? a.slice(13) : val());
      if (!(o.heldLimitSec > 0)) usage(2, '--held-limit needs a positive number of seconds');
    }
    else if (a === '-h' || a === '--help') usage(0);
    else usage(2, `unknown argument '${a}'`);
  }
  if (o.only !== null) {
    const names = o.only.split(',').map((s) => s.trim()).filter(Boolean);
    o.onlyTag = names.join('+');
    o.only = [
      ...new Set(
        names.flatMap((n) => {
          if (GROUPS[n]) return GROUPS[n];
          const name = /^\d+$/.test(n) ? CASES[Number(n) - 1] : n;
          if (!CASES.includes(name)) usage(2, `--only: unknown case '${n}' (cases: ${CASES.join(', ')} or 1..${CASES.length}; groups: ${Object.keys(GROUPS).join(', ')})`);
          return [name];
        }),
      ),
    ];
  }
  return o;
}

const opts = parse(process.argv.slice(2));

// The suite needs global.gc (case 4 frees Buffer.alloc'd memory, case 7
// settles finalizers): re-run this script with --expose-gc if it is missing.
if (!opts.vm && typeof global.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const emulated = process.env.HMSDK_EMULATE === '1';
const host = os.hostname().split('.')[0].replace(/[^\w-]/g, '') || 'host';
const date = new Date().toISOString().slice(0, 10);

function outDir() {
  if (opts.out) return path.resolve(opts.out);
  if (emulated && process.env.HMSDK_EMULATE_OUT) return process.env.HMSDK_EMULATE_OUT; // the host fs is read-only in the VM
  return path.join(root, 'bench', 'results');
}

function tag() {
  const parts = [];
  if (emulated) parts.push(`vm-${process.env.HMSDK_EMULATE_KERNEL || 'unknown'}`);
  if (opts.quick) parts.push('quick');
  if (opts.only) parts.push(opts.onlyTag);
  return parts.join('-');
}

function newestVmResult(dir) {
  if (!fs.existsSync(dir)) return undefined;
  const files = fs
    .readdirSync(dir)
    .filter((f) => /-vm-[\w.]+(-weighted)?\.json$/.test(f) && !f.includes('quick'))
    .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  if (!files.length) return undefined;
  try {
    const doc = JSON.parse(fs.readFileSync(path.join(dir, files[0].f), 'utf8'));
    if (doc.schema !== SCHEMA) return undefined;
    return { file: files[0].f, date: doc.date, kernel: doc.env.emulateKernel, rows: doc.rows.filter((r) => VM_CASES.some((n) => CASES.indexOf(n) + 1 === r.case)) };
  } catch {
    return undefined;
  }
}

function write(doc, vm) {
  const { markdown } = require('./lib/report');
  const dir = outDir();
  fs.mkdirSync(dir, { recursive: true });
  const t = tag();
  const jsonFile = path.join(dir, `${host}-${date}${t ? `-${t}` : ''}.json`);
  const mdFile = path.join(dir, t ? `latest-${t}.md` : 'latest.md');
  const md = markdown(doc, { vm });
  fs.writeFileSync(jsonFile, `${JSON.stringify(doc, null, 2)}\n`);
  fs.writeFileSync(mdFile, `${md}\n`);
  log(`wrote ${path.relative(process.cwd(), jsonFile) || jsonFile} and ${path.relative(process.cwd(), mdFile) || mdFile}`);
  return md;
}

// ------------------------------------------------------------------ --vm
function runVm() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-bench-vm-'));
  const preset = 'cxl-expander';
  const args = [
    path.join(root, 'bin', 'hmsdk.js'),
    'emulate',
    '--topology',
    preset,
    '--kernel',
    opts.kernel,
    '--out',
    tmp,
    '--timeout',
    '3600', // case 15 runs six real programs three ways under TCG
    '--',
    'node',
    path.join(root, 'bench', 'run.js'),
    '--only',
    (opts.only ?? VM_CASES).join(','),
    ...(opts.quick ? ['--quick'] : []),
  ];
  log(`starting the VM (${preset}, Linux ${opts.kernel}; QEMU TCG, 1-2 min): node ${args.join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 2, 'inherit'] }); // the VM's output (its progress lines) to our stderr
  const vmOut = path.join(tmp, preset, opts.kernel);
  const files = fs.existsSync(vmOut) ? fs.readdirSync(vmOut).filter((f) => f.endsWith('.json')) : [];
  if (r.status !== 0 || files.length === 0) {
    log(`the VM run failed (exit ${r.status ?? r.signal}; ${files.length} result file(s) in ${vmOut})`);
    process.exit(1);
  }
  const doc = JSON.parse(fs.readFileSync(path.join(vmOut, files[0]), 'utf8'));
  const dir = outDir();
  fs.mkdirSync(dir, { recursive: true });
  const dest = path.join(dir, `${host}-${date}-vm-${opts.kernel}${opts.quick ? '-quick' : ''}.json`);
  fs.writeFileSync(dest, `${JSON.stringify({ ...doc, copiedFrom: `VM ${preset} ${opts.kernel}` }, null, 2)}\n`);
  fs.rmSync(tmp, { recursive: true, force: true });
  log(`copied the VM results to ${path.relative(process.cwd(), dest)}`);
  if (opts.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else process.stdout.write(`${require('./lib/report').rowsTable(doc.rows)}\n`);
}

// ------------------------------------------------------------------ main
async function main() {
  if (opts.vm) return runVm();
  const started = Date.now();
  const h = require(root);
  const topo = h.readTopology();
  // Environment facts from the public API only.
  const probe = h.allocate(1);
  const info = { pageSize: h.where(probe).pageSize, weightedInterleave: topo.weightedInterleave.available };
  h.free(probe);
  const ctx = {
    h,
    root,
    quick: opts.quick,
    node: topo.normalNodes[0] ?? topo.nodes[0].id,
    log,
    flags: { noGibHistory: opts.noGibHistory, heldLimitSec: opts.heldLimitSec },
  };
  const impl = {
    smalloc: require('./cases/smalloc').smalloc,
    arena: require('./cases/arena').arena,
    large: require('./cases/large').large,
    populate: require('./cases/populate').populate,
    stream: require('./cases/stream').stream,
    stats: require('./cases/stats-cli').statsCli,
    rss: require('./cases/rss').rssCase,
    settle: require('./lib/common').settle,
    weighted: require('./cases/weighted').weighted,
    model: require('./cases/model').model,
    matrix: require('./cases/history').history,
    held: require('./cases/held').held,
    interference: require('./cases/interference').interference,
    churn: require('./cases/preload-churn').preloadChurn,
    'loop-rss': require('./cases/loop-rss').loopRss,
    programs: require('./cases/programs').programs,
    store: require('./cases/store').storeCase,
    'pool-trace': require('./cases/pool-trace').poolTrace,
    tier: require('./cases/tier').tierCase,
  };
  const run = opts.only ?? CASES;
  log(`${opts.quick ? 'QUICK mode, ' : ''}cases: ${run.join(', ')}; node ${process.version}, ${os.cpus().length} CPUs, memory nodes ${topo.nodes.map((n) => n.id).join(',')}`);
  const rows = [];
  let model = [];
  let failed = 0;
  for (const name of run) {
    const t0 = Date.now();
    const caseNo = CASES.indexOf(name) + 1;
    try {
      if (name === 'model') model = await impl.model(ctx);
      else rows.push(...(await impl[name](ctx)));
    } catch (err) {
      failed++;
      log(`[${caseNo}] ${name} FAILED: ${err && err.stack ? err.stack : err}`);
      rows.push({ id: `${name}-error`, case: caseNo, what: name, unit: null, ours: null, baseline: null, ratio: null, kind: null, target: null, met: null, status: 'error', vsTarget: null, note: String(err && err.message ? err.message : err) });
    }
    log(`[${caseNo}] ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await impl.settle(2);
  }
  const doc = {
    schema: SCHEMA,
    host,
    date,
    timestamp: new Date().toISOString(),
    quick: opts.quick,
    only: opts.only,
    durationSec: Number(((Date.now() - started) / 1000).toFixed(1)),
    env: {
      node: process.version,
      v8: process.versions.v8,
      kernel: os.release(),
      arch: process.arch,
      cpus: os.cpus().length,
      cpuModel: (os.cpus()[0] || {}).model || '',
      totalMemBytes: os.totalmem(),
      memNodes: topo.nodes.length,
      nodes: topo.nodes.map((n) => ({ id: n.id, type: n.type, cpus: n.cpus.length, memTotal: n.memTotal })),
      pageSize: info.pageSize,
      weightedInterleave: info.weightedInterleave,
      emulated,
      emulateKernel: emulated ? process.env.HMSDK_EMULATE_KERNEL || null : null,
      loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    },
    method:
      'per-op cases: tinybench, one sample = mean of a batch of ops (overriddenDuration), ours and baselines in the same Bench, ' +
      'interleaved rounds with alternating order; ratio = median over rounds of the per-round ratio of mean time per op (GC work amortised; p25/p75 over rounds). ' +
      'Other cases: alternating repetitions, ratio per pair.',
    rows,
    model,
  };
  const vm = !emulated && !opts.only && !opts.quick ? newestVmResult(outDir()) : undefined;
  if (vm) doc.vm = vm;
  const md = write(doc, vm);
  if (opts.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else process.stdout.write(`\n${md}\n`);
  const summary = rows.reduce((acc, r) => ((acc[r.status] = (acc[r.status] || 0) + 1), acc), {});
  log(`done in ${doc.durationSec} s: ${Object.entries(summary).map(([k, v]) => `${v} ${k}`).join(', ')}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code ?? 0;
  },
  (err) => {
    log(`internal error: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 1;
  },
);
