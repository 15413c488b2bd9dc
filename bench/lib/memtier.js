'use strict';
// memkind's memtier preload (libmemtier.so, Debian package libmemkind0): the
// peer that cases 13 and 15 run beside hmsdk's preload.
const fs = require('node:fs');
const { execFileSync, spawnSync } = require('node:child_process');

/** libmemtier.so's path from dpkg, or null. */
function memtierPath() {
  try {
    const files = execFileSync('dpkg', ['-L', 'libmemkind0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
    return files.find((f) => /\/libmemtier\.so(\.\d+)*$/.test(f) && fs.existsSync(f)) ?? null;
  } catch {
    return null;
  }
}

/** libmemtier.so's path, installing libmemkind0 with apt-get when allowed (full runs, as root). */
function findMemtier(ctx, caseNo) {
  const found = memtierPath();
  if (found || ctx.quick || process.getuid() !== 0) return found;
  ctx.log(`[${caseNo}] libmemkind0 is missing: apt-get install -y libmemkind0`);
  const r = spawnSync('apt-get', ['install', '-y', 'libmemkind0'], { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) ctx.log(`[${caseNo}] apt-get install libmemkind0 failed (exit ${r.status ?? r.signal})`);
  return memtierPath();
}

module.exports = { memtierPath, findMemtier };
