// Transparent mode on the host (one NUMA node is enough: node 0). Real
// programs run under build/Release/hmsdk_preload.so; the evidence is their
// exit status, their own output, the library's statistics and the kernel's
// /proc/PID/numa_maps. No mocks.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hmsdk } from './helpers/cli';

const root = path.join(__dirname, '..');
const SO = path.join(root, 'build', 'Release', 'hmsdk_preload.so');
const MiB = 2 ** 20;
let dir: string;
let stress: string;
let forker: string;
let python: string;

/** Run a program under the preload; returns status, output and the stats lines it wrote. */
function under(conf: string | undefined, cmd: string, args: string[], extraEnv: Record<string, string> = {}) {
  const statsFile = path.join(dir, `stats-${Math.random().toString(36).slice(2)}.%p`);
  const env: Record<string, string | undefined> = { ...process.env, LD_PRELOAD: SO, ...extraEnv };
  delete env.HMSDK_CONF;
  if (conf !== undefined) env.HMSDK_CONF = conf.includes('stats=') ? conf : `${conf},stats=exit,stats_file=${statsFile}`;
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * MiB });
  const prefix = path.basename(statsFile).replace('%p', '');
  const stats = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix))
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n'))
    .map(parseStats);
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, stats };
}

function parseStats(line: string): Record<string, string> {
  expect(line.startsWith('hmsdk-preload-stats ')).toBe(true);
  return Object.fromEntries(line.split(' ').slice(1).map((kv) => kv.split('=') as [string, string]));
}

const num = (s: Record<string, string>, k: string): number => {
  expect(s[k], `stats field ${k}`).toBeDefined();
  return Number(s[k]);
};

/** Sum of N0 pages over numa_maps lines whose policy is `policy`. */
const NUMA_MAPS_JS = `
const fs = require('fs');
function pages(policy) {
  let n = 0;
  for (const line of fs.readFileSync('/proc/self/numa_maps', 'utf8').split('\\n')) {
    const f = line.split(' ');
    if (f[1] !== policy) continue;
    for (const kv of f) { const m = /^N0=(\\d+)$/.exec(kv); if (m) n += Number(m[1]); }
  }
  return n;
}`;

