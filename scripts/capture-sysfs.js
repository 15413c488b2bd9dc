#!/usr/bin/env node
/*
 * Capture the sysfs files the topology reader (src/topology/read.ts) uses
 * into a fixture tree, e.g. inside the QEMU VM on a 6.1 or 6.12 kernel:
 *
 *   node scripts/capture-sysfs.js test/fixtures/sysfs/vm-6.12
 *   node scripts/capture-sysfs.js OUTDIR --sys-root /some/other/sys
 *
 * The tree mirrors /sys (OUTDIR/devices/system/node/..., OUTDIR/kernel/...,
 * OUTDIR/bus/...), so `readTopology({ sysRoot: OUTDIR })` reads it as it
 * would read /sys. Only plain files and directories are written (git keeps
 * them; it keeps no empty directory): symlinks such as the `nodeX` initiator
 * entries become empty files, and each CXL device becomes a directory holding
 * its `devtype` (or an empty `uevent`). Write-only or unreadable attributes
 * are skipped. Keep the file list in step with the reader.
 *
 * Plain Node, no dependencies.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function usage(code) {
  process.stderr.write('usage: node scripts/capture-sysfs.js OUTDIR [--sys-root /sys] [--force]\n');
  process.exit(code);
}

const args = process.argv.slice(2);
let out;
let sysRoot = '/sys';
let force = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--help' || a === '-h') usage(0);
  else if (a === '--sys-root') {
    sysRoot = args[++i];
    if (!sysRoot) usage(2);
  } else if (a === '--force') force = true;
  else if (a.startsWith('-')) usage(2);
  else if (out === undefined) out = a;
  else usage(2);
}
if (out === undefined) usage(2);
out = path.resolve(out);
if (fs.existsSync(out) && fs.readdirSync(out).length > 0 && !force) {
  process.stderr.write(`capture-sysfs: ${out} is not empty (pass --force to write into it)\n`);
  process.exit(1);
}

let copied = 0;

function read(rel) {
  try {
    return fs.readFileSync(path.join(sysRoot, rel), 'latin1');
  } catch {
    return undefined;
  }
}

function list(rel) {
  try {
    return fs.readdirSync(path.join(sysRoot, rel));
  } catch {
    return [];
  }
}

function write(rel, text) {
  const dest = path.join(out, rel);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.writeFileSync(dest, text);
  copied++;
}

function copy(rel) {
  const t = read(rel);
  if (t !== undefined) write(rel, t);
  return t !== undefined;
}

// devices/system/node
const nodeRoot = 'devices/system/node';
for (const f of ['possible', 'online', 'has_cpu', 'has_memory', 'has_normal_memory', 'has_generic_initiator']) copy(`${nodeRoot}/${f}`);
for (const n of list(nodeRoot)) {
  if (!/^node\d+$/.test(n)) continue;
  for (const f of ['cpulist', 'distance', 'meminfo']) copy(`${nodeRoot}/${n}/${f}`);
  for (const access of ['access0', 'access1']) {
    const dir = `${nodeRoot}/${n}/${access}/initiators`;
    for (const e of list(dir)) {
      if (/^node\d+$/.test(e)) write(`${dir}/${e}`, ''); // symlink to the initiator node
      else if (/^(read|write)_(bandwidth|latency)$/.test(e)) copy(`${dir}/${e}`);
    }
  }
}

// memory tiers
const tierRoot = 'devices/virtual/memory_tiering';
for (const t of list(tierRoot)) if (/^memory_tier\d+$/.test(t)) copy(`${tierRoot}/${t}/nodelist`);

// weighted interleave (nodeN, auto; 6.18 names auto "__auto_type")
const wiRoot = 'kernel/mm/mempolicy/weighted_interleave';
for (const e of list(wiRoot)) if (/^node\d+$/.test(e) || e === 'auto' || e === '__auto_type') copy(`${wiRoot}/${e}`);

// CXL bus devices, and the dax devices under CXL regions
const cxlRoot = 'bus/cxl/devices';
for (const d of list(cxlRoot)) {
  if (!copy(`${cxlRoot}/${d}/devtype`)) write(`${cxlRoot}/${d}/uevent`, '');
  if (!/^region\d+$/.test(d)) continue;
  for (const dr of list(`${cxlRoot}/${d}`)) {
    if (!/^dax_region\d+$/.test(dr)) continue;
    for (const dx of list(`${cxlRoot}/${d}/${dr}`)) if (/^dax\d+\.\d+$/.test(dx)) copy(`${cxlRoot}/${d}/${dr}/${dx}/target_node`);
  }
}

// dax devices' target node
const daxRoot = 'bus/dax/devices';
for (const d of list(daxRoot)) {
  copy(`${daxRoot}/${d}/target_node`);
  let real = '';
  try {
    real = fs.realpathSync(path.join(sysRoot, daxRoot, d));
  } catch {
    /* ignore */
  }
  // The reader skips dax devices under a platform hmem.N device (not CXL);
  // the captured tree cannot keep that link, so say so.
  if (/\/hmem\.\d+\//.test(real)) process.stderr.write(`capture-sysfs: note: ${d} is platform hmem (${real}), not CXL; the fixture will count it as CXL evidence\n`);
}

process.stdout.write(`capture-sysfs: ${copied} files from ${sysRoot} into ${out}\n`);
