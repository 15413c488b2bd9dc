// Strict allocations on a FULL EXMEM node (npm run test:numa, both kernels).
//
// What this proves: a strict (bind) allocation that the SDK's reuse cache
// could serve (a freed, never-touched mapping of the same size is cached)
// fails with HmsdkError ENOMEM when the node's free memory, by the kernel's
// word (nodeN/meminfo MemFree), is smaller than the request, and the
// process stays alive, for every way of asking: lazy (s_malloc, allocate
// with zero: false), zeroed (allocate's default, s_calloc) and populate:
// true. And: every strict buffer that IS returned on a full node can be
// touched without an OOM kill.
//
// Why children: a bound node that runs out does not fail the page fault;
// the kernel OOM-kills a process. Each scenario runs in a child node
// process that raises its own oom_score_adj to 1000 so that it, not vitest,
// is the victim; a kill shows as the child dying by SIGKILL and as a
// "Killed process" line in dmesg, and fails the test with that message.
//
// How the node is made full: a filler process (oom_score_adj -1000) takes
// the node's free memory with a `policy: 'preferred'` populated allocation
// (the kernel fills the node to its watermark and spills the rest, never
// OOM-kills for it; the SDK's strict accounting does not count it, only
// MemFree shows it). It holds all but a slack part, which it takes only
// while a child runs its step 3 and gives back after:
//   1. child: allocate S strict on EXMEM, untouched (move_pages: no page),
//      free it (its mapping goes to the reuse cache); print "cached";
//   2. test: filler takes the slack: MemFree(node) < S now;
//   3. child: ask for S again (variant) and report JSON; exit 0.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topology } from '../../src/topology/current';
import { requireVm } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist', 'index.js');
const MiB = 2 ** 20;
/** Large-mapping path (> 32 KiB), under the 64 MiB reuse cache, and more than a full node's watermark free memory. */
const S = 48 * MiB;
/** What the filler gives back for a child's step 1: S + the 32 MiB reserve + margin. */
const SLACK = 192 * MiB;

const MEMINFO = `
function nodeFree(n) {
  const t = require('fs').readFileSync('/sys/devices/system/node/node' + n + '/meminfo', 'utf8');
  return Number(/MemFree:\\s+(\\d+) kB/.exec(t)[1]) * 1024;
}`;

const FILLER = `
'use strict';
const fs = require('fs');
const h = require(${JSON.stringify(DIST)});
${MEMINFO}
const node = Number(process.argv[1]);
const SLACK = ${SLACK};
try { fs.writeFileSync('/proc/self/oom_score_adj', '-1000'); } catch (e) { /* not root: best effort */ }
const say = (s) => fs.writeSync(1, s + '\\n');
const base = h.allocate(Math.max(nodeFree(node) - SLACK, 4096), { node, policy: 'preferred', populate: true, zero: false });
let slack = null;
function take() { slack = h.allocate(Math.max(nodeFree(node), 4096), { node, policy: 'preferred', populate: true, zero: false }); }
say('ready ' + nodeFree(node)); // the slack is free until a child's step 1 is done
require('readline').createInterface({ input: process.stdin }).on('line', (l) => {
  if (l === 'release') { h.free(slack); slack = null; h.trim(); say('released ' + nodeFree(node)); }
  else if (l === 'take') { take(); say('full ' + nodeFree(node)); }
  else if (l === 'exit') { h.free(base); if (slack) h.free(slack); process.exit(0); }
});`;

