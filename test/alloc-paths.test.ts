// Every allocation path keeps the typed-error guarantee (host, any node count).
//
// What this proves, for each path an allocation can take — fresh small
// (arena bump), cached small (free list, after a free of the same class),
// fresh large (own mapping), cached large (reuse cache, after a free of the
// same size), weighted (the userspace stripe when the machine has two
// nodes; on one node the single-node weighted placement), s_posix_memalign
// (a view of a larger block, and a page-aligned large block), a createArena
// chunk, and the same inside a worker_threads Worker:
//   (i)   freed -> unreachable: every view of the freed memory has length 0,
//         and where() / migrate() / free() on any of them throw HmsdkError
//         EFREED or EDOUBLEFREE (never a crash, never a silent success);
//   (ii)  a strict request the node cannot hold gives HmsdkError ENOMEM,
//         never an abort, the failed request changes no counter, and the
//         path still works afterwards;
//   (iii) stats().sdk.liveAllocations and every node's `used` return to
//         their starting values once the buffer is freed.
// For (ii): a single request cannot exceed node 0's MemTotal here (the
// largest Buffer, buffer.constants.MAX_LENGTH, is smaller than the node),
// so the node is first exhausted with untouched strict ballast (MAX_LENGTH
// blocks until one is refused); the test checks with the kernel's MemFree
// that ballast + request really exceeds what the node has free.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  allocate,
  allocateTyped,
  createArena,
  free,
  HmsdkError,
  MAX_SIZE,
  migrate,
  placementOf,
  type PlacedBuffer,
  s_calloc,
  s_free,
  s_posix_memalign,
  stats,
  trim,
  where,
} from '../src/index';
import { nodeReserve } from '../src/policy/capacity';
import { topology } from '../src/topology/current';
import { errorCode } from './helpers/error-code';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'index.js');
const MiB = 2 ** 20;

const node0 = (): number => topology().normalNodes[0] as number;

/** What a strict request may take on the node by the kernel's MemFree: MemFree minus the node's reserve (the core's rule). */
function nodeFree(node: number): number {
  const t = fs.readFileSync(`/sys/devices/system/node/node${node}/meminfo`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(t)?.[1] ?? NaN) * 1024;
  return kb('MemFree') - nodeReserve({ memTotal: kb('MemTotal') });
}

/** The counters (iii) is about. */
function snapshot(): { live: number; used: Record<number, number> } {
  const s = stats();
  return { live: s.sdk.liveAllocations, used: Object.fromEntries(s.nodes.map((n) => [n.id, n.used])) };
}

interface Made {
  /** The buffer the path returned. */
  buf: ArrayBufferView;
  /** Other views of the same memory the caller made or was given. */
  views: ArrayBufferView[];
  /** Free it the way this path frees. */
  release(): void;
}

interface PathCase {
  name: string;
  make(): Made;
  /** A strict request through the same entry point and placement that the (exhausted) node cannot hold. */
  impossible?: () => unknown;
}

function plain(b: PlacedBuffer): Made {
  return { buf: b, views: [b.subarray(1, 9)], release: () => free(b) };
}

