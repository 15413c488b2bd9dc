#!/usr/bin/env bash
# Packaging test (`npm run test:pack`, .ci/run): what a user gets from npm.
#  1. npm pack (prepack: fresh prebuilds + tsc); the tarball's contents.
#  2. Install the tarball into an empty project with --ignore-scripts (pnpm /
#     Bun default), then, with NO compiler on the PATH (node/npm/npx/sh only):
#     `npx hmsdk stats`, allocate/free from require() and import, `hmsdk run`
#     with the shipped preload library, the types.
#  3. The prebuilt addon and preload library need only libc (+ libm,
#     libpthread, libdl, the dynamic loader): their DT_NEEDED entries, read
#     with readelf when it exists and always with a small ELF reader in node
#     (the two must agree). The install script's decisions, without a
#     compiler: prebuild loads; no prebuild fits (node-gyp-build pointed at
#     an empty dir); a damaged prebuild. With a C compiler but NO C++
#     compiler on the PATH and no prebuild: `npm rebuild hmsdk` compiles
#     into build/Release.
#  4. npm run docs (typedoc, warnings are errors) and every runtime export
#     has a page.
# Needs: a C compiler, make and python3 for step 1 (node-gyp); the npm
# registry (the package's one dependency, node-gyp-build). KEEP=1 keeps the
# work directory.
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
         package/dist/cli/main.js package/binding.gyp package/native/addon/addon.c package/native/prim/hm_prim.c \
         package/native/prim/hm_prim.h package/presets/cxl-expander.json package/scripts/install.js \
         package/prebuilds/linux-x64/hmsdk.napi.glibc.node package/prebuilds/linux-x64/hmsdk_preload.so; do
  grep -qx "$f" "$work/contents.out" || fail "the tarball lacks $f"
done
# Source directories by pattern (their file lists change): at least one .c
# (and for the core a .h) in each.
for re in '^package/native/core/[^/]+\.c$' '^package/native/core/[^/]+\.h$' '^package/native/preload/[^/]+\.c$'; do
  grep -Eq "$re" "$work/contents.out" || fail "the tarball has no file matching $re"
done
if grep -E '^package/native/[^/]+\.(c|cc|h)$' "$work/contents.out"; then
  fail "the tarball has sources at the top of native/ (the old layout; above)"
fi
# docs/*.md ship (the README links them); generated API pages do not.
grep -qx 'package/docs/allocator.md' "$work/contents.out" || fail "the tarball lacks docs/*.md (the README links them)"
if grep -E '^package/(test|build|src|bench|examples|node_modules|docs/api|\.ci|\.vm-results)/|\.map$|\.tgz$|^package/scripts/(setup|prebuild)\.js$|pack-test' "$work/contents.out"; then
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

# ------------------------------------------------- 3. dependencies, install script
# needed FILE...: one line per file, "FILE: lib1 lib2 ..." (DT_NEEDED), from a
# minimal ELF64 little-endian reader (section headers: SHT_DYNAMIC and the
# string table it links to). When readelf exists its answer must be the same.
needed() {
  node -e '
    const fs = require("fs");
    for (const f of process.argv.slice(1)) {
      const b = fs.readFileSync(f);
      if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) { console.error(`${f}: not an ELF64 LE file`); process.exit(1); }
      const shoff = Number(b.readBigUInt64LE(0x28)), shentsize = b.readUInt16LE(0x3a), shnum = b.readUInt16LE(0x3c);
      const sh = (i) => { const o = shoff + i * shentsize;
        return { type: b.readUInt32LE(o + 4), offset: Number(b.readBigUInt64LE(o + 0x18)), size: Number(b.readBigUInt64LE(o + 0x20)), link: b.readUInt32LE(o + 0x28) }; };
      const libs = [];
      for (let i = 0; i < shnum; i++) {
        const s = sh(i);
        if (s.type !== 6) continue; // SHT_DYNAMIC
        const str = sh(s.link);
        for (let o = s.offset; o + 16 <= s.offset + s.size; o += 16) {
          const tag = b.readBigInt64LE(o);
          if (tag === 0n) break; // DT_NULL
          if (tag === 1n) { const at = str.offset + Number(b.readBigUInt64LE(o + 8)); libs.push(b.toString("latin1", at, b.indexOf(0, at))); }
        }
      }
      console.log(`${f}: ${libs.join(" ")}`);
    }
  ' "$@"
}
prebuilt=("$pkg/prebuilds/linux-x64/hmsdk.napi.glibc.node" "$pkg/prebuilds/linux-x64/hmsdk_preload.so")
# check_needed NAME FILE...: only libc, libm, libpthread, libdl and the dynamic loader.
check_needed() {
  local name="$1"; shift
  needed "$@" >"$work/$name.out" || fail "$name: cannot read the ELF dynamic section of $*"
  if command -v readelf >/dev/null 2>&1; then
    for f in "$@"; do
      printf '%s: %s\n' "$f" "$(LC_ALL=C readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | tr '\n' ' ' | sed 's/ $//')"
    done >"$work/$name.readelf"
    diff -u "$work/$name.readelf" "$work/$name.out" >&2 || fail "$name: the node ELF reader and readelf -d disagree"
    how="readelf -d and the node ELF reader"
  else
    how="the node ELF reader (no readelf)"
  fi
  while IFS= read -r line; do
    local f="${line%%: *}" libs="${line#*: }" lib
    [ -n "$libs" ] || fail "$name: $f has no DT_NEEDED at all (not dynamically linked against libc?)"
    for lib in $libs; do
      case "$lib" in
        libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|ld-linux*.so.*) ;;
        *) fail "$name: $(basename "$f") needs $lib (only libc, libm, libpthread, libdl and the dynamic loader are allowed: no libnuma, no libstdc++/libgcc_s)";;
      esac
    done
  done <"$work/$name.out"
  say "$name: $(sed "s|$work/||g" "$work/$name.out" | tr '\n' ';' | sed 's/;$//;s/;/; /g') ($how)"
}
check_needed needed-prebuilt "${prebuilt[@]}"

