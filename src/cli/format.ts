/**
 * Terminal output helpers shared by the CLI commands: sizes (parseSize; formatting is
 * ../util/bytes.ts), aligned tables, and colour only on a TTY (honours NO_COLOR).
 */

/**
 * Parse a byte count with an optional binary unit: `4096`, `512K`, `1MiB`,
 * `2G` (K/M/G/T are powers of 1024; `B`/`iB` only after a unit). Undefined
 * when malformed or beyond a safe integer. The one size parser of the CLI.
 */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  if (m[3] && !unit) return undefined;
  const v = Number(m[1]) * ({ '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[unit] as number);
  return Number.isSafeInteger(v) ? v : undefined;
}

/** Colour functions: identity when not on a TTY or NO_COLOR is set. */
export function colours(stream: NodeJS.WriteStream = process.stdout) {
  const on = Boolean(stream.isTTY) && !process.env.NO_COLOR;
  const wrap = (code: string) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { on, bold: wrap('1'), dim: wrap('2'), cyan: wrap('36'), yellow: wrap('33'), red: wrap('31'), green: wrap('32') };
}

/** Render rows as an aligned table; `right[i]` right-aligns column i. Colour codes are ignored for widths. */
export function table(rows: string[][], right: boolean[] = []): string {
  // eslint-disable-next-line no-control-regex -- strips ANSI colour codes
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(c))));
  return rows
    .map((r) =>
      r
        .map((c, i) => {
          const pad = ' '.repeat((widths[i] ?? 0) - visible(c));
          return right[i] ? pad + c : c + pad;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