function cases(): PathCase[] {
  const n = node0();
  const nodes = topology().nodes.map((x) => x.id);
  const list: PathCase[] = [
    {
      name: 'fresh small (arena bump)',
      make: () => plain(allocate(3000, { node: n })),
      impossible: () => allocate(MAX_SIZE, { node: n }),
    },
    {
      name: 'cached small (free list, after a free of the same class)',
      make: () => {
        free(allocate(5000, { node: n }));
        return plain(allocate(5000, { node: n }));
      },
      impossible: () => allocate(MAX_SIZE, { node: n }),
    },
    {
      name: 'fresh large (own mapping)',
      make: () => {
        trim();
        return plain(allocate(2 * MiB + 5, { node: n }));
      },
      impossible: () => allocate(MAX_SIZE, { node: n }),
    },
    {
      name: 'cached large (reuse cache, after a free of the same size)',
      make: () => {
        free(allocate(3 * MiB, { node: n }));
        return plain(allocate(3 * MiB, { node: n }));
      },
      impossible: () => allocate(MAX_SIZE, { node: n }),
    },
    {
      name: 'cached large, populate (reuse cache)',
      make: () => {
        free(allocate(3 * MiB, { node: n }));
        return plain(allocate(3 * MiB, { node: n, populate: true }));
      },
      impossible: () => allocate(MAX_SIZE, { node: n, populate: true }),
    },
    {
      name: 's_posix_memalign(64, 1000): a view of a larger block',
      make: () => {
        const b = s_posix_memalign('NORMAL', 64, 1000);
        return { buf: b, views: [new Uint8Array(b.buffer)], release: () => s_free(b) };
      },
      impossible: () => s_posix_memalign('NORMAL', 64, MAX_SIZE),
    },
    {
      name: 's_posix_memalign(4096, 1 MiB): page-aligned large block',
      make: () => {
        const b = s_posix_memalign('NORMAL', 4096, MiB);
        return { buf: b, views: [b.subarray(4096)], release: () => s_free(b) };
      },
      impossible: () => s_posix_memalign('NORMAL', 4096, MAX_SIZE),
    },
    {
      name: "s_calloc('NORMAL') (zeroed, large)",
      make: () => {
        const b = s_calloc('NORMAL', 256, 4096);
        return { buf: b, views: [b.subarray(0, 16)], release: () => s_free(b) };
      },
      impossible: () => s_calloc('NORMAL', MAX_SIZE / 4096, 4096),
    },
    {
      name: 'allocateTyped(Float64Array) (small)',
      make: () => {
        const a = allocateTyped(Float64Array, 100, { node: n });
        return { buf: a, views: [new Float64Array(a.buffer, 8, 2)], release: () => free(a) };
      },
      impossible: () => allocateTyped(Float64Array, MAX_SIZE / 8, { node: n }),
    },
    {
      name: 'createArena chunk (views from arena.alloc)',
      make: () => {
        const a = createArena(64 * 1024, { node: n });
        const v = a.alloc(100);
        return { buf: v, views: [a.alloc(200), a.alloc(64 * 1024)], release: () => a.dispose() };
      },
      impossible: () => createArena(MAX_SIZE, { node: n }),
    },
  ];
  if (nodes.length >= 2) {
    const pair = [nodes[0] as number, nodes[1] as number];
    list.push({
      name: `weighted 3:1 over nodes ${pair.join(',')} (userspace stripe)`,
      make: () => {
        const opts = { nodes: pair, policy: 'weighted' as const, weights: [3, 1] };
        expect(placementOf(opts).path).toBe('stripe');
        return plain(allocate(4 * MiB, opts));
      },
    });
  } else {
    list.push({
      name: `weighted on the single node ${n} (one-node machine: no stripe possible)`,
      make: () => plain(allocate(4 * MiB, { nodes: [n], policy: 'weighted', weights: [3] })),
    });
  }
  return list;
}

/** (i): every view of the freed memory is empty and every use is a typed error. */
function expectUnreachable(views: ArrayBufferView[], what: string): void {
  for (const [i, v] of views.entries()) {
    expect(v.byteLength, `${what}: view ${i} byteLength after free`).toBe(0);
    expect((v.buffer as ArrayBuffer).byteLength, `${what}: view ${i} buffer byteLength`).toBe(0);
    expect(errorCode(() => where(v)), `${what}: where(view ${i})`).toBe('EFREED');
    expect(errorCode(() => migrate(v, { node: node0() })), `${what}: migrate(view ${i})`).toBe('EFREED');
    expect(['EFREED', 'EDOUBLEFREE'], `${what}: free(view ${i})`).toContain(errorCode(() => free(v)));
  }
}

/** Untouched strict ballast on `node` until the next MAX_SIZE request is refused. */
function exhaust(node: number): PlacedBuffer[] {
  const ballast: PlacedBuffer[] = [];
  for (;;) {
    if (ballast.length >= 256) {
      ballast.forEach((b) => free(b));
      throw new Error(`256 untouched strict allocations of ${MAX_SIZE} bytes were all granted on node ${node}: lazy strict promises are not counted`);
    }
    try {
      ballast.push(allocate(MAX_SIZE, { node, zero: false }));
    } catch (e) {
      if (e instanceof HmsdkError && e.code === 'ENOMEM') break;
      ballast.forEach((b) => free(b));
      throw e;
    }
  }
  return ballast;
}