const CHILD = `
'use strict';
const fs = require('fs');
const h = require(${JSON.stringify(DIST)});
${MEMINFO}
fs.writeFileSync('/proc/self/oom_score_adj', '1000');
const [node, S, variant] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
const stage = (s) => fs.writeSync(2, 'stage: ' + s + '\\n');
const out = { variant, steps: [] };
function describeErr(e) { return { name: e && e.name, code: e && e.code, message: String(e && e.message) }; }
// One strict request; a returned buffer is touched (the guarantee: touching it never OOM-kills).
function attempt(size, how) {
  const r = { size, how, freeBefore: nodeFree(node) };
  let b;
  try {
    stage('allocate ' + how + ' ' + size);
    switch (how) {
      case 's_malloc': b = h.s_malloc('EXMEM', size); break;
      case 'lazy': b = h.allocate(size, { node, zero: false }); break;
      case 'zeroed': b = h.allocate(size, { node }); break;
      case 's_calloc': b = h.s_calloc('EXMEM', size / 4096, 4096); break;
      case 'populate': b = h.allocate(size, { node, populate: true }); break;
      default: throw new Error('bad how ' + how);
    }
  } catch (e) {
    r.outcome = 'threw';
    r.error = describeErr(e);
    out.steps.push(r);
    return r;
  }
  r.outcome = 'allocated';
  stage('touch ' + how + ' ' + size);
  b.fill(0x5a);
  const w = h.where(b);
  r.where = { onNode: w.nodes[node] || 0, total: w.total, nodes: w.nodes };
  h.free(b);
  out.steps.push(r);
  return r;
}
// Step 1: S strict on the node, untouched, freed: its mapping goes to the reuse cache.
stage('step 1');
const sizes = variant === 'sweep' ? [S, 8 << 20, 1 << 20] : [S];
const firsts = sizes.map((sz) => h.allocate(sz, { node, zero: false }));
out.untouched = firsts.map((b) => Object.values(h.where(b).nodes).every((p) => p === 0)); // no page resident on any node
firsts.forEach((b) => h.free(b));
// sweep: a live small block keeps an arena chunk mapped on the node
const small = variant === 'sweep' ? h.allocate(1024, { node }) : null;
out.cachedBytes = h.stats().sdk.cachedBytes; // informational only
fs.writeSync(1, 'cached\\n');
require('readline').createInterface({ input: process.stdin }).once('line', () => {
  stage('step 3');
  out.freeAtStep3 = nodeFree(node);
  if (variant === 'sweep') {
    for (const sz of sizes) attempt(sz, 'zeroed');
    attempt(64 << 10, 'zeroed');
    for (let i = 0; i < 64; i++) attempt(16 << 10, 'zeroed');
    h.free(small);
  } else {
    attempt(S, variant);
  }
  out.alive = true;
  fs.writeSync(1, JSON.stringify(out) + '\\n');
  process.exit(0);
});`;

interface Attempt {
  size: number;
  how: string;
  freeBefore: number;
  outcome: 'threw' | 'allocated';
  error?: { name: string; code: string; message: string };
  where?: { onNode: number; total: number; nodes: Record<string, number> };
}
interface ChildReport {
  variant: string;
  steps: Attempt[];
  untouched: boolean[];
  freeAtStep3: number;
  alive: boolean;
}

/** Lines of a child's stdout, one at a time. */
function lineReader(cp: ChildProcess): () => Promise<string | null> {
  const rl = readline.createInterface({ input: cp.stdout! });
  const queue: string[] = [];
  const waiters: ((l: string | null) => void)[] = [];
  let closed = false;
  rl.on('line', (l) => (waiters.length ? waiters.shift()!(l) : queue.push(l)));
  rl.on('close', () => {
    closed = true;
    while (waiters.length) waiters.shift()!(null);
  });
  return () => (queue.length ? Promise.resolve(queue.shift()!) : closed ? Promise.resolve(null) : new Promise((res) => waiters.push(res)));
}

function nodeFreeNow(node: number): number {
  const t = fs.readFileSync(`/sys/devices/system/node/node${node}/meminfo`, 'utf8');
  return Number(/MemFree:\s+(\d+) kB/.exec(t)?.[1] ?? NaN) * 1024;
}

