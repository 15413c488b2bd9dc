// The DAMON access monitor (src/tiering/pages/damon.ts) against the real
// kernel. On 6.12 (DAMON sysfs with vaddr): test/preload/hotset.c writes a
// 512 MiB buffer, then only reads a 64 MiB range of it; the monitor must
// find that range (regions with a high rate cover >= 90% of it) and see the
// rest of the buffer clearly colder. Then the kernel's side of the
// lifecycle: the kdamond stops by itself when the target exits (sample()
// says ESRCH), close() leaves nr_kdamonds at 0, a second monitor opens,
// and close() during a pending sample cleans up once the kernel answers. On 6.1 (no DAMON
// sysfs) openDamon must be ENOTSUP: the suite asserts that, never skips.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { damonAvailable, openDamon } from '../../src/tiering/pages/damon';
import type { AccessRegion } from '../../src/tiering/pages/monitor';
import { errorCode } from '../helpers/error-code';
import { requireVm } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const MiB = 2 ** 20;
const ADMIN = '/sys/kernel/mm/damon/admin';
const NR_KDAMONDS = `${ADMIN}/kdamonds/nr_kdamonds`;
const STATE = `${ADMIN}/kdamonds/0/state`;
const kernel = process.env.HMSDK_EMULATE_KERNEL;
const read = (p: string): string => fs.readFileSync(p, 'utf8').trim();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const exe = path.join(os.tmpdir(), `hmsdk-hotset-${process.pid}`);
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(exe, { force: true });
});

interface Hotset {
  child: ChildProcess;
  spinner: ChildProcess;
  buf: number;
  hotStart: number;
  hotBytes: number;
}

/**
 * hotset on CPU 1, sharing it with a busy loop. DAMON clears the Accessed
 * bit without flushing the TLB (x86), so an access is seen only once the
 * translation has left the TLB; QEMU's software TLB is large and flushed on
 * a context switch (CR3 write). Alone on its vCPU, hotset's hot range reads
 * 0 for many seconds at a time; time-sliced with another process, it reads
 * 0.2..0.5 steadily (measured). Real machines switch contexts too, and
 * their TLBs are small.
 */
