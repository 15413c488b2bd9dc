// A pending native write into a freed buffer (host).
//
// What this proves: when a buffer is freed while a native asynchronous
// write into it is still queued (crypto.randomFill, or fs.read from
// /dev/urandom, on the libuv thread pool), the write, when it happens
// AFTER the free and AFTER new allocations of the same size have been made
// and filled, changes no other live buffer and does not crash the process;
// and the allocator keeps handing out non-overlapping memory afterwards
// (every live buffer holds its own pattern through a churn of allocations
// and frees). Paths: 1 KiB blocks (arena size class, free list) and 1 MiB /
// 8 MiB blocks (own mapping, reuse cache).
//
// How the ordering is forced: the child runs with UV_THREADPOOL_SIZE=1 and
// queues several large randomFill jobs on plain (non-SDK) scratch buffers
// before the write into the victim, so the single pool thread reaches the
// victim only after the main thread has freed it, allocated and filled the
// replacements (same tick), and kept allocating over the next turns. Each
// trial records whether that ordering held (the victim's callback fired
// after the replacements were filled); the test fails if it never did, so
// it cannot pass without exercising the hazard.
//
// Two small-block shapes: "reuse" (the replacements are allocated before
// the write: a recycled address would receive the random bytes) and
// "idle" (no allocation of that size until the write is done: a free list
// that keeps its next pointer inside the freed block is overwritten, and
// the allocations after it return wild addresses or crash).
//
// Each scenario runs in a child process: a crash (SIGSEGV) fails the test
// with the child's signal instead of killing the test runner.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'index.js');

const CHILD = `
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const h = require(${JSON.stringify(DIST)});
const [size, mode, mech, trials, nlive] = [Number(process.argv[1]), process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const large = size > 32 * 1024;
const SCRATCH = 8, SCRATCH_BYTES = 16 << 20;
const scratch = Array.from({ length: SCRATCH }, () => Buffer.allocUnsafe(SCRATCH_BYTES));
const urandom = fs.openSync('/dev/urandom', 'r');
let nextId = 1;
const live = new Map(); // id -> buffer
const tag = (id) => 1 + ((id * 37) % 251);
const templates = new Map();
function template(t) {
  let b = templates.get(t);
  if (!b) { if (templates.size > 16) templates.clear(); b = Buffer.alloc(size - 8, t); templates.set(t, b); }
  return b;
}
function mark(b, id) { b.fill(tag(id)); b.writeUInt32LE(id, 0); b.writeUInt32LE(id, b.length - 4); }
function intact(b, id) {
  if (b.length !== size) return 'length ' + b.length;
  if (b.readUInt32LE(0) !== id || b.readUInt32LE(b.length - 4) !== id) return 'id words ' + b.readUInt32LE(0) + '/' + b.readUInt32LE(b.length - 4);
  const body = b.subarray(4, b.length - 4);
  if (!body.equals(template(tag(id)))) {
    let i = 0; while (body[i] === tag(id)) i++;
    return 'byte ' + (i + 4) + ' = ' + body[i] + ' (want ' + tag(id) + ')';
  }
  return null;
}
function alloc() { const id = nextId++; const b = h.allocate(size); mark(b, id); live.set(id, b); return id; }
function release(id) {
  const b = live.get(id);
  const bad = intact(b, id);
  if (bad) throw new Error('block ' + id + ' corrupt before free: ' + bad);
  live.delete(id);
  h.free(b);
}
function verifyAll(when) {
  for (const [id, b] of live) { const bad = intact(b, id); if (bad) return when + ': live block ' + id + ' changed: ' + bad; }
  return null;
}
function pendingWrite(b, cb) {
  if (mech === 'randomFill') crypto.randomFill(b, (err) => cb(err));
  else fs.read(urandom, b, 0, b.length, null, (err) => cb(err));
}
const report = { trials: 0, exercised: 0, turnsBefore: 0, failures: [] };
function trial(k, done) {
  for (let i = 0; i < nlive; i++) alloc();
  const ids = [...live.keys()];
  const victimId = ids[Math.floor(ids.length / 2)];
  const victim = live.get(victimId);
  live.delete(victimId);
  // One pool thread, FIFO: scratch jobs, then the witness, then the victim.
  // While the witness (plain memory) still reads zero, the victim's write has not started.
  for (const s of scratch) crypto.randomFill(s, () => {});
  const witness = Buffer.alloc(4096);
  crypto.randomFill(witness, () => {});
  const notYet = () => witness.every((x) => x === 0);
  let fired = false, turns = 0, ordered = false;
  pendingWrite(victim, () => {
    fired = true;
    setImmediate(after); // let the callback's turn end, then check and churn
  });
  h.free(victim); // same tick: the write is still queued
  if (mode === 'reuse') {
    for (let i = 0; i < (large ? 2 : 64); i++) alloc(); // same size, same tick, filled
    ordered = notYet();
    (function more() {
      if (fired || turns >= (large ? 2 : 400)) return;
      turns++;
      for (let i = 0; i < (large ? 1 : 8); i++) alloc();
      setImmediate(more);
    })();
  } else {
    ordered = notYet(); // "idle": nothing of this size is allocated before the write
  }
  if (ordered) report.exercised++;
  function after() {
    report.trials++;
    report.turnsBefore += turns;
    let bad = verifyAll('trial ' + k + ' after the write');
    // keep allocating and freeing for a while, checking every pattern
    const rounds = large ? 24 : 4000, cap = large ? 6 : 3000;
    for (let r = 0; r < rounds && !bad; r++) {
      if (live.size >= cap || (live.size > 0 && r % 3 === 2)) { const l = [...live.keys()]; release(l[(r * 7919) % l.length]); }
      else alloc();
      if (r % 500 === 499) bad = verifyAll('trial ' + k + ' churn ' + r);
    }
    if (!bad) bad = verifyAll('trial ' + k + ' end');
    if (bad) report.failures.push(bad);
    else for (const id of [...live.keys()]) release(id);
    done();
  }
}
let k = 0;
(function next() {
  if (k === trials || report.failures.length) {
    fs.writeSync(1, JSON.stringify(report) + '\\n');
    fs.writeSync(1, report.failures.length ? 'corrupt\\n' : 'ok\\n');
    process.exit(0);
  }
  trial(k++, next);
})();`;

