// The runnable examples: each runs as a child process (the way a user or CI
// runs it, against the built package), must exit 0 and print its key lines.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { topology } from '../src/topology/current';

const run = promisify(execFile);
const root = path.join(__dirname, '..');
const oneNode = () => topology().exmemNodes.length === 0;

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

async function example(name: string, args: string[] = []): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(root, 'examples', name, 'index.js'), ...args], { cwd: root, timeout: 60_000 });
  return stdout;
}

describe('examples', () => {
  beforeAll(() => {
    // The examples require the package (dist/): it must be built from the current src/.
    const dist = path.join(root, 'dist', 'index.js');
    const distTime = fs.existsSync(dist) ? fs.statSync(dist).mtimeMs : 0;
    if (distTime < newest(path.join(root, 'src'))) throw new Error('dist/ is older than src/: run `npm run build:ts` (npm test does it in pretest)');
  });

  it('kv-cache: prints a hit-ratio table; all DRAM hits below the budget, fewer past it', async () => {
    const out = await example('kv-cache', ['--sizes', '16,64', '--requests', '120']);
    if (oneNode()) expect(out).toContain("no EXMEM node on this machine: cold tier = DRAM (fallback: 'normal')");
    const lines = out.split('\n');
    const head = lines.findIndex((l) => l.includes('ws chunks') && l.includes('DRAM hit %'));
    expect(head).toBeGreaterThan(0);
    const rows = lines.slice(head + 1, head + 3).map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => r[0])).toEqual(['16', '64']);
    expect(rows[0]![2]).toBe('100.0'); // 16 chunks (2 MiB) fit the 4 MiB budget
    expect(Number(rows[1]![2])).toBeLessThan(100); // 64 chunks (8 MiB) do not
    expect(Number(rows[1]![6])).toBeGreaterThan(0); // promotions happened
    expect(Number(rows[1]![2])).toBeGreaterThan(Number(rows[1]![3])); // tiering beats placement-at-prefill
    expect(out).toContain('live SDK allocations after close: 0');
  });

  it('tensors: places each tensor, where() per tensor, forward pass matches the reference', async () => {
    const out = await example('tensors', ['--vocab', '1024', '--tokens', '8']);
    if (oneNode()) expect(out).toContain("no EXMEM node on this machine: the embeddings use DRAM (fallback: 'normal')");
    expect(out).toMatch(/^embeddings +1024x64 +262144 B +asked EXMEM +where\(\): node \d+: 64 pages$/m);
    expect(out.match(/^layer\d +64x64 +16384 B +asked NORMAL +where\(\): node \d+: 4 pages$/gm)?.length).toBe(4);
    expect(out).toMatch(/forward over 8 tokens: sum -?[\d.]+ .*: match/);
    expect(out).toContain('after free: live allocations 0');
  });

  it('http-service --self-test: serves /stats and /alloc from itself and exits 0', async () => {
    const out = await example('http-service', ['--self-test']);
    expect(out).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain('self-test GET /stats -> 200');
    const json = out.split('\n').find((l) => l.startsWith('{"nodes"'));
    const stats = JSON.parse(json!) as { nodes: { id: number }[]; tiers: Record<string, unknown> };
    expect(stats.nodes.map((n) => n.id)).toEqual(topology().nodes.map((n) => n.id));
    expect(Object.keys(stats.tiers).sort()).toEqual(['EXMEM', 'NORMAL']);
    expect(out).toMatch(/self-test GET \/alloc\?size=1048576&tier=EXMEM -> 200 \{"\d+":256\}/);
    expect(out).toContain('self-test GET /alloc?size=-1 -> 400');
    expect(out).toContain('self-test ok; live allocations 0');
  });

  it('store-cluster --self-test: two cluster workers serve rows of one shared table; one copy, two holders', async () => {
    const out = await example('store-cluster', ['--self-test', '--workers', '2', '--vocab', '4096']);
    if (oneNode()) expect(out).toContain("no EXMEM node on this machine: the table uses DRAM (fallback: 'normal')");
    expect(out).toMatch(/^primary \d+: table 4096x64 \(1048576 B\) sealed in store /m);
    expect(out.match(/^worker \d+: table 1048576 B from the store, where\(\): node \d+: 256 pages, rows match$/gm)?.length).toBe(2);
    expect(out).toMatch(/1 object, 2 holder processes \(\d+, \d+\): one copy of the table for 2 workers/);
    expect(out).toContain('self-test ok');
  });

  it('store-piscina: a piscina pool maps one table once per thread; scores match', async () => {
    const out = await example('store-piscina', ['--threads', '2', '--tasks', '16']);
    expect(out).toMatch(/^16 tasks on [12] pool threads, each mapping the table once from store example-piscina-\d+: scores match$/m);
    expect(out).toMatch(/^table 1048576 B, nodes \{"\d+":1048576\}, holds 1(\+1)? in pid \d+/m);
  });
});
