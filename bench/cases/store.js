'use strict';
// Case 16 — sharing one sealed object between processes: the time for a
// second process to have a 256 MiB object readable, by the store's get()
// (maps the creator's pages, zero copies) against receiving the same bytes
// over a pipe from the creating process, and against a postMessage copy
// from a worker thread (structured clone) in the same process. Every way
// ends with a read of one byte per 4 KiB page, so no way can stop at a
// lazy mapping; get() includes its release.
//
// Bytes copied: the reader's private memory growth (Private_Clean +
// Private_Dirty of /proc/self/smaps_rollup) across the receive — the pages
// a copy must have put somewhere. The pipe and postMessage copies also pass
// the bytes through the kernel or a serializer, which this does not count.
//
// Targets: get() at most 0.1× the time of either copy, and at most 1 MiB of
// private memory for get() (page tables and bookkeeping, not data).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { makeRow } = require('../lib/rows');
const { summarize } = require('../lib/stats');
const { fmtMs, fmtMiB } = require('../lib/fmt');

const CASE = 16;
const MiB = 2 ** 20;

function privateBytes() {
  const t = fs.readFileSync('/proc/self/smaps_rollup', 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)[1]);
  return (kb('Private_Clean') + kb('Private_Dirty')) * 1024;
}

function touch(buf) {
  let s = 0;
  for (let i = 0; i < buf.length; i += 4096) s += buf[i];
  return s;
}

async function storeCase(ctx) {
  const size = ctx.quick ? 16 * MiB : 256 * MiB;
  const reps = ctx.quick ? 2 : 7;
  const name = `bench-${process.pid}`;
  ctx.log(`[${CASE}] a sealed ${fmtMiB(size)} object in another process: get() vs a pipe from that process vs a worker's postMessage copy, ${reps} rounds`);
  const prevDir = process.env.HMSDK_STORE_DIR;
  process.env.HMSDK_STORE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-bench-store-'));
  const producer = spawn(process.execPath, [path.join(__dirname, 'store-child.js'), '--size', String(size), '--name', name], {
    env: process.env,
    stdio: ['pipe', 'pipe', 'inherit', 'pipe'],
  });
  const rows = [];
  let worker;
  try {
    await new Promise((resolve, reject) => {
      producer.stdout.once('data', resolve);
      producer.once('exit', (c) => reject(new Error(`store-child exited ${c}`)));
    });
    const store = await ctx.h.connect({ name });
    const pipe = producer.stdio[3];
    const recv = Buffer.allocUnsafeSlow(size);
    worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const b = Buffer.alloc(${size});
       for (let i = 0; i < b.length; i += 4096) b[i] = (i >>> 12) & 255;
       parentPort.on('message', () => parentPort.postMessage(b));`,
      { eval: true },
    );
    const viaGet = async () => {
      const v = await store.get('blob');
      touch(v);
      store.release(v);
    };
    const viaPipe = () =>
      new Promise((resolve) => {
        let off = 0;
        const onData = (d) => {
          d.copy(recv, off);
          off += d.length;
          if (off >= size) {
            pipe.off('data', onData);
            touch(recv);
            resolve();
          }
        };
        pipe.on('data', onData);
        producer.stdin.write('pipe\n');
      });
    const viaMessage = () =>
      new Promise((resolve) => {
        worker.once('message', (b) => {
          touch(b);
          resolve();
        });
        worker.postMessage('send');
      });
    const measure = async (fn) => {
      const p0 = privateBytes();
      const t0 = process.hrtime.bigint();
      await fn();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      return { ms, copied: Math.max(0, privateBytes() - p0) };
    };
    await viaGet();
    await viaPipe();
    await viaMessage();
    const runs = { get: [], pipe: [], message: [] };
    for (let r = 0; r < reps; r++) {
      const order = r % 2 === 0 ? ['get', 'pipe', 'message'] : ['message', 'pipe', 'get'];
      for (const k of order) {
        if (global.gc) global.gc();
        runs[k].push(await measure(k === 'get' ? viaGet : k === 'pipe' ? viaPipe : viaMessage));
      }
    }
    await store.disconnect();
    const med = (k, f) => summarize(runs[k].map(f)).median;
    ctx.log(
      `[${CASE}] get() ${fmtMs(med('get', (x) => x.ms))} (private +${fmtMiB(med('get', (x) => x.copied))}), pipe ${fmtMs(med('pipe', (x) => x.ms))}, ` +
        `postMessage ${fmtMs(med('message', (x) => x.ms))} (private +${fmtMiB(med('message', (x) => x.copied))})`,
    );
    const common = { case: CASE, unit: 'ms', kind: 'time', target: { op: '<=', value: 0.1 } };
    for (const [k, label] of [['pipe', 'a pipe from the creating process'], ['message', "a worker's postMessage copy (structured clone)"]]) {
      rows.push(
        makeRow({
          ...common,
          id: `store-get-${size}-vs-${k}`,
          what: `store get() of a sealed ${fmtMiB(size)} object made by another process, vs ${label}`,
          ours: { name: 'get() + one read per page + release', summary: summarize(runs.get.map((x) => x.ms)) },
          baseline: { name: `${k} + one read per page`, summary: summarize(runs[k].map((x) => x.ms)) },
          ratios: runs.get.map((x, i) => x.ms / runs[k][i].ms),
          note: `${reps} paired rounds, order alternating; baseline private memory growth ${fmtMiB(med(k, (x) => x.copied))} per receive`,
        }),
      );
    }
    rows.push(
      makeRow({
        case: CASE,
        unit: 'MiB',
        kind: 'budget',
        id: `store-get-${size}-bytes-copied`,
        what: `private memory a get() of ${fmtMiB(size)} adds to the reader (bytes copied)`,
        ours: { name: 'private growth', summary: summarize(runs.get.map((x) => x.copied / MiB)) },
        baseline: { name: 'budget', summary: summarize([1]) },
        ratios: runs.get.map((x) => x.copied / MiB),
        target: { op: '<=', value: 1 },
        note: `Private_Clean + Private_Dirty of smaps_rollup across get() + read; pipe ${fmtMiB(med('pipe', (x) => x.copied))} (its buffer is reused), postMessage ${fmtMiB(med('message', (x) => x.copied))}`,
      }),
    );
  } finally {
    if (worker) await worker.terminate();
    producer.stdin.write('exit\n');
    await new Promise((r) => (producer.exitCode !== null ? r() : producer.once('exit', r)));
    fs.rmSync(process.env.HMSDK_STORE_DIR, { recursive: true, force: true });
    if (prevDir === undefined) delete process.env.HMSDK_STORE_DIR;
    else process.env.HMSDK_STORE_DIR = prevDir;
  }
  return rows;
}

module.exports = { storeCase };