interface Report {
  trials: number;
  /** Trials in which the witness proved the write had not started when the replacements were filled (reuse) / at the free (idle). */
  exercised: number;
  turnsBefore: number;
  failures: string[];
}

function runChild(size: number, mode: 'reuse' | 'idle', mech: 'randomFill' | 'fsRead', trials: number, nlive: number) {
  const r = spawnSync(process.execPath, ['-e', CHILD, String(size), mode, mech, String(trials), String(nlive)], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
  });
  const lines = r.stdout.trim().split('\n');
  const ctx = `size ${size} ${mode} ${mech}: exit ${r.status} signal ${r.signal}; stdout: ${r.stdout.trim().slice(0, 2000)}; stderr: ${r.stderr.trim().slice(0, 2000)}`;
  return { r, lines, ctx };
}

function check(size: number, mode: 'reuse' | 'idle', mech: 'randomFill' | 'fsRead', trials: number, nlive: number): void {
  const { r, lines, ctx } = runChild(size, mode, mech, trials, nlive);
  expect(r.signal, `the child crashed: ${ctx}`).toBeNull();
  expect(r.status, ctx).toBe(0);
  const rep = JSON.parse(lines[0] ?? 'null') as Report;
  expect(rep.failures, `a live buffer changed: ${ctx}`).toEqual([]);
  expect(lines[1], ctx).toBe('ok');
  expect(rep.trials).toBe(trials);
  // The hazard was exercised: the write came after the free and the replacements.
  expect(rep.exercised, `the pending write never came after the replacements: ${ctx}`).toBeGreaterThan(0);
}

describe('a pending native write into a freed buffer', () => {
  it('dist/ is built from the current src/ (the children load it)', () => {
    expect(fs.existsSync(DIST), `${DIST}: npm run build:ts`).toBe(true);
  });

  for (const mech of ['randomFill', 'fsRead'] as const) {
    it(`1 KiB blocks (arena), replacements allocated before the write (${mech}): other buffers intact, no crash`, () => {
      check(1024, 'reuse', mech, 4, 2000);
    });
    it(`1 KiB blocks (arena), no allocation until the write is done (${mech}): allocator intact, no crash`, () => {
      check(1024, 'idle', mech, 4, 2000);
    });
  }

  for (const size of [1 << 20, 8 << 20]) {
    it(`${size >> 20} MiB blocks (reuse cache), replacements allocated before the write (randomFill): other buffers intact`, () => {
      check(size, 'reuse', 'randomFill', 3, 4);
    });
  }
  it('1 MiB blocks (reuse cache), replacements allocated before the write (fsRead): other buffers intact', () => {
    check(1 << 20, 'reuse', 'fsRead', 3, 4);
  });
});
