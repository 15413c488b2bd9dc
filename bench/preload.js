#!/usr/bin/env node
// Small-allocation overhead of the hmsdk preload (build/Release/hmsdk_preload.so).
// Builds bench/preload-small.c with cc, then runs it alternately without and
// with LD_PRELOAD (placement active: HMSDK_CONF=nodes=<first memory node>,
// threshold=1M, so every 16..512 B request takes the pass-through path) and
// checks each preloaded run wrote its exit stats (the library was active);
// prints the median ns/op of each and their ratio. Target: ratio <= 1.10.
//
// usage: node bench/preload.js [--threads N] [--ops N] [--rounds N]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const threads = opt('threads', Math.max(1, os.cpus().length));
const ops = opt('ops', 5_000_000);
const rounds = opt('rounds', 7);

const so = process.env.HMSDK_PRELOAD_PATH || path.join(root, 'build', 'Release', 'hmsdk_preload.so');
if (!fs.existsSync(so)) {
  process.stderr.write(`bench/preload: ${so} is missing: build it with npm run build:native\n`);
  process.exit(1);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-bench-'));
const exe = path.join(dir, 'preload-small');
execFileSync('cc', ['-O2', '-pthread', '-o', exe, path.join(__dirname, 'preload-small.c')], { stdio: 'inherit' });

const hasMemory = fs.readFileSync('/sys/devices/system/node/has_memory', 'utf8').trim();
const firstNode = hasMemory.split(/[,-]/)[0];
const conf = `nodes=${firstNode},threshold=1M,stats=exit,stats_file=${path.join(dir, 'stats.%p')}`;

function once(preload) {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.HMSDK_CONF;
  if (preload) Object.assign(env, { LD_PRELOAD: so, HMSDK_CONF: conf });
  const r = spawnSync(exe, [String(threads), String(ops)], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`preload-small exited ${r.status ?? r.signal}: ${r.stderr}`);
  const m = /ns_per_op=([\d.]+) cpu_ns_per_op=([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`unexpected output: ${r.stdout}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = [];
const pre = [];
once(false); // warm up
for (let i = 0; i < rounds; i++) {
  base.push(once(false));
  pre.push(once(true));
}
// The preload must really have been active: each run wrote its exit stats.
const statFiles = fs.readdirSync(dir).filter((f) => f.startsWith('stats.'));
const active = statFiles.filter((f) => /^hmsdk-preload-stats .*policy=bind/.test(fs.readFileSync(path.join(dir, f), 'utf8')));
fs.rmSync(dir, { recursive: true, force: true });
if (active.length !== rounds) {
  process.stderr.write(`bench/preload: expected ${rounds} stats dumps from the preload, found ${active.length}\n`);
  process.exit(1);
}
console.log(`threads=${threads} ops/thread=${ops} rounds=${rounds} (malloc+free pairs, 16..512 B)`);
for (const k of ['cpu', 'wall']) {
  const b = median(base.map((x) => x[k]));
  const p = median(pre.map((x) => x[k]));
  console.log(`${k.padEnd(4)} glibc         median ${b.toFixed(2)} ns/op  [${base.map((x) => x[k].toFixed(1)).join(' ')}]`);
  console.log(`${k.padEnd(4)} hmsdk_preload median ${p.toFixed(2)} ns/op  [${pre.map((x) => x[k].toFixed(1)).join(' ')}]`);
  console.log(`${k.padEnd(4)} ratio ${(p / b).toFixed(3)} (target <= 1.10: ${p / b <= 1.1 ? 'met' : 'NOT met'})`);
}
console.log(`machine load average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (cpu time is the robust figure on a shared machine)`);
