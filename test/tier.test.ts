// hmsdk tier on the host (one node, so nothing moves between tiers here;
// the moves are shown in the VM, test/numa/tier.test.ts): the page-table
// sampler reads a real program's accesses from the real kernel, the
// preload's granule split gives each granule its own mapping, and the CLI
// refuses bad input with one line.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preloadPath } from '../src/preload/library';
import { TrackedProcess } from '../src/tiering/pages/process';
import { openSampler, parseSmapsReferenced } from '../src/tiering/pages/sample';
import { hmsdk, hmsdkWith, repoRoot, sysfsFixtures } from './helpers/cli';

const MiB = 2 ** 20;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-tier-'));
const exe = path.join(work, 'hotset');
beforeAll(() => execFileSync('cc', ['-O2', '-o', exe, path.join(repoRoot, 'test', 'preload', 'hotset.c')]));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** hotset under the preload (node 0, non-strict, `granule` split); resolves with its pid and addresses once it is reading. */
async function startHotset(granule: number, args: string[]): Promise<{ pid: number; buf: number; hot: number; hotLen: number; kill: () => void }> {
  const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LD_PRELOAD: preloadPath(), HMSDK_CONF: `nodes=0,policy=preferred,expect=0,granule=${granule}` } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let m: RegExpExecArray | null;
  const t0 = Date.now();
  while (!(m = /ready 0x([0-9a-f]+) 0x([0-9a-f]+) (\d+)/.exec(out))) {
    if (child.exitCode !== null || Date.now() - t0 > 20_000) throw new Error('hotset did not start');
    await sleep(20);
  }
  return { pid: child.pid!, buf: parseInt(m[1]!, 16), hot: parseInt(m[2]!, 16), hotLen: Number(m[3]), kill: () => child.kill('SIGKILL') };
}

describe('page-table sampler (clear_refs + smaps) on a real program', () => {
  it('parses smaps: anonymous mappings only, Rss and Referenced in bytes', () => {
    const text = [
      '55d0a8e4b000-55d0a8e6c000 rw-p 00000000 00:00 0                          [heap]',
      'Rss:                 132 kB',
      'Referenced:          100 kB',
      '7f1c2c000000-7f1c2c200000 rw-p 00000000 00:00 0 ',
      'Rss:                2048 kB',
      'Referenced:            0 kB',
      '7f1c31a00000-7f1c31a28000 r--p 00000000 08:01 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6',
      'Rss:                 160 kB',
      'Referenced:          160 kB',
      '7ffd1e1f8000-7ffd1e1fc000 r--p 00000000 00:00 0                          [vvar]',
      'Rss:                   0 kB',
      'Referenced:            0 kB',
    ].join('\n');
    expect(parseSmapsReferenced(text)).toEqual([
      { start: 0x55d0a8e4b000, end: 0x55d0a8e6c000, rss: 132 * 1024, referenced: 100 * 1024 },
      { start: 0x7f1c2c000000, end: 0x7f1c2c200000, rss: 2048 * 1024, referenced: 0 },
    ]);
  });

  it('with the preload splitting at 2 MiB, the read range has a high rate and the rest a low one', { timeout: 60_000 }, async () => {
    const p = await startHotset(2 * MiB, ['96', '16', '40', '30']);
    const mon = openSampler(new TrackedProcess(p.pid), 200);
    // root has CAP_SYS_NICE: the clearing flushes the TLB (MADV_COLD)
    expect(mon.clear).toBe(process.getuid?.() === 0 ? 'madvise-cold' : 'clear-refs');
    try {
      const regions = [];
      for (let i = 0; i < 3; i++) regions.push(...(await mon.sample()));
      const inBuf = regions.filter((r) => r.start >= p.buf - 2 * MiB && r.end <= p.buf + 96 * MiB + 2 * MiB);
      expect(inBuf.length, 'the 96 MiB buffer is in granule-sized mappings').toBeGreaterThanOrEqual(3 * 40);
      const inside = (r: { start: number; end: number }) => r.start >= p.hot && r.end <= p.hot + p.hotLen;
      const outside = (r: { start: number; end: number }) => r.end <= p.hot || r.start >= p.hot + p.hotLen;
      const mean = (xs: { rate: number }[]) => xs.reduce((s, r) => s + r.rate, 0) / xs.length;
      const hot = inBuf.filter(inside);
      const cold = inBuf.filter(outside);
      console.log(`sampler: ${hot.length} hot granule readings, mean rate ${mean(hot).toFixed(2)}; ${cold.length} cold, mean ${mean(cold).toFixed(3)}`);
      expect(hot.length).toBeGreaterThan(0);
      expect(mean(hot)).toBeGreaterThanOrEqual(0.9);
      expect(mean(cold)).toBeLessThanOrEqual(0.05);
    } finally {
      mon.close();
      p.kill();
    }
  });

  it('a process that is gone: ESRCH from the sampler, alive() false', { timeout: 30_000 }, async () => {
    const p = await startHotset(0, ['8', '1', '0', '30']);
    const proc = new TrackedProcess(p.pid);
    const mon = openSampler(proc, 10);
    p.kill();
    for (let i = 0; i < 100 && proc.alive(); i++) await sleep(20);
    expect(proc.alive()).toBe(false);
    await expect(mon.sample()).rejects.toMatchObject({ code: 'ESRCH' });
    mon.close();
    mon.close();
  });
});