function oomLines(): string[] {
  return execFileSync('dmesg', { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /Killed process|oom-kill:|Out of memory/.test(l));
}

describe('strict allocations on a full EXMEM node', () => {
  let exmem: number;
  let filler: ChildProcess;
  let fillerLine: () => Promise<string | null>;

  async function fillerSay(cmd: string, expectWord: string): Promise<number> {
    filler.stdin!.write(cmd + '\n');
    const l = await fillerLine();
    if (!l || !l.startsWith(expectWord + ' ')) throw new Error(`filler: expected '${expectWord}', got ${JSON.stringify(l)}`);
    return Number(l.split(' ')[1]);
  }

  beforeAll(async () => {
    requireVm();
    const t = topology();
    expect(t.exmemNodes.length, 'the preset has an EXMEM node').toBeGreaterThan(0);
    exmem = t.exmemNodes[0] as number;
    expect(fs.existsSync(DIST), `${DIST} (npm run build:ts)`).toBe(true);
    filler = spawn(process.execPath, ['-e', FILLER, String(exmem)], { stdio: ['pipe', 'pipe', 'inherit'] });
    fillerLine = lineReader(filler);
    const first = await fillerLine();
    if (!first?.startsWith('ready ')) throw new Error(`filler did not fill node ${exmem}: ${JSON.stringify(first)}`);
  });
  afterAll(async () => {
    if (!filler) return;
    filler.stdin!.write('exit\n');
    await new Promise((res) => {
      const t = setTimeout(() => {
        filler.kill('SIGKILL');
        res(undefined);
      }, 10_000);
      filler.once('exit', () => {
        clearTimeout(t);
        res(undefined);
      });
    });
  });

  /** Run one child scenario against the full node; fail clearly on an OOM kill. */
  async function scenario(variant: string): Promise<ChildReport> {
    const freeReleased = nodeFreeNow(exmem);
    expect(freeReleased, `node ${exmem} with the filler's slack free`).toBeGreaterThan(S + 64 * MiB);
    const oomBefore = oomLines().length;
    const child = spawn(process.execPath, ['-e', CHILD, String(exmem), String(S), variant], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
    const line = lineReader(child);
    const cached = await line();
    let report: string | null = null;
    let filled = false;
    let failure: unknown;
    try {
      if (cached !== 'cached') throw new Error(`child step 1 failed: ${JSON.stringify(cached)}; stderr: ${stderr}`);
      const full = await fillerSay('take', 'full');
      filled = true;
      // The kernel's word: the node cannot hold S now.
      expect(full, `MemFree of node ${exmem} after the fill`).toBeLessThan(S);
      child.stdin.write('go\n');
      report = await line();
    } catch (e) {
      failure = e;
    } finally {
      child.stdin.end();
    }
    const { code, signal } = await exited;
    // The node is full only while step 3 runs: give the slack back now.
    if (filled) await fillerSay('release', 'released');
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what the step threw, as it was
    if (failure) throw failure;
    const newOom = oomLines().slice(oomBefore);
    const lastStage = stderr.trim().split('\n').filter((l) => l.startsWith('stage: ')).pop();
    expect(
      signal === 'SIGKILL' || code === 137,
      `child (${variant}) was killed by SIGKILL at "${lastStage}": an OOM kill on a full strict node; dmesg: ${newOom.join(' | ')}`,
    ).toBe(false);
    expect(newOom, `the kernel OOM-killed a process during the ${variant} scenario (last stage "${lastStage}")`).toEqual([]);
    expect({ code, signal }, `child (${variant}) exit; stderr: ${stderr}`).toEqual({ code: 0, signal: null });
    const r = JSON.parse(report ?? 'null') as ChildReport;
    expect(r.alive).toBe(true);
    expect(r.untouched.every(Boolean), 'step 1 mappings were never touched (move_pages: no resident page)').toBe(true);
    expect(r.freeAtStep3, `MemFree of node ${exmem} at step 3`).toBeLessThan(S);
    return r;
  }

  function expectEnomem(a: Attempt | undefined, what: string): void {
    expect(a, what).toBeDefined();
    const info = `${what}: ${a!.outcome}${a!.error ? ` ${a!.error.name} ${a!.error.code} ${a!.error.message}` : ''}; MemFree ${(a!.freeBefore / MiB).toFixed(1)} MiB < request ${(a!.size / MiB).toFixed(0)} MiB`;
    expect(a!.outcome, info).toBe('threw');
    expect(a!.error?.name, info).toBe('HmsdkError');
    expect(a!.error?.code, info).toBe('ENOMEM');
  }

  for (const [variant, what] of [
    ['s_malloc', "lazy s_malloc('EXMEM', S)"],
    ['lazy', 'lazy allocate(S, { node, zero: false })'],
    ['zeroed', 'zeroed allocate(S, { node }) (zeroes by default)'],
    ['s_calloc', "zeroed s_calloc('EXMEM', S / 4096, 4096)"],
    ['populate', 'allocate(S, { node, populate: true })'],
  ] as const) {
    it(`${what} with a cached mapping of S on a full node: ENOMEM, process alive`, async () => {
      const r = await scenario(variant);
      expectEnomem(r.steps[0], what);
    });
  }

  it('every strict buffer returned on a full node (cached large, fresh large, arena) is safe to touch and on the node', async () => {
    const r = await scenario('sweep');
    for (const a of r.steps) {
      if (a.outcome === 'threw') {
        expect(`${a.error?.name} ${a.error?.code}`, `${a.size} bytes: ${a.error?.message}`).toBe('HmsdkError ENOMEM');
      } else {
        // returned, touched, survived: and by move_pages every page is on the node
        expect(a.where?.onNode, `${a.size} bytes: ${JSON.stringify(a.where)}`).toBe(a.where?.total);
      }
    }
    // By the kernel's word S cannot fit: that request must have been refused.
    expectEnomem(r.steps[0], 'allocate(S, { node }) with a cached mapping of S');
  });
});