const WORKER = `
'use strict';
const { parentPort, workerData } = require('worker_threads');
const h = require(${JSON.stringify(DIST)});
const code = (fn) => { try { fn(); return undefined; } catch (e) { return e instanceof h.HmsdkError ? e.code : e.name; } };
const snap = () => { const s = h.stats(); return { live: s.sdk.liveAllocations, used: Object.fromEntries(s.nodes.map((n) => [n.id, n.used])) }; };
const node = workerData.node;
const out = { paths: [] };
if (workerData.impossible) {
  const before = snap();
  out.impossible = code(() => h.allocate(${MAX_SIZE}, { node }));
  out.impossibleCounters = JSON.stringify(snap()) === JSON.stringify(before);
} else {
  const makers = {
    'fresh small': () => h.allocate(7000, { node }),
    'cached small': () => { h.free(h.allocate(9000, { node })); return h.allocate(9000, { node }); },
    'fresh large': () => { h.trim(); return h.allocate(${2 * MiB + 7}, { node }); },
    'cached large': () => { h.free(h.allocate(${5 * MiB}, { node })); return h.allocate(${5 * MiB}, { node }); },
  };
  for (const [name, make] of Object.entries(makers)) {
    const before = snap();
    const b = make();
    b.fill(7);
    const views = [b, b.subarray(1, 9), new Uint8Array(b.buffer)];
    h.free(b);
    out.paths.push({
      name,
      lengths: views.map((v) => v.byteLength + v.buffer.byteLength),
      where: views.map((v) => code(() => h.where(v))),
      migrate: views.map((v) => code(() => h.migrate(v, { node }))),
      free: views.map((v) => code(() => h.free(v))),
      countersBack: JSON.stringify(snap()) === JSON.stringify(before),
      after: snap(),
      before,
    });
  }
}
parentPort.postMessage(out);`;

interface WorkerOut {
  paths: {
    name: string;
    lengths: number[];
    where: (string | undefined)[];
    migrate: (string | undefined)[];
    free: (string | undefined)[];
    countersBack: boolean;
    before: unknown;
    after: unknown;
  }[];
  impossible?: string;
  impossibleCounters?: boolean;
}

function runWorker(data: { node: number; impossible: boolean }): Promise<{ out: WorkerOut | undefined; exitCode: number; error: unknown }> {
  return new Promise((resolve) => {
    const w = new Worker(WORKER, { eval: true, workerData: data });
    let out: WorkerOut | undefined;
    let error: unknown;
    w.on('message', (m: WorkerOut) => (out = m));
    w.on('error', (e) => (error = e));
    w.on('exit', (exitCode) => resolve({ out, exitCode, error }));
  });
}

const TERMINATE = `
'use strict';
const { Worker } = require('worker_threads');
const code = \`
const h = require(\${JSON.stringify(${JSON.stringify(DIST)})});
const { parentPort } = require('worker_threads');
let i = 0;
parentPort.postMessage('started');
for (;;) {
  const b = h.allocate((i++ % 2) ? 1024 : ${2 * MiB});
  b[0] = 1;
  h.free(b);
  // untouched (lazy, not zeroed): granted or refused, never touched
  try { h.free(h.allocate(${MAX_SIZE}, { zero: false })); } catch (e) { if (!(e instanceof h.HmsdkError)) throw e; }
}\`;
let left = 5;
(function one() {
  if (left-- === 0) { console.log('ok'); return; }
  const w = new Worker(code, { eval: true });
  w.on('error', (e) => { console.log('worker error ' + e.message); process.exit(1); });
  w.once('message', () => setTimeout(() => w.terminate().then(one), 20));
})();`;

