// README.md stays short (issue 14: at most 300 lines, for users) and every
// relative link in README.md and docs/*.md points to an existing file.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

/** Targets of inline Markdown links `[text](target)`, outside fenced code blocks. */
function links(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
}

describe('docs', () => {
  it('README.md has at most 300 lines', () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    expect(lines.length).toBeLessThanOrEqual(300);
  });

  it('finds the pages and their links', () => {
    expect(pages.length).toBeGreaterThan(5);
    expect(links(readFileSync(join(ROOT, 'README.md'), 'utf8')).length).toBeGreaterThan(5);
  });

  for (const page of pages) {
    it(`${page}: every relative link points to an existing file`, () => {
      const text = readFileSync(join(ROOT, page), 'utf8');
      for (const target of links(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // URLs, same-page anchors
        const file = decodeURIComponent(target.split('#')[0] as string);
        expect(existsSync(resolve(ROOT, dirname(page), file)), `${page} links to ${target}`).toBe(true);
      }
    });
  }
});
