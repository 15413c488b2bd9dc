// Transparent mode on whole programs nobody here wrote, by the kernel's
// word: each program runs under `hmsdk run --tier exmem` with default
// settings and, side by side, under `numactl --membind=<exmem>`; while it
// holds its data its /proc/PID/numa_maps is read from outside (the pid is
// the program's own: hmsdk run execs in place) and the resident anonymous
// memory (every mapping without a file, the main stack excluded) counted
// per node. hmsdk must have >= 95% of it on the EXMEM node, the output must
// match numactl's, and peak memory (VmHWM) must stay within 1.1x of
// numactl's. CPU time is printed here and compared in benchmark case 15
// (bench/cases/programs.js, with memkind's memtier too): timing belongs in
// benchmarks. The programs and their drivers are bench/lib/programs.js,
// shared with that case.
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { vmTierNodes } from './helpers';

interface Sample {
  anon: number;
  perNode: Record<string, number>;
  hwm: number;
  cpuMs: number;
}
interface Program {
  id: string;
  name: string;
  cmd: string[];
  fill: (out: () => string, port: number) => Promise<string>;
}
interface Run {
  sample: Sample;
  output: string;
  stderr: string;
  code: number | null;
}
interface ProgramsModule {
  programs: () => Program[];
  waitFor: (out: () => string, re: RegExp, ms?: number) => Promise<RegExpExecArray>;
  runUnder: (launcher: string[], p: Program, env?: NodeJS.ProcessEnv) => Promise<Run>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the drivers are plain CommonJS shared with the benchmark
const { programs, runUnder, waitFor } = require('../../bench/lib/programs.js') as ProgramsModule;

const ROOT = path.join(__dirname, '..', '..');
const MiB = 2 ** 20;
const HMSDK_RUN = [process.execPath, path.join(ROOT, 'bin', 'hmsdk.js'), 'run'];
const PROGRAMS = programs();
const program = (id: string): Program => PROGRAMS.find((p) => p.id === id)!;
const mib = (b: number): string => (b / MiB).toFixed(1);

describe('whole programs under hmsdk run --tier exmem (default settings) vs numactl --membind', () => {
  let exmem: number;
  beforeAll(() => {
    ({ exmem } = vmTierNodes());
  });

  it.each(PROGRAMS.map((p) => [p.name, p] as const))('%s: >= 95%% of its anonymous memory on EXMEM, same output, memory <= 1.1x numactl', async (_name, p) => {
    const hm = await runUnder([...HMSDK_RUN, '--tier', 'exmem', '--'], p);
    const nu = await runUnder(['numactl', `--membind=${exmem}`], p);
    const share = (s: Sample): number => (s.perNode[exmem] ?? 0) / s.anon;
    const line =
      `${p.name}: hmsdk ${(share(hm.sample) * 100).toFixed(1)}% of ${mib(hm.sample.anon)} MiB on node ${exmem}, peak ${mib(hm.sample.hwm)} MiB, cpu ${hm.sample.cpuMs} ms (launcher included); ` +
      `numactl ${(share(nu.sample) * 100).toFixed(1)}% of ${mib(nu.sample.anon)} MiB, peak ${mib(nu.sample.hwm)} MiB, cpu ${nu.sample.cpuMs} ms`;
    console.log(line);
    expect(hm.output, line).toBe(nu.output);
    expect(hm.sample.anon, `${line}: the program holds its data`).toBeGreaterThan(60 * MiB);
    expect(share(hm.sample), `${line}; stderr: ${hm.stderr.slice(-1000)}`).toBeGreaterThanOrEqual(0.95);
    expect(hm.sample.hwm / nu.sample.hwm, line).toBeLessThanOrEqual(1.1);
    expect(hm.stderr, 'no coverage warning when coverage is met').not.toMatch(/of this process's anonymous memory/);
  });
});

describe('the rules hold on the same programs', () => {
  let exmem: number;
  let normal: number;
  beforeAll(() => {
    ({ exmem, normal } = vmTierNodes());
  });
  const CAP = 48 * MiB;

  it.each(['sqlite3', 'memcached'])('%s under --cap 48MiB: EXMEM holds the cap within 5%%, the rest is on DRAM', async (id) => {
    const r = await runUnder([...HMSDK_RUN, '--tier', 'exmem', '--cap', '48MiB', '--expect', '0', '--'], program(id));
    const onExmem = r.sample.perNode[exmem] ?? 0;
    const onNormal = r.sample.perNode[normal] ?? 0;
    const line = `${id} --cap 48MiB: ${mib(r.sample.anon)} MiB anonymous, ${mib(onExmem)} MiB on node ${exmem}, ${mib(onNormal)} MiB on node ${normal}`;
    console.log(line);
    expect(r.sample.anon, `${line}: the program needs more than the cap`).toBeGreaterThan(1.5 * CAP);
    expect(Math.abs(onExmem - CAP) / CAP, line).toBeLessThanOrEqual(0.05);
    expect(onNormal, line).toBeGreaterThanOrEqual(r.sample.anon - onExmem - 2 * MiB);
  });

  it('sqlite3 under --min-size 64KiB: its 4 KB page blocks (a size class routed to DRAM) are on DRAM', async () => {
    const r = await runUnder([...HMSDK_RUN, '--tier', 'exmem', '--min-size', '64KiB', '--expect', '0', '--'], program('sqlite3'));
    const onNormal = r.sample.perNode[normal] ?? 0;
    const line = `sqlite3 --min-size 64KiB: ${mib(r.sample.anon)} MiB anonymous, ${mib(onNormal)} MiB on node ${normal}`;
    console.log(line);
    expect(onNormal / r.sample.anon, line).toBeGreaterThanOrEqual(0.9);
  });

  it('memory no interposition sees (a raw mmap system call): off the target and reported; --task-policy places it', async () => {
    const exe = path.join(os.tmpdir(), `hmsdk-raw-mmap-${process.pid}`);
    execFileSync('cc', ['-O2', '-o', exe, path.join(ROOT, 'test', 'preload', 'raw-mmap.c')]);
    const raw: Program = { id: 'raw', name: 'raw mmap', cmd: [exe], fill: async (out) => (await waitFor(out, /ready (\d+)/))[1]! };
    const plain = await runUnder([...HMSDK_RUN, '--tier', 'exmem', '--'], raw);
    expect((plain.sample.perNode[exmem] ?? 0) / plain.sample.anon, 'a raw mapping is not placed').toBeLessThan(0.5);
    expect(plain.stderr).toMatch(/MiB in memory no placement reached \(raw system calls/);
    const task = await runUnder([...HMSDK_RUN, '--tier', 'exmem', '--task-policy', '--'], raw);
    expect((task.sample.perNode[exmem] ?? 0) / task.sample.anon, 'the task policy places it').toBeGreaterThanOrEqual(0.95);
    expect(task.stderr).not.toMatch(/of this process's anonymous memory/);
  });

  it('below the asked share, the program says so at exit, with the reason, about its peak', async () => {
    // --no-maps leaves python's own pymalloc arenas unplaced: most of a list
    // of ints is off the target; python frees it before exit, so the line
    // must come from the reading taken at the peak.
    const r = await runUnder([...HMSDK_RUN, '--tier', 'exmem', '--no-maps', '--'], program('python'));
    expect((r.sample.perNode[exmem] ?? 0) / r.sample.anon).toBeLessThan(0.95);
    expect(r.stderr).toMatch(/hmsdk-preload: \d+% of this process's anonymous memory \(\d+ MiB, at its peak\) is on node \d+, asked 95%: \d+ MiB in memory no placement reached/);
  });
});
