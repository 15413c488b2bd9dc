#!/usr/bin/env bash
# Packaging test (`npm run test:pack`, .ci/run): what a user gets from npm.
#  1. npm pack (prepack: fresh prebuilds + tsc); the tarball's contents.
#  2. Install the tarball into an empty project with --ignore-scripts (pnpm /
#     Bun default), then, with NO compiler on the PATH (node/npm/npx/sh only):
#     `npx hmsdk stats`, allocate/free from require() and import, `hmsdk run`
#     with the shipped preload library, the types.
#  3. The install script's decisions, without a compiler: prebuild loads;
#     no prebuild fits (node-gyp-build pointed at an empty dir); prebuild
#     fits but libnuma.so.1 is missing (a copy of the addon whose DT_NEEDED
#     names libnuma.so.9, a library that does not exist). With a compiler
#     and no prebuild: `npm rebuild hmsdk` compiles into build/Release.
#  4. npm run docs (typedoc, warnings are errors) and every runtime export
#     has a page.
# Needs: a C/C++ toolchain + libnuma-dev for step 1, the npm registry (the
# package's two dependencies). KEEP=1 keeps the work directory.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

say() { printf 'pack-test: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/hmsdk-pack-test.XXXXXX")"
work="$(cd "$work" && pwd -P)"
if [ "${KEEP:-0}" = 1 ]; then say "work directory: $work"; else trap 'rm -rf "$work"' EXIT; fi
case "$work/" in "$repo"/*) fail "the work directory $work is inside the repository (TMPDIR?)";; esac

# expect RC NAME CMD... : run CMD (stdout to $work/NAME.out, stderr to
# $work/NAME.err) and check its exit code.
expect() {
  local want="$1" name="$2"; shift 2
  local rc=0
  "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  if [ "$rc" != "$want" ]; then
    cat "$work/$name.out" "$work/$name.err" | sed 's/^/    /' >&2
    fail "$name: exit $rc, expected $want"
  fi
}
# has NAME REGEX : the output (stdout or stderr) of NAME matches REGEX.
has() {
  cat "$work/$1.out" "$work/$1.err" | grep -Eq -- "$2" \
    || { cat "$work/$1.out" "$work/$1.err" | sed 's/^/    /' >&2; fail "$1: output lacks /$2/"; }
}

# ---------------------------------------------------------------- 1. pack
[ -d node_modules/prebuildify ] || npm ci --ignore-scripts --no-audit --no-fund
# Stale outputs in dist/ (a .js whose .ts is gone) would ship: refuse them.
orphans="$(cd dist 2>/dev/null && find . -name '*.js' | sed 's/\.js$//' | while read -r f; do [ -e "../src/$f.ts" ] || echo "dist/$f.js"; done || true)"
[ -z "$orphans" ] || fail "stale files in dist/ (no source in src/): $orphans — rm -rf dist and retry"

say "npm pack (prepack: prebuilds + tsc)"
expect 0 pack npm pack --pack-destination "$work"
tgz="$(ls "$work"/hmsdk-*.tgz)"
tar -tzf "$tgz" | sort >"$work/contents.out"
for f in package/package.json package/README.md package/bin/hmsdk.js package/dist/index.js package/dist/index.d.ts \
         package/dist/cli/main.js package/binding.gyp package/native/addon.cc package/native/preload/hm_preload.c \
         package/presets/cxl-expander.json package/scripts/install.js \
         package/prebuilds/linux-x64/hmsdk.napi.glibc.node package/prebuilds/linux-x64/hmsdk_preload.so; do
  grep -qx "$f" "$work/contents.out" || fail "the tarball lacks $f"
done
if grep -E '^package/(test|build|src|bench|examples|node_modules|docs|\.ci|\.vm-results)/|\.map$|\.tgz$|^package/scripts/(setup|prebuild)\.js$|pack-test' "$work/contents.out"; then
  fail "the tarball contains files users do not need (above)"
fi
packed=$(stat -c %s "$tgz")
unpacked=$(tar -xzOf "$tgz" | wc -c)
files=$(wc -l <"$work/contents.out")
say "tarball $(basename "$tgz"): $files files, $((packed / 1024)) KiB packed, $((unpacked / 1024)) KiB unpacked"
[ "$packed" -lt $((1024 * 1024)) ] || fail "the tarball is over 1 MiB"

# ------------------------------------------------- 2. install, no compiler
app="$work/app"
mkdir -p "$app"
printf '{ "name": "pack-test-app", "version": "1.0.0", "private": true }\n' >"$app/package.json"
say "npm install --ignore-scripts <tgz> in $app"
(cd "$app" && expect 0 install npm install --ignore-scripts --no-audit --no-fund "$tgz")
pkg="$app/node_modules/hmsdk"
[ -f "$pkg/prebuilds/linux-x64/hmsdk.napi.glibc.node" ] || fail "prebuild not installed"
[ ! -e "$pkg/build" ] || fail "the installed package has a build/ directory"

# A PATH with node, npm, npx and sh (npm runs scripts and bins with "sh -c") only.
nobin="$work/nobin"
mkdir -p "$nobin"
for t in node npm npx sh; do ln -s "$(readlink -f "$(command -v "$t")")" "$nobin/$t"; done
# nocc CMD...: run CMD with that PATH (and no CC/CXX), in the app directory.
nocc() { (cd "$app" && env -u CC -u CXX -u PYTHON -u npm_config_python PATH="$nobin" "$@"); }
nocc /bin/bash -c 'for t in cc gcc g++ c++ clang make python3 python strip; do if command -v "$t"; then exit 1; fi; done' \
  || fail "a compiler or build tool is still reachable in the no-compiler environment"
say "no-compiler PATH=$nobin (cc, gcc, g++, c++, clang, make, python3: not found)"

expect 0 stats nocc npx --no hmsdk stats
has stats '^NODE +TIER'
has stats '^total '
expect 0 stats-json nocc npx --no hmsdk stats --json
nocc node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (!(s.nodes.length >= 1 && s.total.total > 0)) process.exit(1)' "$work/stats-json.out" \
  || fail "hmsdk stats --json: unexpected output"

cat >"$app/alloc.js" <<'EOF'
'use strict';
const assert = require('node:assert');
const path = require('node:path');
const hm = require('hmsdk');
const pkgDir = path.dirname(require.resolve('hmsdk/package.json'));
assert.strictEqual(pkgDir, path.join(process.cwd(), 'node_modules', 'hmsdk'), 'hmsdk resolved outside the test project');
const gypBuild = require(require.resolve('node-gyp-build', { paths: [pkgDir] }));
const addon = gypBuild.path(pkgDir);
assert.strictEqual(addon, path.join(pkgDir, process.env.EXPECT_ADDON || 'prebuilds/linux-x64/hmsdk.napi.glibc.node'));

const b = hm.allocate(1 << 20, { populate: true });
b.fill(7);
const w = hm.where(b);
const placed = Object.values(w.nodes).reduce((a, n) => a + n, 0);
assert.strictEqual(placed, w.total, `pages not resident: ${JSON.stringify(w)}`);
assert.ok(hm.stats().tiers.NORMAL.used >= 1 << 20, 'stats().used does not count the buffer');
const small = hm.s_malloc(hm.SMDK_MEM_NORMAL, 100);
small[99] = 1;
hm.s_free(small);
const t = hm.allocateTyped(Float64Array, 1000);
t[999] = 1.5;
hm.free(t);
hm.free(b);
assert.strictEqual(b.length, 0, 'freed buffer still has a length');
assert.throws(() => hm.free(b), (e) => e.code === 'EDOUBLEFREE');
console.log(`alloc ok: ${addon}`);
EOF
expect 0 alloc nocc node alloc.js
has alloc '^alloc ok: .*/node_modules/hmsdk/prebuilds/linux-x64/hmsdk\.napi\.glibc\.node$'

cat >"$app/esm.mjs" <<'EOF'
import assert from 'node:assert';
import { createRequire } from 'node:module';
import hmDefault, { allocate, free, where } from 'hmsdk';
const cjs = createRequire(import.meta.url)('hmsdk');
assert.strictEqual(allocate, cjs.allocate, 'import and require give different copies');
assert.strictEqual(hmDefault, cjs);
const b = allocate(4096);
where(b);
cjs.free(b); // one allocator state: freed through the require() copy
assert.throws(() => free(b), (e) => e.code === 'EDOUBLEFREE');
console.log('esm ok');
EOF
expect 0 esm nocc node esm.mjs
has esm '^esm ok$'

expect 0 run-env nocc npx --no hmsdk run --nodes 0 --print-env
has run-env "^LD_PRELOAD=$pkg/prebuilds/linux-x64/hmsdk_preload\.so$"
expect 0 run nocc npx --no hmsdk run --nodes 0 --min-size 1MiB --stats -- node -e 'Buffer.alloc(8 << 20).fill(1)'
has run 'hmsdk-preload-stats .*placed_count=[1-9]'

# The types, through the exports map (node16: CommonJS and ESM importers).
cat >"$app/types.ts" <<'EOF'
import { allocate, free, HmsdkError, type AllocateOptions, type Topology, readTopology } from 'hmsdk';
const o: AllocateOptions = { tier: 'EXMEM', fallback: 'normal' };
const t: Topology = readTopology();
free(allocate(t.nodes.length, o));
export const e: HmsdkError | undefined = undefined;
EOF
cp "$app/types.ts" "$app/types-esm.mts"
expect 0 types node "$repo/node_modules/typescript/bin/tsc" --noEmit --strict --module node16 --moduleResolution node16 \
  --typeRoots "$repo/node_modules/@types" --types node "$app/types.ts" "$app/types-esm.mts"

# ------------------------------------------------- 3. the install script
mkdir -p "$work/empty" "$work/nonuma/prebuilds/linux-x64"
# The addon with its libnuma.so.1 dependency renamed to libnuma.so.9 (same length).
node -e '
  const fs = require("fs");
  const b = fs.readFileSync(process.argv[1]);
  const from = Buffer.from("libnuma.so.1"), to = Buffer.from("libnuma.so.9");
  let n = 0;
  for (let i = b.indexOf(from); i >= 0; i = b.indexOf(from, i + 1)) { to.copy(b, i); n++; }
  if (!n) process.exit(1);
  fs.writeFileSync(process.argv[2], b, { mode: 0o755 });
' "$pkg/prebuilds/linux-x64/hmsdk.napi.glibc.node" "$work/nonuma/prebuilds/linux-x64/hmsdk.napi.glibc.node" \
  || fail "cannot make the libnuma-less addon copy"

expect 0 install-prebuild nocc node "$pkg/scripts/install.js"
[ ! -s "$work/install-prebuild.out" ] && [ ! -s "$work/install-prebuild.err" ] \
  || { cat "$work/install-prebuild.out" "$work/install-prebuild.err" >&2; fail "install.js printed something with a working prebuild"; }
expect 1 install-none nocc HMSDK_PREBUILD="$work/empty" node "$pkg/scripts/install.js"
has install-none 'no prebuilt binary fits this machine .*cannot be compiled here: missing a C compiler \(cc\), a C\+\+ compiler \(c\+\+\), make, python3'
has install-none 'apt-get install g\+\+ make python3 libnuma-dev'
expect 0 install-nonuma nocc HMSDK_PREBUILD="$work/nonuma" node "$pkg/scripts/install.js"
has install-nonuma 'needs libnuma\.so\.1, which is not installed'

cat >"$app/enoaddon.js" <<'EOF'
try {
  require('hmsdk').allocate(4096);
} catch (e) {
  console.log(`${e.code}: ${e.message}`);
  process.exit(e.code === 'ENOADDON' ? 0 : 1);
}
process.exit(2);
EOF
expect 0 enoaddon-none nocc HMSDK_PREBUILD="$work/empty" node enoaddon.js
has enoaddon-none "^ENOADDON: .*no prebuilt binary matches and no local build exists: run 'npm rebuild hmsdk'"
expect 0 enoaddon-nonuma nocc HMSDK_PREBUILD="$work/nonuma" node enoaddon.js
has enoaddon-nonuma '^ENOADDON: .*libnuma\.so\.1 is missing: install it .*libnuma\.so\.9: cannot open shared object file'
expect 0 stats-nonuma nocc HMSDK_PREBUILD="$work/nonuma" npx --no hmsdk stats

# npm install WITH scripts, no compiler: the prebuild is used, nothing compiled;
# and with no usable prebuild, the install fails with the one clear message.
app2="$work/app2"
mkdir -p "$app2"
cp "$app/package.json" "$app2/"
(cd "$app2" && expect 0 install-scripts env -u CC -u CXX PATH="$nobin" npm install --no-audit --no-fund "$tgz")
[ ! -e "$app2/node_modules/hmsdk/build" ] || fail "npm install compiled something although a prebuild fits"
rm -rf "$app2/node_modules" "$app2/package-lock.json"
printf '{ "name": "pack-test-app", "version": "1.0.0", "private": true }\n' >"$app2/package.json"
(cd "$app2" && expect 1 install-scripts-none env -u CC -u CXX HMSDK_PREBUILD="$work/empty" PATH="$nobin" npm install --no-audit --no-fund "$tgz")
has install-scripts-none 'hmsdk: no prebuilt binary fits this machine'
say "tarball: installs and runs without a compiler; install script decisions ok"

# Source build: no prebuild in the package, a compiler on the PATH.
app3="$work/app3"
cp -a "$app" "$app3"
rm -rf "$app3/node_modules/hmsdk/prebuilds"
say "npm rebuild hmsdk without prebuilds (source build)"
(cd "$app3" && expect 0 rebuild npm rebuild hmsdk --foreground-scripts)
has rebuild 'hmsdk: no prebuilt binary fits this machine .*: compiling the addon with node-gyp'
[ -f "$app3/node_modules/hmsdk/build/Release/hmsdk.node" ] || fail "the source build made no build/Release/hmsdk.node"
(cd "$app3" && expect 0 alloc-source env EXPECT_ADDON=build/Release/hmsdk.node node alloc.js)
(cd "$app3" && expect 0 run-env-source npx --no hmsdk run --nodes 0 --print-env)
has run-env-source "^LD_PRELOAD=$app3/node_modules/hmsdk/build/Release/hmsdk_preload\.so$"

# ------------------------------------------------------------------ 4. docs
say "npm run docs"
expect 0 docs npm run docs
[ -f docs/api/index.html ] || fail "docs/api/index.html missing"
node -e '
  const fs = require("fs");
  const missing = Object.keys(require("./dist/index.js")).filter((k) => k !== "__esModule" &&
    !["functions", "classes", "variables"].some((d) => fs.existsSync(`docs/api/${d}/${k}.html`)));
  if (missing.length) { console.error(`no API page for: ${missing.join(", ")}`); process.exit(1); }
' || fail "API docs do not cover every export"
! grep -rqE 'allocPlaced|NativeAddon' docs/api || fail "internal symbols leaked into the API docs"
say "ok"