async function startHotset(...args: number[]): Promise<Hotset> {
  const spinner = spawn('taskset', ['-c', '1', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
  children.push(spinner);
  const child = spawn('taskset', ['-c', '1', exe, ...args.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  for (const t0 = Date.now(); Date.now() - t0 < 60_000; await sleep(50)) {
    const m = /ready 0x([0-9a-f]+) 0x([0-9a-f]+) (\d+)/.exec(out);
    if (m) return { child, spinner, buf: parseInt(m[1]!, 16), hotStart: parseInt(m[2]!, 16), hotBytes: Number(m[3]) };
    if (child.exitCode !== null) break;
  }
  throw new Error(`hotset did not get ready: ${out}`);
}

const exited = (c: ChildProcess): Promise<void> => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
async function stop(h: Hotset): Promise<void> {
  for (const c of [h.child, h.spinner]) c.kill('SIGKILL');
  await Promise.all([exited(h.child), exited(h.spinner)]);
}

/** Bytes of [lo, hi) covered by the regions that pass `keep`, and their byte-weighted mean rate over [lo, hi). */
function coverage(regions: AccessRegion[], lo: number, hi: number, keep: (r: AccessRegion) => boolean): number {
  let bytes = 0;
  for (const r of regions) if (keep(r)) bytes += Math.max(0, Math.min(r.end, hi) - Math.max(r.start, lo));
  return bytes;
}
function meanRate(regions: AccessRegion[], lo: number, hi: number): number {
  let sum = 0;
  for (const r of regions) sum += r.rate * Math.max(0, Math.min(r.end, hi) - Math.max(r.start, lo));
  return sum / (hi - lo);
}

describe('DAMON monitor on the running kernel', () => {
  beforeAll(() => requireVm());

  if (kernel !== '6.12') {
    it(`${kernel ?? '?'}: no DAMON sysfs, so openDamon is ENOTSUP and damonAvailable says why`, () => {
      expect(kernel).toBe('6.1');
      const a = damonAvailable();
      expect(a.ok).toBe(false);
      console.log(`damonAvailable on ${kernel}: ${JSON.stringify(a)}`);
      expect(errorCode(() => openDamon(process.pid))).toBe('ENOTSUP');
    });
    return;
  }

  beforeAll(() => {
    execFileSync('cc', ['-O2', '-o', exe, path.join(ROOT, 'test', 'preload', 'hotset.c')]);
  });

  it('6.12: finds the 64 MiB read-only hot range inside 512 MiB; the rest is clearly colder', async () => {
    expect(damonAvailable()).toEqual({ ok: true });
    expect(read(NR_KDAMONDS)).toBe('0');
    const h = await startHotset(512, 64, 200, 60);
    const bufEnd = h.buf + 512 * MiB;
    const hotEnd = h.hotStart + h.hotBytes;
    let t = performance.now();
    const m = openDamon(h.child.pid!);
    console.log(`openDamon: ${(performance.now() - t).toFixed(0)} ms; state ${read(STATE)}`);
    const t0 = performance.now();
    let ok = 0;
    let last = '';
    try {
      while (performance.now() - t0 < 45_000 && ok < 2) {
        await sleep(1000);
        t = performance.now();
        const regions = await m.sample();
        const took = performance.now() - t;
        const inHot = regions.filter((r) => r.end > h.hotStart && r.start < hotEnd);
        const peak = Math.max(0, ...inHot.map((r) => r.rate));
        const threshold = peak / 2;
        const high = (r: AccessRegion): boolean => peak > 0 && r.rate >= threshold;
        const hotCovered = coverage(regions, h.hotStart, hotEnd, high) / h.hotBytes;
        const coldBytes = 512 * MiB - h.hotBytes;
        const coldHigh = (coverage(regions, h.buf, h.hotStart, high) + coverage(regions, hotEnd, bufEnd, high)) / coldBytes;
        const hotRate = meanRate(regions, h.hotStart, hotEnd);
        const coldRate = (meanRate(regions, h.buf, h.hotStart) * (h.hotStart - h.buf) + meanRate(regions, hotEnd, bufEnd) * (bufEnd - hotEnd)) / coldBytes;
        const inBuf = regions.filter((r) => r.end > h.buf && r.start < bufEnd).length;
        last =
          `t=${((performance.now() - t0) / 1000).toFixed(1)} s: sample() ${took.toFixed(0)} ms, ${regions.length} regions (${inBuf} in the buffer, ${inHot.length} in the hot range); ` +
          `peak ${peak.toFixed(2)}, hot range ${(hotCovered * 100).toFixed(1)}% at rate >= ${threshold.toFixed(2)} (mean ${hotRate.toFixed(3)}); ` +
          `rest ${(coldHigh * 100).toFixed(1)}% at that rate (mean ${coldRate.toFixed(3)})`;
        console.log(last);
        const good = peak > 0 && hotCovered >= 0.9 && coldHigh <= 0.1 && coldRate <= hotRate / 4;
        ok = good ? ok + 1 : 0;
      }
      expect(ok, `two consecutive samples with the hot range found; last: ${last}`).toBe(2);
    } finally {
      await stop(h);
    }
    // The kdamond notices its target is gone at its next check and stops.
    t = performance.now();
    while (read(STATE) !== 'off' && performance.now() - t < 10_000) await sleep(20);
    console.log(`target killed: kdamond state '${read(STATE)}' after ${(performance.now() - t).toFixed(0)} ms`);
    expect(read(STATE)).toBe('off');
    await expect(m.sample()).rejects.toMatchObject({ code: 'ESRCH' });
    m.close();
    expect(read(NR_KDAMONDS)).toBe('0');
    m.close();
  }, 180_000);

  it('6.12: a second monitor opens after close(); close() while a sample is pending removes the kdamond once the kernel answers', async () => {
    expect(read(NR_KDAMONDS)).toBe('0');
    const h = await startHotset(64, 16, 0, 60);
    try {
      const m = openDamon(h.child.pid!);
      expect(read(STATE)).toBe('on');
      await sleep(500);
      const regions = await m.sample();
      expect(regions.length).toBeGreaterThanOrEqual(3);
      for (const r of regions) expect(r.end > r.start && r.rate >= 0 && r.rate <= 1).toBe(true);
      // No second kdamond while ours exists: EBUSY, and ours keeps running.
      expect(() => openDamon(process.pid)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
      expect(read(STATE)).toBe('on');
      const pending = m.sample();
      await sleep(30); // the update request is now being waited on in the kernel
      const t = performance.now();
      m.close(); // marks it closed; the kdamond goes when the kernel answers the request
      await expect(pending).rejects.toMatchObject({ code: 'ECLOSED' });
      console.log(`close() with a sample pending: kdamond removed ${(performance.now() - t).toFixed(0)} ms later`);
      expect(read(NR_KDAMONDS)).toBe('0');
      expect(fs.existsSync(STATE)).toBe(false);
    } finally {
      await stop(h);
    }
  }, 120_000);
});
