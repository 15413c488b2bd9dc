/**
 * worker.terminate() while a worker is inside SDK calls must not take the
 * process down. Terminating a worker stops its JS at any point, including
 * inside a native call (where, migrate, stats, s_get_memsize_used, the
 * allocations of TieredPool.set); the addon must then fail the call
 * quietly, not abort.
 *
 * The workers run in a child node process, so an abort in native code fails
 * this test instead of killing the test runner. The child starts a worker
 * looping over those calls, terminates it after a seeded random delay, and
 * repeats TERMINATIONS times; it exits 0 only if every round completed.
 * The child loads the compiled package (dist/, built by `npm test`'s pretest).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(__dirname, '..');
const TERMINATIONS = 30;
const SEED = 0xc0ffee;

const WORKER = `
const { parentPort } = require('node:worker_threads');
const hm = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
const pool = new hm.TieredPool({ dramBudget: 1 << 20, coldTier: 'NORMAL', intervalMs: 0 });
const big = hm.allocate(1 << 16);
parentPort.postMessage('running');
for (let i = 0; ; i++) {
  hm.where(big);
  hm.migrate(big, { tier: 'NORMAL' });
  hm.stats();
  hm.s_get_memsize_used('NORMAL');
  pool.set(i % 64, 1 + (i % 40000));
}
`;

const PARENT = `
const { Worker } = require('node:worker_threads');
let a = ${SEED} >>> 0;
const random = () => {
  a = (a + 0x6d2b79f5) >>> 0;
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
async function round() {
  const w = new Worker(${JSON.stringify(WORKER)}, { eval: true });
  w.on('error', (e) => { console.error('worker error:', e); process.exitCode = 1; });
  await new Promise((resolve) => w.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, random() * 20));
  await w.terminate();
}
(async () => {
  for (let i = 0; i < ${TERMINATIONS}; i++) await round();
  console.log('rounds: ${TERMINATIONS}');
})();
`;

describe('worker_threads', () => {
  it(`${TERMINATIONS} worker.terminate() calls during where/migrate/stats/s_get_memsize_used/TieredPool.set leave the process alive`, { timeout: 120_000 }, () => {
    const r = spawnSync(process.execPath, ['-e', PARENT], { cwd: ROOT, encoding: 'utf8', timeout: 100_000 });
    const detail = `signal ${r.signal}, status ${r.status}\n${r.stderr.slice(-3000)}`;
    expect(r.signal, detail).toBeNull();
    expect(r.status, detail).toBe(0);
    expect(r.stdout).toContain(`rounds: ${TERMINATIONS}`);
  });
});
