// Transparent mode inside the multi-node VM (npm run test:numa): programs
// run unchanged under build/Release/hmsdk_preload.so and their large
// allocations must land on the EXMEM node. Evidence from the kernel: each
// program reads its own /proc/self/numa_maps (policy bind:<exmem>, pages
// N<exmem>=...); the library's exit statistics corroborate.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topology } from '../../src/topology/current';
import { vmTierNodes } from './helpers';

const SO = path.join(__dirname, '..', '..', 'build', 'Release', 'hmsdk_preload.so');
const MiB = 2 ** 20;

describe('preload on a CPU-less EXMEM node', () => {
  let exmem: number;
  let normal: number;
  let dir: string;
  beforeAll(() => {
    ({ exmem, normal } = vmTierNodes());
    expect(fs.existsSync(SO), `${SO} (npm run build:native)`).toBe(true);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-preload-vm-'));
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function under(conf: string, cmd: string, args: string[]) {
    const statsFile = path.join(dir, `s-${Math.random().toString(36).slice(2)}.%p`);
    const r = spawnSync(cmd, args, {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, LD_PRELOAD: SO, HMSDK_CONF: `${conf},stats=exit,stats_file=${statsFile}` },
    });
    const prefix = path.basename(statsFile).replace('%p', '');
    const stats = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(prefix))
      .map((f) => Object.fromEntries(fs.readFileSync(path.join(dir, f), 'utf8').trim().split(' ').slice(1).map((kv) => kv.split('='))));
    return { ...r, stats };
  }

  it('node: 256 MiB of Buffers, every page on the EXMEM node', () => {
    const js = `
const fs = require('fs');
const bufs = [];
for (let i = 0; i < 4; i++) bufs.push(Buffer.alloc(64 * 1024 * 1024, i + 1));
const per = {};
for (const line of fs.readFileSync('/proc/self/numa_maps', 'utf8').split('\\n')) {
  const f = line.split(' ');
  if (f[1] !== 'bind:${exmem}') continue;
  for (const kv of f) { const m = /^N(\\d+)=(\\d+)$/.exec(kv); if (m) per[m[1]] = (per[m[1]] || 0) + Number(m[2]); }
}
console.log(JSON.stringify(per));`;
    const r = under(`nodes=${exmem}`, process.execPath, ['-e', js]);
    expect(r.status, r.stderr).toBe(0);
    const per = JSON.parse(r.stdout.trim()) as Record<string, number>;
    expect(per[exmem]).toBeGreaterThanOrEqual((256 * MiB) / 4096);
    expect(Object.keys(per)).toEqual([String(exmem)]);
    const s = r.stats.find((x) => Number(x.placed_count) > 0)!;
    expect(Number(s[`node${exmem}_peak_bytes`])).toBeGreaterThanOrEqual(256 * MiB);
  });

  it('python: a 128 MiB bytearray on the EXMEM node', () => {
    const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    const py = `
import re, sys
node = sys.argv[1]
b = bytearray(128 * 1024 * 1024)
b[-1] = 1
per = {}
for line in open('/proc/self/numa_maps'):
    f = line.split()
    if len(f) > 1 and f[1] == 'bind:' + node:
        for x in f:
            m = re.match(r'N(\\d+)=(\\d+)$', x)
            if m: per[m.group(1)] = per.get(m.group(1), 0) + int(m.group(2))
print(per.get(node, 0), len(per))`;
    const r = under(`nodes=${exmem}`, python, ['-c', py, String(exmem)]);
    expect(r.status, r.stderr).toBe(0);
    const [pages, nodes] = r.stdout.trim().split(' ').map(Number);
    expect(pages).toBeGreaterThanOrEqual((128 * MiB) / 4096);
    expect(nodes).toBe(1);
  });

  it('weighted 3:1 stripe (DRAM:EXMEM, ranges preferred to their node) splits pages 3:1 within 1%', () => {
    const js = `
const fs = require('fs');
const b = Buffer.alloc(256 * 1024 * 1024, 1);
const per = {};
for (const line of fs.readFileSync('/proc/self/numa_maps', 'utf8').split('\\n')) {
  const f = line.split(' ');
  if (!/^prefer:\\d+$/.test(f[1] || '')) continue;
  for (const kv of f) { const m = /^N(\\d+)=(\\d+)$/.exec(kv); if (m) per[m[1]] = (per[m[1]] || 0) + Number(m[2]); }
}
console.log(JSON.stringify(per));`;
    const r = under(`weights=${normal}:3,${exmem}:1`, process.execPath, ['-e', js]);
    expect(r.status, r.stderr).toBe(0);
    const per = JSON.parse(r.stdout.trim()) as Record<string, number>;
    const total = (per[normal] ?? 0) + (per[exmem] ?? 0);
    expect(total).toBeGreaterThanOrEqual((256 * MiB) / 4096);
    expect(Math.abs((per[exmem] ?? 0) / total - 0.25)).toBeLessThan(0.01);
  });

  it('a bind larger than the EXMEM node falls back instead of an OOM kill', () => {
    const t = topology();
    const node = t.nodes.find((n) => n.id === exmem)!;
    const size = Math.ceil((node.memFree + 32 * MiB) / MiB); // more than the node can give
    const r = under(`nodes=${exmem},overflow=fallback`, process.execPath, ['-e', `Buffer.alloc(${size} * 1024 * 1024).fill(1); console.log('alive')`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('alive');
    expect(Number(r.stats[0]!.node_full_hits)).toBeGreaterThan(0);
  });

  it('C stress under the preload in the VM: threads, realloc across the threshold, cross-thread frees; intact, no leak, placed on EXMEM', () => {
    const bin = path.join(dir, 'stress');
    execFileSync('cc', ['-O2', '-pthread', '-o', bin, path.join(__dirname, '..', 'preload', 'stress.c')], { stdio: 'inherit' });
    const r = under(`nodes=${exmem},threshold=64K`, bin, ['4', '2000', String(64 * 1024)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^stress ok ops=\d+ large_ops=[1-9]\d* nulls=0/m);
    const st = r.stats[0]!;
    expect(Number(st.live_bytes)).toBe(0); // everything freed came back: no leak by the library's counters
    expect(Number(st[`node${exmem}_peak_bytes`])).toBeGreaterThan(0);
    expect(Number(st.placed_count)).toBe(Number(st.free_count));
  });
});