describe('every allocation path keeps the typed-error guarantee', () => {
  for (const c of cases()) {
    it(`${c.name}: freed -> unreachable, counters back to the start`, () => {
      const before = snapshot();
      const m = c.make();
      const all = [m.buf, ...m.views, new Uint8Array(m.buf.buffer), new Uint16Array(m.buf.buffer, 0, 1)];
      new Uint8Array(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength).fill(0xa5);
      expect(errorCode(() => where(m.buf)), 'where() on the live buffer').toBeUndefined();
      expect(snapshot().live, 'one more live allocation while it is held').toBeGreaterThan(before.live);
      m.release();
      expectUnreachable(all, c.name);
      expect(snapshot(), `${c.name}: stats after the free`).toEqual(before);
    });
  }

  it('(ii) on every strict path: a request the node cannot hold is HmsdkError ENOMEM, changes no counter, and the path works after', () => {
    const n = node0();
    const strict = cases().filter((c) => c.impossible);
    // Put every path in its "warm" state first (chunks mapped, free lists and cache filled).
    for (const c of strict) c.make().release();
    const ballast = exhaust(n);
    try {
      const promised = ballast.length * MAX_SIZE;
      for (const c of strict) {
        // The kernel's word: the node does not have the ballast plus this request free beyond its reserve.
        expect(promised + MAX_SIZE, `ballast ${promised} + request ${MAX_SIZE} vs MemFree of node ${n}`).toBeGreaterThan(nodeFree(n));
        const before = snapshot();
        let err: unknown;
        try {
          c.impossible!();
        } catch (e) {
          err = e;
        }
        expect(err, `${c.name}: the impossible request returned`).toBeInstanceOf(HmsdkError);
        expect((err as HmsdkError).code, `${c.name}: ${(err as Error).message}`).toBe('ENOMEM');
        expect(snapshot(), `${c.name}: counters after the refused request`).toEqual(before);
      }
    } finally {
      ballast.forEach((b) => free(b));
    }
    for (const c of strict) {
      const before = snapshot();
      const m = c.make();
      m.release();
      expect(snapshot(), `${c.name} after the refusal`).toEqual(before);
    }
  });

  it('a Worker terminated in the middle of allocations and refused requests: no abort', () => {
    const r = spawnSync(process.execPath, ['-e', TERMINATE], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal, `child signal; stderr: ${r.stderr}`).toBeNull();
    expect(r.status, `stderr: ${r.stderr}`).toBe(0);
    expect(r.stdout.trim()).toBe('ok');
  });

  it('inside a worker_threads Worker: (i) and (iii) on the small and large paths, (ii) ENOMEM without an abort', async () => {
    expect(fs.existsSync(DIST), `${DIST}: npm run build:ts`).toBe(true);
    const n = node0();
    const r = await runWorker({ node: n, impossible: false });
    expect(r.error, 'worker error').toBeUndefined();
    expect(r.exitCode, 'worker exit code').toBe(0);
    expect(r.out?.paths.map((p) => p.name)).toEqual(['fresh small', 'cached small', 'fresh large', 'cached large']);
    for (const p of r.out!.paths) {
      expect(p.lengths, `${p.name}: views after free`).toEqual([0, 0, 0]);
      expect(p.where, `${p.name}: where()`).toEqual(['EFREED', 'EFREED', 'EFREED']);
      expect(p.migrate, `${p.name}: migrate()`).toEqual(['EFREED', 'EFREED', 'EFREED']);
      for (const f of p.free) expect(['EFREED', 'EDOUBLEFREE'], `${p.name}: free()`).toContain(f);
      expect(p.after, `${p.name}: counters`).toEqual(p.before);
    }
    const ballast = exhaust(n);
    try {
      expect(ballast.length * MAX_SIZE + MAX_SIZE).toBeGreaterThan(nodeFree(n));
      const r2 = await runWorker({ node: n, impossible: true });
      expect(r2.error, 'worker error').toBeUndefined();
      expect(r2.exitCode, 'worker exit code').toBe(0);
      expect(r2.out?.impossible, 'impossible strict request in the worker').toBe('ENOMEM');
      expect(r2.out?.impossibleCounters, 'counters unchanged by the refused request').toBe(true);
    } finally {
      ballast.forEach((b) => free(b));
    }
  });
});
