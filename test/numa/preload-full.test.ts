// Transparent mode on a node that cannot hold everything the program
// callocs (npm run test:numa, both kernels).
//
// What this proves: under `hmsdk run --nodes <exmem>` (bind, default lazy
// mode, default overflow policy = fallback) a program whose placed calloc
// blocks are each small enough for the node but together exceed its free
// memory, allocated WITHOUT being touched and touched only afterwards,
//   1. stays alive: no memory-policy OOM kill (exit by SIGKILL / 137, or a
//      new "Killed process" line in dmesg, fails the test), and
//   2. had its overflow policy run: the kernel (move_pages on every page of
//      every block, done by the program itself) shows the bytes beyond what
//      the node could hold resident on another node, and the preload's own
//      statistics agree (fallback_count or node_full_hits > 0).
// The blocks are callocated with a pause longer than the preload's 100 ms
// meminfo cache between them, so each placement decision sees a fresh
// MemFree that does not show the earlier untouched blocks: the preload must
// remember what it placed, not only what the kernel already counts.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmTierNodes } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const MiB = 2 ** 20;

function nodeMem(node: number): { total: number; free: number } {
  const t = fs.readFileSync(`/sys/devices/system/node/node${node}/meminfo`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(t)?.[1] ?? NaN) * 1024;
  return { total: kb('MemTotal'), free: kb('MemFree') };
}

function oomLines(): string[] {
  return execFileSync('dmesg', { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /Killed process|oom-kill:|Out of memory/.test(l));
}

interface BlockReport {
  pages: number;
  nodes: Record<string, number>;
  absent: number;
  other: number;
  zero: number;
}

describe('preload: lazy calloc beyond the free memory of the bound node', () => {
  let exmem: number;
  let normal: number;
  let dir: string;
  let bin: string;
  beforeAll(() => {
    ({ exmem, normal } = vmTierNodes());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-preload-full-'));
    bin = path.join(dir, 'calloc-lazy');
    execFileSync('cc', ['-O2', '-o', bin, path.join(ROOT, 'test', 'preload', 'calloc-lazy.c')], { stdio: 'inherit' });
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('untouched callocs that together exceed the node, then touched: alive, overflow ran, excess resident elsewhere', () => {
    const mem = nodeMem(exmem);
    const blockMiB = 64;
    // 25% more than the node's free memory, in blocks that each fit easily.
    const nblocks = Math.ceil((mem.free * 1.25) / (blockMiB * MiB));
    const totalBytes = nblocks * blockMiB * MiB;
    const statsFile = path.join(dir, 'stats.%p');
    const oomBefore = oomLines().length;
    const r = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'hmsdk.js'),
        'run',
        '--nodes',
        String(exmem),
        '--stats-json',
        '--stats-file',
        statsFile,
        '--',
        bin,
        String(nblocks),
        String(blockMiB),
        '150',
      ],
      { encoding: 'utf8', timeout: 110_000 },
    );
    const newOom = oomLines().slice(oomBefore);
    const ctx = `node ${exmem}: MemFree ${(mem.free / MiB).toFixed(0)} MiB, ${nblocks} x ${blockMiB} MiB callocs; exit ${r.status} signal ${r.signal}; stderr: ${r.stderr.trim()}`;
    expect(r.status === 137 || r.signal === 'SIGKILL', `the program was killed (OOM kill at first touch of untouched placed blocks?): ${ctx}; dmesg: ${newOom.join(' | ')}`).toBe(false);
    expect(newOom, `the kernel OOM-killed something during the run: ${ctx}`).toEqual([]);
    expect(r.status, ctx).toBe(0);

    // The kernel's word: where every page of every block is.
    const rep = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { pageSize: number; blocks: BlockReport[] };
    expect(rep.blocks.length).toBe(nblocks);
    const per: Record<number, number> = {};
    for (const [i, b] of rep.blocks.entries()) {
      expect(b.zero, `block ${i} read as zero before the first write`).toBe(1);
      expect(b.absent + b.other, `block ${i}: every page resident after the touch`).toBe(0);
      for (const [n, p] of Object.entries(b.nodes)) per[Number(n)] = (per[Number(n)] ?? 0) + p;
    }
    const totalPages = totalBytes / rep.pageSize;
    expect((per[exmem] ?? 0) + (per[normal] ?? 0), `pages per node ${JSON.stringify(per)}`).toBe(totalPages);
    // What the node could not hold (more than its free memory at the start) is elsewhere.
    const beyond = Math.ceil((totalBytes - mem.free) / rep.pageSize);
    expect(per[normal] ?? 0, `pages per node ${JSON.stringify(per)}; at least ${beyond} pages cannot fit on node ${exmem}`).toBeGreaterThanOrEqual(beyond);
    // And the placement did happen for the rest (not everything sent to glibc).
    expect(per[exmem] ?? 0, `pages per node ${JSON.stringify(per)}`).toBeGreaterThan(0);

    // The preload's statistics corroborate: the overflow policy ran.
    const files = fs.readdirSync(dir).filter((f) => f.startsWith('stats.'));
    const lines = files.flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n'));
    const st = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((s) => Number(s.placed_count) > 0);
    expect(st, `preload statistics: ${lines.join(' | ')}`).toBeDefined();
    expect(Number(st!.fallback_count) + Number(st!.node_full_hits), JSON.stringify(st)).toBeGreaterThan(0);
  });
});
