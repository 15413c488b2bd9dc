// Smoke test of the performance suite (bench/run.js): runs it in --quick
// mode into a temporary directory and checks the JSON document's schema and
// the Markdown summary. NOT a timing assertion: quick mode uses tiny
// iteration counts and the machine is shared, so only shapes and invariants
// are checked (every case produced rows, numbers are finite and positive,
// verdicts agree with ratio and target).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');

interface Summary {
  name: string;
  median: number;
  p25: number;
  p75: number;
  mad: number;
  min: number;
  max: number;
  n: number;
}
interface Row {
  id: string;
  case: number;
  what: string;
  unit: string | null;
  ours: Summary | null;
  baseline: Summary | null;
  ratio: { value: number; p25: number; p75: number; n: number; definition: string } | null;
  kind: string | null;
  target: { op: '<=' | '>='; value: number } | null;
  met: boolean | null;
  status: 'met' | 'missed' | 'info' | 'skipped' | 'error';
  vsTarget: number | null;
  note: string;
  extra?: { incomplete?: string; matrix?: { history: string; label: string; size: number } };
}
interface ModelRow {
  preset: string;
  source: string;
  initiator: number;
  nodes: number[];
  weights: number[];
  planSource: string;
  dramOnlyMBps: number | null;
  interleave11MBps: number | null;
  engineMBps: number | null;
  gainOverDramOnly: number | null;
}
interface Doc {
  schema: string;
  host: string;
  date: string;
  quick: boolean;
  durationSec: number;
  env: { node: string; memNodes: number; emulated: boolean; nodes: { id: number; type: string }[] };
  rows: Row[];
  model: ModelRow[];
}

