// The source layout (docs/architecture.md): src/ has a folder per layer and
// only index.ts and errors.ts at its root; the import graph is acyclic; the
// pure layers never reach the addon, sysfs state or the CLI; the page lists
// every src/ and native/ folder.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
const SRC = join(ROOT, 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const files = tsFiles(SRC);
const rel = (f: string): string => relative(SRC, f);

/** hmsdk modules a file imports (static imports, re-exports, require() of relative paths). */
function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const specs = [...src.matchAll(/(?:^|\s)(?:from|import|require\()\s*'(\.[^']*)'/g)].map((m) => m[1] as string);
  return specs.map((s) => {
    const base = resolve(dirname(file), s);
    const hit = [`${base}.ts`, join(base, 'index.ts')].find((c) => existsSync(c));
    if (!hit) throw new Error(`${rel(file)}: cannot resolve '${s}'`);
    return hit;
  });
}

const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('src/ layout', () => {
  it('has only index.ts and errors.ts at the root; everything else is in a layer folder', () => {
    const loose = readdirSync(SRC).filter((e) => !statSync(join(SRC, e)).isDirectory());
    expect(loose.sort()).toEqual(['errors.ts', 'index.ts']);
  });

  it('has an acyclic import graph', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map(rel).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const d of graph.get(f) ?? []) visit(d, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('keeps the pure layers pure: no addon, no process topology, no CLI', () => {
    // Pure: decisions on values passed in (fixtures in tests).
    const pure = files.filter((f) => /^(policy|util|kernel|preload[/\\]conf|topology[/\\](?!current))/.test(rel(f)));
    expect(pure.length).toBeGreaterThan(10);
    for (const f of pure) {
      for (const d of graph.get(f) ?? []) {
        expect(rel(d), `${rel(f)} imports ${rel(d)}`).not.toMatch(/^(alloc[/\\](?!options)|cli|tiering|measure|emulate|topology[/\\]current)/);
      }
    }
  });

  it('nothing imports the CLI but the CLI', () => {
    for (const [f, deps] of graph) {
      if (rel(f).startsWith('cli')) continue;
      for (const d of deps) expect(rel(d), `${rel(f)} imports ${rel(d)}`).not.toMatch(/^cli[/\\]/);
    }
  });

  it('loads the addon in one place (alloc/native.ts)', () => {
    for (const f of files) {
      if (rel(f) === join('alloc', 'native.ts')) continue;
      expect(readFileSync(f, 'utf8'), rel(f)).not.toMatch(/require\('node-gyp-build'\)\s+as\s+\(dir/);
    }
  });

  it('docs/architecture.md lists every src/ and native/ folder', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
    for (const top of ['src', 'native']) {
      for (const d of readdirSync(join(ROOT, top)).filter((e) => statSync(join(ROOT, top, e)).isDirectory())) {
        expect(doc, `${top}/${d}/`).toContain(`${top}/${d}/`);
      }
    }
  });
});