describe('hmsdk tier command line', () => {
  const fixture = path.join(sysfsFixtures, 'cxl-expander');
  it.each([
    [['--monitor', 'x', '--', 'true'], /--monitor must be auto, damon or sample/],
    [['--granule', '3000', '--', 'true'], /--granule must be a multiple of 4KiB/],
    [['--granule', '2GiB', '--', 'true'], /--granule must be a multiple of 4KiB up to 1GiB/],
    [['--interval', '5', '--', 'true'], /--interval takes milliseconds 10\.\./],
    [['--interval', '1e3', '--', 'true'], /--interval takes milliseconds/],
    [['--dram-budget', 'lots', '--', 'true'], /--dram-budget: bad size 'lots'/],
    [['--max-move', '4KiB', '--', 'true'], /--max-move \(4096\) must be at least one granule/],
    [['--pid', '1', '--', 'true'], /--pid and a command are exclusive/],
    [['--pid', '0'], /--pid takes a process id/],
    [['--pid', '-3'], /--pid takes a process id|unknown option/],
    [['--wait-exec', 'x', '--', 'true'], /--wait-exec goes with --pid/],
    [[], /no command/],
  ])('%j: one line, exit 2', (args, message) => {
    const r = hmsdk('tier', '--sys-root', fixture, ...args);
    expect(r.code, r.err).toBe(2);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(message);
  });

  it('a machine without an EXMEM node: ENODEV, exit 1', () => {
    const r = hmsdk('tier', '--sys-root', path.join(sysfsFixtures, 'one-node'), '--', 'true');
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/tiering needs a DRAM node and an EXMEM node .*\[ENODEV\]/);
  });

  it('a program that exits at once: it runs, its status is kept, one line says there was nothing to tier', () => {
    const r = hmsdk('tier', '--sys-root', fixture, '--', 'sh', '-c', 'exit 3');
    expect(r.code, r.err).toBe(3);
    expect(r.err).toMatch(/^hmsdk tier: (pid \d+ exited before the first pass|pid \d+, .*)$/m);
  });

  it('--monitor damon where DAMON is absent: ENOTSUP before the program starts', () => {
    const r = hmsdk('tier', '--sys-root', fixture, '--monitor', 'damon', '--', 'sh', '-c', 'echo started');
    expect(r.code, r.err).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/--monitor damon: DAMON cannot be used here: .*\[ENOTSUP\]/);
  });

  it("SIGINT and SIGTERM to the job's process group are the program's: the controller stays to the end and reports", { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'hmsdk.js'), 'tier', '--sys-root', fixture, '--interval', '100', '--window', '50', '--', 'sh', '-c', 'trap "" INT TERM; sleep 3; exit 5'], {
      detached: true, // its own process group, as a shell job
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const closed = new Promise<void>((resolve) => child.stderr.on('close', () => resolve()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    await sleep(1500);
    process.kill(-child.pid!, 'SIGINT');
    process.kill(-child.pid!, 'SIGTERM');
    expect(await exited).toBe(5);
    await closed;
    const line = new RegExp(`^hmsdk tier: pid ${child.pid}, (\\d+\\.\\d) s: .*passes`, 'm').exec(err);
    expect(line, err).not.toBeNull();
    // tiered until the program's exit (3 s after its start), not until the signals (1.5 s)
    expect(Number(line![1]), err).toBeGreaterThanOrEqual(2.2);
  });

  it('--pid of a process that does not exist: ESRCH, exit 1', () => {
    const r = hmsdk('tier', '--sys-root', fixture, '--pid', String(2 ** 22 - 1));
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/no process 4194303 \[ESRCH\]/);
  });

  it('attached to a running program: tiers it until it exits, then one line from the kernel counts', { timeout: 60_000 }, async () => {
    const p = await startHotset(2 * MiB, ['32', '8', '8', '3']);
    const r = hmsdkWith({ timeoutMs: 30_000 }, 'tier', '--sys-root', fixture, '--monitor', 'sample', '--window', '100', '--interval', '200', '--pid', String(p.pid));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(new RegExp(`^hmsdk tier: pid ${p.pid}, \\d+\\.\\d s: DRAM .* budget .*; monitor page-table sampler .*, \\d+ passes, controller CPU \\d+\\.\\d\\d s\\n$`));
  });
});
