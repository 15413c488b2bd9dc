#!/usr/bin/env node
// One-step setup used by `npm run stats`, `npm test`, `npm run test:numa`,
// `npm run bench`: makes a fresh clone runnable.
//  1. build dependency: libnuma headers (apt-get install libnuma-dev when
//     root on Debian/Ubuntu; otherwise a clear message),
//  2. node_modules (npm ci, or npm install without a lockfile),
//  3. the native addon (node-gyp) when no prebuild or build matches or the
//     sources are newer,
//  4. the TypeScript (tsc) when dist/ is older than src/.
// Each step is skipped when already done, so it costs ~50 ms when warm.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const quiet = process.argv.includes('--quiet');
const log = (m) => { if (!quiet) process.stderr.write(`setup: ${m}\n`); };
const say = (m) => process.stderr.write(`setup: ${m}\n`);

function run(cmd, args, opts = {}) {
  say(`${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) {
    say(`failed: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function newest(dir, exts) {
  let t = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

function mtime(p) {
  try { return fs.statSync(p).mtimeMs; } catch { return 0; }
}

// 1. libnuma headers, needed only to compile the addon.
function ensureLibnumaHeaders() {
  if (fs.existsSync('/usr/include/numa.h')) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && fs.existsSync('/usr/bin/apt-get')) {
    run('apt-get', ['install', '-y', '-qq', 'libnuma-dev'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (fs.existsSync('/usr/include/numa.h')) return;
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', 'libnuma-dev'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return;
  }
  say('libnuma headers are missing: install them (Debian/Ubuntu: sudo apt-get install libnuma-dev; Fedora: dnf install numactl-devel)');
  process.exit(1);
}

// 2. dependencies
const pkgLockOk = fs.existsSync(path.join(root, 'package-lock.json'));
const depsMarker = path.join(root, 'node_modules', '.package-lock.json');
if (!fs.existsSync(depsMarker) || mtime(depsMarker) < mtime(path.join(root, 'package.json'))) {
  // --ignore-scripts: the addon is built below, after the headers check.
  run('npm', [pkgLockOk ? 'ci' : 'install', '--ignore-scripts', '--no-audit', '--no-fund']);
} else log('node_modules ok');

// 3. native addon
const addon = path.join(root, 'build', 'Release', 'hmsdk.node');
const nativeSrc = Math.max(newest(path.join(root, 'native'), ['.c', '.cc', '.h']), mtime(path.join(root, 'binding.gyp')));
if (mtime(addon) < nativeSrc) {
  ensureLibnumaHeaders();
  // Build against the running Node's own headers when they are installed
  // beside it (Debian's nodejs: /usr/include/node), so node-gyp never tries
  // to download headers (npm passes npm_config_nodedir; a direct run does not).
  const args = [require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }), 'rebuild'];
  const nodedir = path.resolve(path.dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${nodedir}`);
  }
  run(process.execPath, args);
} else log('native addon ok');

// 4. TypeScript
const tsOut = path.join(root, 'dist', 'index.js');
if (mtime(tsOut) < Math.max(newest(path.join(root, 'src'), ['.ts']), mtime(path.join(root, 'tsconfig.json')))) {
  run(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.json']);
} else log('dist ok');