let dir: string;
let run: ReturnType<typeof spawnSync>;
let doc: Doc;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-bench-test-'));
  // bench/run.js re-executes itself with --expose-gc when needed.
  run = spawnSync(process.execPath, [path.join(root, 'bench', 'run.js'), '--quick', '--json', '--out', dir], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 90_000,
  });
  doc = JSON.parse(String(run.stdout)) as Doc;
}, 100_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('bench/run.js --quick', () => {
  it('exits 0 and prints one progress line per task on stderr', () => {
    expect(run.status, String(run.stderr)).toBe(0);
    const err = String(run.stderr);
    for (const c of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17]) expect(err).toMatch(new RegExp(`^bench: \\[${c}\\] `, 'm'));
    expect(err).toMatch(/median .*\/op/);
  });

  it('writes the JSON file and the Markdown summary into --out', () => {
    const files = fs.readdirSync(dir);
    const json = files.filter((f) => f.endsWith('-quick.json'));
    expect(json).toHaveLength(1);
    expect(JSON.parse(fs.readFileSync(path.join(dir, json[0]!), 'utf8'))).toEqual(doc);
    const md = fs.readFileSync(path.join(dir, 'latest-quick.md'), 'utf8');
    expect(md).toMatch(/^\| # \| what \| ours/m);
    expect(md).toMatch(/HMAT model, not measured/);
  });

  it('document header', () => {
    expect(doc.schema).toBe('hmsdk-bench/1');
    expect(doc.quick).toBe(true);
    expect(doc.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(doc.env.memNodes).toBeGreaterThanOrEqual(1);
    expect(doc.durationSec).toBeLessThan(60);
  });

  it('every case 1..8 and 10..17 has rows with the documented shape', () => {
    const cases = new Set(doc.rows.map((r) => r.case));
    for (const c of [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17]) expect(cases.has(c), `case ${c}`).toBe(true);
    // case 1: 4 sizes x 1 baseline; case 3: 3 sizes
    expect(doc.rows.filter((r) => r.case === 1)).toHaveLength(4);
    expect(doc.rows.filter((r) => r.case === 3)).toHaveLength(3);
    const ids = doc.rows.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of doc.rows) {
      expect(['met', 'missed', 'info', 'skipped'], `${r.id}: ${r.note}`).toContain(r.status);
      expect(typeof r.what).toBe('string');
      expect(typeof r.note).toBe('string');
      if (r.status === 'skipped') {
        expect(r.ratio).toBeNull();
        expect(r.note.length).toBeGreaterThan(0);
        continue;
      }
      for (const side of [r.ours, r.baseline]) {
        expect(side).not.toBeNull();
        expect(typeof side!.name).toBe('string');
        expect(side!.n).toBeGreaterThanOrEqual(1);
        for (const k of ['median', 'p25', 'p75', 'mad'] as const) expect(Number.isFinite(side![k]), `${r.id}.${k}`).toBe(true);
        // budget rows measure an amount (RSS growth), which can be zero or negative
        if (r.kind !== 'budget') expect(side!.median).toBeGreaterThan(0);
        expect(side!.p25).toBeLessThanOrEqual(side!.median);
        expect(side!.p75).toBeGreaterThanOrEqual(side!.median);
      }
      expect(r.ratio).not.toBeNull();
      if (r.kind !== 'budget') expect(r.ratio!.value).toBeGreaterThan(0);
      expect(r.ratio!.p25).toBeLessThanOrEqual(r.ratio!.value);
      expect(r.ratio!.p75).toBeGreaterThanOrEqual(r.ratio!.value);
      expect(['time', 'speedup', 'throughput', 'growth', 'budget', 'share']).toContain(r.kind);
      if (r.target === null) {
        expect(r.status).toBe('info');
        expect(r.met).toBeNull();
      } else if (r.extra?.incomplete) {
        expect(r.met).toBe(false);
        expect(r.status).toBe('missed');
      } else {
        const met = r.target.op === '<=' ? r.ratio!.value <= r.target.value : r.ratio!.value >= r.target.value;
        expect(r.met).toBe(met);
        expect(r.status).toBe(met ? 'met' : 'missed');
      }
    }
  });

  it('case 17: one row per trace, shares of requests, the optimum computed from the trace', () => {
    const rows = doc.rows.filter((r) => r.case === 17);
    expect(rows.map((r) => r.id)).toEqual(['pool-trace-zipf', 'pool-trace-shift', 'pool-trace-scan', 'pool-trace-http']);
    for (const r of rows) {
      expect(r.kind).toBe('share');
      for (const side of [r.ours!, r.baseline!]) expect(side.median).toBeLessThanOrEqual(1);
      expect(r.note).toMatch(/static \d/);
    }
  });

  it('case 1 explains the on-heap 64 B baseline; case 8 says it needs the VM on a one-node machine', () => {
    expect(doc.rows.find((r) => r.id === 'smalloc-64-vs-allocUnsafeSlow')!.note).toMatch(/on its heap/);
    const weighted = doc.rows.filter((r) => r.case === 8);
    expect(weighted.length).toBeGreaterThanOrEqual(1);
    if (doc.env.memNodes < 2) {
      for (const r of weighted) {
        expect(r.status).toBe('skipped');
        expect(r.note).toMatch(/needs the VM/);
      }
    }
  });

  it('case 15 (whole programs): CPU and memory rows per program vs numactl, outputs identical, the launcher apart', () => {
    const rows = doc.rows.filter((r) => r.case === 15);
    for (const p of ['node', 'python', 'sqlite3', 'redis', 'memcached', 'mmap']) {
      const cpu = rows.find((r) => r.id === `programs-${p}-hmsdk-vs-numactl-cpu`);
      expect(cpu, `${p}: ${rows.map((r) => `${r.id} ${r.note}`).join(' | ')}`).toBeDefined();
      expect(cpu!.note).toMatch(/output identical/);
      expect(rows.find((r) => r.id === `programs-${p}-hmsdk-vs-numactl-memory`)).toBeDefined();
      if (doc.env.nodes.every((n) => n.type !== 'EXMEM')) expect(cpu!.note).toMatch(/one-node host/);
    }
    expect(rows.find((r) => r.id === 'programs-launcher-cpu')).toBeDefined();
  });

  it('cases 10-14: matrix cells per history and size, one row per measurement, in the Markdown', () => {
    const matrix = doc.rows.filter((r) => r.case === 10);
    const histories = new Set(matrix.map((r) => r.extra!.matrix!.history));
    const sizes = new Set(matrix.map((r) => r.extra!.matrix!.size));
    expect(histories.has('fresh')).toBe(true);
    // fresh, arena, 64 MiB, odd frees, small blocks, 2 counts x (untouched, touched), and the fresh cell again
    expect(histories.size).toBe(10);
    // a vs-baseline and a vs-fresh row per cell, but the fresh cell has no vs-fresh row and its repeat no vs-baseline row
    expect(matrix).toHaveLength(histories.size * sizes.size * 2 - 2 * sizes.size);
    for (const r of matrix.filter((m) => m.extra!.matrix!.history === 'fresh-again')) {
      expect(r.id).toMatch(/-vs-fresh$/);
      expect(r.status).toBe('info');
    }
    for (const r of matrix) expect(r.id).toMatch(/^history-[\w-]+-\d+-vs-(allocUnsafeSlow|fresh)$/);
    expect(doc.rows.filter((r) => r.case === 11)).toHaveLength(1);
    expect(doc.rows.filter((r) => r.case === 12).map((r) => r.id)).toEqual(['interference-ours-1k-with-large-churn', 'interference-baseline-1k-with-large-churn']);
    const churn = doc.rows.filter((r) => r.case === 13);
    expect(churn.map((r) => r.id)).toEqual(['churn-hmsdk-vs-glibc-cpu', 'churn-memtier-vs-glibc-cpu']);
    expect(churn[0]!.status).not.toBe('skipped');
    expect(doc.rows.filter((r) => r.case === 14)).toHaveLength(4);
    const md = fs.readFileSync(path.join(dir, 'latest-quick.md'), 'utf8');
    expect(md).toMatch(/^Case 10 — history × scale/m);
    expect(md).toMatch(/^\| history \| 4 KiB \| 1 MiB \|$/m);
    expect(md).not.toMatch(/^\| 10 \|/m); // matrix cells are not in the flat table
  });

  it('case 9: a model row per preset, labelled as a model', () => {
    const presets = fs.readdirSync(path.join(root, 'presets')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    for (const p of presets) expect(doc.model.some((m) => m.preset === p), p).toBe(true);
    const cxl = doc.model.find((m) => m.preset === 'cxl-expander' && m.source === 'preset HMAT')!;
    // DRAM 204800 + CXL 65536 MB/s: 3:1 gives 262144, 1:1 gives 131072 (min-link model)
    expect(cxl.weights).toEqual([3, 1]);
    expect(cxl.engineMBps).toBe(262144);
    expect(cxl.interleave11MBps).toBe(131072);
    expect(cxl.dramOnlyMBps).toBe(204800);
    for (const m of doc.model) {
      if (m.engineMBps === null) continue;
      expect(m.gainOverDramOnly).toBeCloseTo(m.engineMBps / m.dramOnlyMBps!, 2);
    }
  });
});
