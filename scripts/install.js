#!/usr/bin/env node
// The package's `install` script. node-gyp-build's "use a binary that loads,
// else compile", with a clear message instead of a wall of gyp errors when
// compiling cannot work:
//   a binary loads (prebuilds/<platform>-<arch>/ or build/Release)  -> done
//   nothing loads, cc + make + python3 present     -> node-gyp-build compiles
//   nothing loads, one of them missing             -> one message naming what
//       is missing, exit 1
// The sources are C only (binding.gyp links with the C compiler too) and use
// no library beyond libc: no C++ compiler, no libnuma headers.
// Install scripts are optional: with --ignore-scripts (pnpm, Bun) the same
// prebuild is found at run time by src/alloc/native.ts.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const say = (m) => process.stderr.write(`hmsdk: ${m}\n`);
const fromSource = process.env.npm_config_build_from_source === 'true';

let gypBuild;
try {
  gypBuild = require('node-gyp-build');
} catch (e) {
  say(`cannot load node-gyp-build (${e.message}): reinstall hmsdk`);
  process.exit(1);
}

// 1. A binary that loads (tested in a child: a failed dlopen leaves nothing behind).
let loadError = '';
if (!fromSource) {
  let file;
  try {
    file = gypBuild.path(root);
  } catch (e) {
    loadError = String(e.message).split('\n')[0];
  }
  if (file) {
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { encoding: 'utf8' });
    if (r.status === 0) process.exit(0);
    loadError = (r.stderr.match(/Error: (.*)/) || [null, r.stderr.trim()])[1];
  }
}

// 2. Compile: check what node-gyp needs first.
function onPath(cmd) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch { /* next */ }
  }
  return false;
}
function hasTool(envVar, names) {
  const v = process.env[envVar];
  if (v) return onPath(v.split(' ')[0]) || fs.existsSync(v.split(' ')[0]);
  return names.some(onPath);
}

const missing = [];
if (!hasTool('CC', ['cc', 'gcc', 'clang'])) missing.push('a C compiler (cc)');
if (!onPath('make')) missing.push('make');
if (!(process.env.npm_config_python || process.env.PYTHON) && !onPath('python3')) missing.push('python3');

const why = fromSource
  ? 'building from source (--build-from-source)'
  : `no prebuilt binary fits this machine (${process.platform}-${process.arch}, Node ${process.version}${loadError ? `: ${loadError}` : ''})`;
if (missing.length) {
  say(`${why}, and it cannot be compiled here: missing ${missing.join(', ')}.`);
  say('install them (Debian/Ubuntu: apt-get install gcc make python3; Fedora/RHEL: dnf install gcc make python3), then: npm rebuild hmsdk');
  say('prebuilt binaries ship for linux-x64 with glibc >= 2.34.');
  process.exit(1);
}

say(`${why}: compiling the addon with node-gyp`);
const r = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  say(`compiling the native addon failed (exit ${r.status ?? r.signal}); the compiler output is above.`);
  process.exit(r.status || 1);
}
