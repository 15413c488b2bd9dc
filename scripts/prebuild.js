#!/usr/bin/env node
// `npm run build:prebuilds` (and `prepack`): build the prebuilt binaries that
// ship inside the npm tarball, into prebuilds/<platform>-<arch>/:
//   hmsdk.napi.glibc.node   the addon (Node-API, NAPI_VERSION 8 in binding.gyp:
//                           one binary for every Node >= the engines range)
//   hmsdk_preload.so        the LD_PRELOAD library of `hmsdk run`
// prebuildify drives node-gyp and copies build/Release/*.so next to the
// .node by itself; both are stripped.
//
// The build runs in a temporary copy of binding.gyp + native/, never in this
// tree: prebuildify *moves* build/Release/hmsdk.node out and strips the
// .so in place, which would break a concurrent `npm test` or a debug build.
// Needs what node-gyp needs for these C-only sources: a C compiler, make and
// python3 (no C++ compiler, no libnuma headers).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const say = (m) => process.stderr.write(`prebuild: ${m}\n`);
const die = (m) => { say(m); process.exit(1); };

if (process.platform !== 'linux') die(`prebuilds are made on Linux only (this is ${process.platform})`);

const tuple = `${process.platform}-${process.arch}`;
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-prebuild-'));
const cleanup = () => fs.rmSync(stage, { recursive: true, force: true });
process.on('exit', cleanup);

try {
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(stage, 'binding.gyp'));
  fs.copyFileSync(path.join(root, 'package.json'), path.join(stage, 'package.json')); // name -> file name
  fs.cpSync(path.join(root, 'native'), path.join(stage, 'native'), { recursive: true });
  // node-gyp (.bin) from this tree.
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
} catch (e) {
  die(`cannot stage the sources in ${stage}: ${e.message}`);
}

// Build against the running Node's headers when they are installed next to
// it (official tarballs, Debian's nodejs): no header download.
const env = { ...process.env };
const prefix = path.dirname(path.dirname(process.execPath));
if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
  env.npm_config_nodedir = prefix;
}

const args = [
  require.resolve('prebuildify/bin.js', { paths: [root] }),
  '--napi', // file tag "napi": any Node with Node-API >= NAPI_VERSION
  '--tag-libc', // file tag "glibc": node-gyp-build skips it on musl
  '--strip',
  '--target', process.versions.node, // headers only; the binary is Node-API
  '--cwd', stage,
];
say(`building ${tuple} in ${stage}`);
const r = spawnSync(process.execPath, args, { cwd: stage, env, stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) die(`prebuildify failed (exit ${r.status ?? r.signal}); the build needs a C compiler (cc), make and python3`);

const built = path.join(stage, 'prebuilds', tuple);
let addon = fs.readdirSync(built).find((f) => f.endsWith('.node'));
if (!addon) die(`no .node file in ${built}`);
// prebuildify 6 names a Node-API build <name>[.glibc].node; add the "napi"
// tag (node-gyp-build parses it: runtime- and ABI-agnostic) so the file
// says what it is: hmsdk.napi.glibc.node.
if (!addon.split('.').includes('napi')) {
  const parts = addon.split('.');
  parts.splice(1, 0, 'napi');
  fs.renameSync(path.join(built, addon), path.join(built, parts.join('.')));
  addon = parts.join('.');
}
const files = fs.readdirSync(built);
if (!files.includes('hmsdk_preload.so')) die(`hmsdk_preload.so was not copied into ${built} (got: ${files.join(', ')})`);

// Smoke test: the fresh addon loads and answers.
const probe = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(path.join(built, addon))}); if (!(a.info().pageSize > 0)) process.exit(3);`], { stdio: 'inherit' });
if (probe.status !== 0) die(`the built addon does not load (exit ${probe.status ?? probe.signal})`);

const dest = path.join(root, 'prebuilds', tuple);
fs.rmSync(dest, { recursive: true, force: true });
fs.mkdirSync(dest, { recursive: true });
for (const f of files) {
  fs.copyFileSync(path.join(built, f), path.join(dest, f));
  fs.chmodSync(path.join(dest, f), 0o755);
}
for (const f of files) say(`prebuilds/${tuple}/${f} (${(fs.statSync(path.join(dest, f)).size / 1024).toFixed(0)} KiB)`);
