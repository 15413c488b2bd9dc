/**
 * Tiny strict argument parser shared by every `hmsdk` command. Unknown flags
 * and bad values throw {@link UsageError}; `main` prints its one-line message
 * and exits 2, never a stack trace.
 */

/** A user error on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Declaration of one flag. */
export interface FlagSpec {
  /** `boolean` flags take no value; `string` flags take the next word or `=value`. */
  type: 'boolean' | 'string';
  /** Single-letter alias, without the dash. */
  short?: string;
  /** For `string` flags: the value may be omitted (then `optionalDefault` is used). */
  optionalDefault?: string;
}

/** Parsed command line: flags by long name, positionals, and words after `--`. */
export interface ParsedArgs {
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Everything after a bare `--`, untouched (the command to run). */
  rest: string[];
}

/**
 * Parse `argv` against `spec`. `--help`/`-h` is always accepted as boolean `help`.
 *
 * @example
 * ```ts
 * parseArgs(['--json', '-p', '42'], { json: { type: 'boolean' }, pid: { type: 'string', short: 'p' } });
 * ```
 */
export function parseArgs(argv: readonly string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const all: Record<string, FlagSpec> = { help: { type: 'boolean', short: 'h' }, ...spec };
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(all)) if (s.short) byShort.set(s.short, name);
  const flags: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      inline = eq < 0 ? undefined : word.slice(eq + 1);
    } else if (word.startsWith('-') && word.length > 1 && !/^-\d/.test(word)) {
      name = byShort.get(word.slice(1));
      if (name === undefined) throw new UsageError(`unknown option '${word}'`);
    } else {
      positionals.push(word);
      continue;
    }
    const s = all[name];
    if (!s) throw new UsageError(`unknown option '--${name}'`);
    if (s.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option '--${name}' takes no value`);
      flags[name] = true;
      continue;
    }
    if (inline !== undefined) {
      flags[name] = inline;
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && next !== '--' && !(next.startsWith('-') && !/^-\d/.test(next))) {
      flags[name] = next;
      i++;
    } else if (s.optionalDefault !== undefined) {
      flags[name] = s.optionalDefault;
    } else {
      throw new UsageError(`option '--${name}' needs a value`);
    }
  }
  return { flags, positionals, rest };
}