beforeAll(() => {
  if (!fs.existsSync(SO)) throw new Error(`${SO} is missing: run npm run build:native`);
  // The library's own sources, as binding.gyp lists them (JSON once its # comments are gone).
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8').replace(/^\s*#.*$/gm, '')) as {
    targets: { target_name: string; sources: string[] }[];
  };
  const sources = gyp.targets.find((t) => t.target_name === 'hmsdk_preload')?.sources ?? [];
  expect(sources.length).toBeGreaterThan(0);
  for (const f of sources) {
    const src = path.join(root, f);
    if (fs.statSync(SO).mtimeMs < fs.statSync(src).mtimeMs) throw new Error(`${SO} is older than ${src}: run npm run build:native`);
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-preload-'));
  stress = path.join(dir, 'stress');
  execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', stress, path.join(__dirname, 'preload', 'stress.c')], { stdio: 'inherit' });
  forker = path.join(dir, 'fork');
  execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', forker, path.join(__dirname, 'preload', 'fork.c')], { stdio: 'inherit' });
  // The real interpreter, not a pyenv/venv shim script (which would run more processes).
  python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('preload: real programs', () => {
  it('C stress with every block placed (threshold 0: arena slots and extents): intact data, no leak, no bad free', () => {
    const r = under('nodes=0', stress, ['4', '20000', String(32 * 1024)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = /stress ok ops=(\d+) large_ops=(\d+) nulls=(\d+) xthread_frees=(\d+)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![3])).toBe(0);
    const s = r.stats[0]!;
    expect(num(s, 'small_count'), 'small blocks come from the arena (counted when a thread cache misses)').toBeGreaterThan(500);
    expect(num(s, 'bad_frees')).toBe(0);
    expect(num(s, 'fallback_count')).toBe(0);
    expect(num(s, 'live_bytes'), 'every block the stress made was freed (libc may keep a few of its own)').toBeLessThan(256 * 1024);
  });

  it('C stress (threads, sizes across the threshold, realloc both ways, memalign family, cross-thread frees): intact data, no leak', () => {
    const r = under('nodes=0,threshold=64K', stress, ['4', '20000', String(64 * 1024)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = /stress ok ops=(\d+) large_ops=(\d+) nulls=(\d+) xthread_frees=(\d+)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBe(80_000);
    expect(Number(m![3])).toBe(0);
    expect(Number(m![4])).toBeGreaterThan(0);
    expect(r.stats).toHaveLength(1);
    const s = r.stats[0]!;
    expect(num(s, 'placed_count')).toBeGreaterThan(10_000);
    expect(num(s, 'free_count')).toBe(num(s, 'placed_count'));
    expect(num(s, 'peak_bytes')).toBeGreaterThan(0);
    expect(num(s, 'live_bytes')).toBe(0);
    expect(num(s, 'node0_live_bytes')).toBe(0);
    expect(num(s, 'realloc_moved')).toBeGreaterThan(0);
    expect(num(s, 'mbind_errors') + num(s, 'fail_count') + num(s, 'fallback_count')).toBe(0);
  });

  it('fork() while three threads place and free large blocks: every child places its own block and exits (no lock held across the fork)', () => {
    const r = under('nodes=0,threshold=64K', forker, ['1000']);
    expect(r.signal, 'a child hung: the test timed out').toBeNull();
    expect(r.stdout.trim()).toBe('fork ok 1000');
    expect(r.status).toBe(0);
    expect(num(r.stats[0]!, 'placed_count')).toBeGreaterThan(1000);
  });

  it('the same stress without the preload is the control (no stats, same result)', () => {
    const r = spawnSync(stress, ['2', '5000', String(64 * 1024)], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^stress ok/);
  });

  it('node: 512 MiB of Buffers are bound to node 0 (numa_maps bind:0, N0 pages)', () => {
    const js = `${NUMA_MAPS_JS}
const bufs = [];
for (let i = 0; i < 8; i++) bufs.push(Buffer.alloc(64 * 1024 * 1024, i + 1));
let ok = bufs.every((b, i) => b[0] === i + 1 && b[b.length - 1] === i + 1);
console.log(JSON.stringify({ ok, bound: pages('bind:0') }));`;
    const r = under('nodes=0,policy=bind', process.execPath, ['-e', js]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.ok).toBe(true);
    expect(out.bound).toBeGreaterThanOrEqual((512 * MiB) / 4096);
    const s = r.stats.find((x) => num(x, 'placed_count') > 0)!;
    expect(num(s, 'peak_bytes')).toBeGreaterThanOrEqual(512 * MiB);
    expect(num(s, 'node0_peak_bytes')).toBeGreaterThanOrEqual(512 * MiB);
    // control: without the preload nothing is bound
    const c = spawnSync(process.execPath, ['-e', js], { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: '' } });
    expect(JSON.parse(c.stdout.trim()).bound).toBe(0);
  });

  it('python: a 256 MiB bytearray is bound to node 0', () => {
    const py = `
import re
b = bytearray(256 * 1024 * 1024)
b[0] = 1; b[-1] = 2
n = 0
for line in open('/proc/self/numa_maps'):
    f = line.split()
    if len(f) > 1 and f[1] == 'bind:0':
        n += sum(int(m.group(1)) for m in (re.match(r'N0=(\\d+)$', x) for x in f) if m)
print(n)`;
    const r = under('nodes=0,policy=bind,min_size=1M', python, ['-c', py]);
    expect(r.status, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThanOrEqual((256 * MiB) / 4096);
    expect(r.stats).toHaveLength(1);
    expect(num(r.stats[0]!, 'placed_count')).toBeGreaterThan(0);
    expect(num(r.stats[0]!, 'live_bytes')).toBe(0);
  });

  it('interleave and weighted policies place too (numa_maps interleave:0; weighted ranges prefer:0)', () => {
    const js = `${NUMA_MAPS_JS}
const b = Buffer.alloc(64 * 1024 * 1024, 1);
console.log(pages('interleave:0'), pages('prefer:0'));`;
    const il = under('nodes=0,policy=interleave', process.execPath, ['-e', js]);
    expect(il.status, il.stderr).toBe(0);
    expect(Number(il.stdout.trim().split(' ')[0])).toBeGreaterThanOrEqual((64 * MiB) / 4096);
    const w = under('weights=0:3,stripe=1M', process.execPath, ['-e', js]);
    expect(w.status, w.stderr).toBe(0);
    expect(Number(w.stdout.trim().split(' ')[1])).toBeGreaterThanOrEqual((64 * MiB) / 4096);
  });
});

describe('preload: configuration errors', () => {
  const cases: [string, RegExp][] = [
    ['tresh=1M,nodes=0', /^hmsdk-preload: unknown key 'tresh' in HMSDK_CONF; memory placement disabled$/],
    ['nodes=0,cap=12Q', /^hmsdk-preload: bad value '12Q' for key 'cap' \(expected bytes 1\.\.1PiB, .*\) in HMSDK_CONF; memory placement disabled$/],
    ['nodes=0,policy=bindd', /^hmsdk-preload: bad value 'bindd' for key 'policy'/],
    ['nodes=999', /^hmsdk-preload: node 999 has no memory or does not exist in HMSDK_CONF; memory placement disabled$/],
    ['policy=bind', /^hmsdk-preload: 'nodes' \(or 'weights'\) is required/],
    ['nodes=0,nodes=0', /^hmsdk-preload: key 'nodes' given twice/],
    ['weights=0:2,stripe=9223372036854775808', /^hmsdk-preload: bad value '9223372036854775808' for key 'stripe'/],
    ['nodes=0,threshold=18446744073709551616', /^hmsdk-preload: bad value '18446744073709551616' for key 'threshold'/],
    ['nodes=0,' + 'x'.repeat(5000), /^hmsdk-preload: HMSDK_CONF is longer than 4095 bytes/],
  ];
  for (const [conf, re] of cases) {
    it(`HMSDK_CONF=${conf.length > 60 ? `${conf.slice(0, 40)}… (${conf.length} chars)` : conf}: one stderr line, the program runs unchanged and exits 0`, () => {
      const js = `${NUMA_MAPS_JS}
const b = Buffer.alloc(32 * 1024 * 1024, 1); console.log(pages('bind:0'));`;
      const r = under(`${conf},stats=exit`, process.execPath, ['-e', js]);
      expect(r.status).toBe(0);
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(re);
      expect(Number(r.stdout.trim())).toBe(0); // nothing placed
    });
  }
});

describe('preload: caps and overflow policies', () => {
  const args = ['2', '6000', String(64 * 1024)];
  it('overflow=fail: the program sees NULL/ENOMEM, handles it, and nothing leaks', () => {
    const r = under('nodes=0,threshold=64K,cap=8M,overflow=fail', stress, args);
    expect(r.status, r.stderr).toBe(0);
    const nulls = Number(/nulls=(\d+)/.exec(r.stdout)![1]);
    expect(nulls).toBeGreaterThan(0);
    const s = r.stats[0]!;
    expect(num(s, 'fail_count')).toBeGreaterThanOrEqual(nulls);
    expect(num(s, 'cap_hits')).toBeGreaterThan(0);
    expect(num(s, 'peak_bytes')).toBeLessThanOrEqual(8 * MiB);
    expect(num(s, 'live_bytes')).toBe(0);
  });

  it('overflow=fallback: no NULL, counters show fallbacks, the cap held', () => {
    const r = under('nodes=0,threshold=64K,cap=8M,overflow=fallback', stress, args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nulls=0 /);
    const s = r.stats[0]!;
    expect(num(s, 'fallback_count')).toBeGreaterThan(0);
    expect(num(s, 'peak_bytes')).toBeLessThanOrEqual(8 * MiB);
    expect(num(s, 'live_bytes')).toBe(0);
  });

  it('overflow=interleave: no NULL, overflow blocks are interleaved and freed', () => {
    const r = under('nodes=0,threshold=64K,cap=8M,overflow=interleave', stress, args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nulls=0 /);
    const s = r.stats[0]!;
    expect(num(s, 'overflow_interleave_count')).toBeGreaterThan(0);
    expect(num(s, 'overflow_peak_bytes')).toBeGreaterThan(0);
    expect(num(s, 'overflow_live_bytes')).toBe(0);
    expect(num(s, 'live_bytes')).toBe(0);
  });

  it('a full node (reserve larger than its free memory) is refused before mapping, never OOM', () => {
    const r = under('nodes=0,threshold=64K,reserve=1T,overflow=fallback', stress, args);
    expect(r.status, r.stderr).toBe(0);
    const s = r.stats[0]!;
    expect(num(s, 'node_full_hits')).toBeGreaterThan(0);
    expect(num(s, 'placed_count')).toBe(0);
  });
});

describe('preload: statistics', () => {
  it('stats on a signal (write(2) from the handler), JSON format', () => {
    const f = path.join(dir, 'sig.%p.json');
    const r = under(`nodes=0,stats=signal,stats_format=json,stats_file=${f}`, process.execPath, [
      '-e',
      "const b = Buffer.alloc(8 << 20); process.kill(process.pid, 'SIGUSR2'); setTimeout(() => {}, 100);",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const files = fs.readdirSync(dir).filter((x) => x.startsWith('sig.'));
    expect(files).toHaveLength(1);
    const j = JSON.parse(fs.readFileSync(path.join(dir, files[0]!), 'utf8').trim());
    expect(j.reason).toBe('signal');
    expect(j.live_bytes).toBeGreaterThanOrEqual(8 * MiB);
    expect(j.nodes['0'].live_bytes).toBeGreaterThanOrEqual(8 * MiB);
  });
});

describe('hmsdk run', () => {
  it('resolves --nodes, writes HMSDK_CONF and LD_PRELOAD, returns the exit code', () => {
    const f = path.join(dir, 'cli.%p');
    const r = hmsdk('run', '--nodes', '0', '--min-size', '1MiB', '--stats-file', f, '--', python, '-c', 'b = bytearray(64 << 20); raise SystemExit(7)');
    expect(r.code, r.err).toBe(7);
    const files = fs.readdirSync(dir).filter((x) => x.startsWith('cli.'));
    expect(files).toHaveLength(1);
    const s = parseStats(fs.readFileSync(path.join(dir, files[0]!), 'utf8').trim());
    expect(num(s, 'placed_count')).toBeGreaterThan(0);
    expect(num(s, 'threshold')).toBe(MiB);
  });
});