mkdir -p "$work/empty" "$work/damaged/prebuilds/linux-x64"
# A prebuild that node-gyp-build picks but dlopen rejects (4 KiB of zeros:
# "invalid ELF header").
head -c 4096 /dev/zero >"$work/damaged/prebuilds/linux-x64/hmsdk.napi.glibc.node"

expect 0 install-prebuild nocc node "$pkg/scripts/install.js"
[ ! -s "$work/install-prebuild.out" ] && [ ! -s "$work/install-prebuild.err" ] \
  || { cat "$work/install-prebuild.out" "$work/install-prebuild.err" >&2; fail "install.js printed something with a working prebuild"; }
expect 1 install-none nocc HMSDK_PREBUILD="$work/empty" node "$pkg/scripts/install.js"
has install-none 'no prebuilt binary fits this machine .*cannot be compiled here: missing a C compiler \(cc\), make, python3\.$'
has install-none 'apt-get install gcc make python3; Fedora/RHEL: dnf install gcc make python3\)'
! grep -Eqi 'c\+\+|numa' "$work/install-none.err" || { cat "$work/install-none.err" >&2; fail "install-none: the message still asks for a C++ compiler or libnuma"; }
expect 1 install-damaged nocc HMSDK_PREBUILD="$work/damaged" node "$pkg/scripts/install.js"
has install-damaged 'no prebuilt binary fits this machine \(linux-x64, Node v[0-9.]+: .*invalid ELF header.*\), and it cannot be compiled here: missing a C compiler'

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
has enoaddon-none "run 'npm rebuild hmsdk' \(needs a C compiler, make and python3\)"
expect 0 enoaddon-damaged nocc HMSDK_PREBUILD="$work/damaged" node enoaddon.js
has enoaddon-damaged "^ENOADDON: .*the native binary does not load: rebuild it with 'npm rebuild hmsdk --build-from-source' \(needs a C compiler, make and python3\) .*invalid ELF header"
# The CLI's topology commands need no addon.
expect 0 stats-noaddon nocc HMSDK_PREBUILD="$work/empty" npx --no hmsdk stats
has stats-noaddon '^NODE +TIER'

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

# Source build: no prebuild in the package; on the PATH a C compiler, make
# and python3 but no C++ compiler (everything in /usr/bin and /bin except
# g++, c++, clang++ and their versioned names).
nocxx="$work/nocxx"
mkdir -p "$nocxx"
for f in /usr/local/bin/* /usr/bin/* /bin/*; do
  b="${f##*/}"
  case "$b" in *g++*|*c++*|*clang++*) continue;; esac
  [ -e "$nocxx/$b" ] || [ ! -x "$f" ] || ln -s "$f" "$nocxx/$b"
done
for t in node npm npx; do ln -sf "$(readlink -f "$(command -v "$t")")" "$nocxx/$t"; done
env PATH="$nocxx" /bin/bash -c 'command -v cc && command -v make && command -v python3 && for t in g++ c++ clang++; do if command -v "$t"; then exit 1; fi; done' >/dev/null \
  || fail "the C-only PATH $nocxx lacks cc/make/python3 or still has a C++ compiler"
app3="$work/app3"
cp -a "$app" "$app3"
rm -rf "$app3/node_modules/hmsdk/prebuilds"
say "npm rebuild hmsdk without prebuilds (source build, no C++ compiler on the PATH)"
(cd "$app3" && expect 0 rebuild env -u CXX -u LINK PATH="$nocxx" npm rebuild hmsdk --foreground-scripts)
has rebuild 'hmsdk: no prebuilt binary fits this machine .*: compiling the addon with node-gyp'
[ -f "$app3/node_modules/hmsdk/build/Release/hmsdk.node" ] || fail "the source build made no build/Release/hmsdk.node"
(cd "$app3" && expect 0 alloc-source env EXPECT_ADDON=build/Release/hmsdk.node node alloc.js)
(cd "$app3" && expect 0 run-env-source npx --no hmsdk run --nodes 0 --print-env)
has run-env-source "^LD_PRELOAD=$app3/node_modules/hmsdk/build/Release/hmsdk_preload\.so$"
check_needed needed-source "$app3/node_modules/hmsdk/build/Release/hmsdk.node" "$app3/node_modules/hmsdk/build/Release/hmsdk_preload.so"

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
