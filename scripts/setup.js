#!/usr/bin/env node
// One-step setup used by `npm run stats`, `npm test`, `npm run test:numa`,
// `npm run bench`: makes a fresh clone runnable.
//  1. node_modules (npm ci, or npm install without a lockfile),
//  2. the native addon and the preload library (node-gyp: a C compiler,
//     make and python3; no C++ compiler, no libnuma) when no build exists or
//     the sources are newer,
//  3. the TypeScript (tsc) when dist/ is older than src/.
// Each step is skipped when already done, so it costs ~50 ms when warm.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const quiet = process.argv.includes('--quiet');
const log = (m) => { if (!quiet) process.stderr.write(`setup: ${m}\n`); };
const say = (m) => process.stderr.write(`setup: ${m}\n`);

function run(cmd, args, opts = {}, hint = '') {
  say(`${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) {
    say(`failed: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})`);
    if (hint) say(hint);
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

// 1. dependencies
const pkgLockOk = fs.existsSync(path.join(root, 'package-lock.json'));
const depsMarker = path.join(root, 'node_modules', '.package-lock.json');
if (!fs.existsSync(depsMarker) || mtime(depsMarker) < mtime(path.join(root, 'package.json'))) {
  // --ignore-scripts: the addon is built below (step 2).
  run('npm', [pkgLockOk ? 'ci' : 'install', '--ignore-scripts', '--no-audit', '--no-fund']);
} else log('node_modules ok');

// 2. native addon + preload library (C only: cc, make, python3)
const addon = path.join(root, 'build', 'Release', 'hmsdk.node');
const nativeSrc = Math.max(newest(path.join(root, 'native'), ['.c', '.cc', '.h']), mtime(path.join(root, 'binding.gyp')));
if (mtime(addon) < nativeSrc) {
  // Build against the running Node's own headers when they are installed
  // beside it (Debian's nodejs: /usr/include/node), so node-gyp never tries
  // to download headers (npm passes npm_config_nodedir; a direct run does not).
  const args = [require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }), 'rebuild'];
  const nodedir = path.resolve(path.dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${nodedir}`);
  }
  run(process.execPath, args, {}, 'the native build needs a C compiler (cc), make and python3 (Debian/Ubuntu: apt-get install gcc make python3; Fedora/RHEL: dnf install gcc make python3)');
} else log('native addon ok');

// 3. TypeScript
const tsOut = path.join(root, 'dist', 'index.js');
if (mtime(tsOut) < Math.max(newest(path.join(root, 'src'), ['.ts']), mtime(path.join(root, 'tsconfig.json')))) {
  run(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.json']);
} else log('dist ok');
