/**
 * `hmsdk` command dispatcher. Each command lives in its own module exporting
 * `run(argv): Promise<number>` and `help: string`; modules load lazily so
 * `hmsdk stats` pays only for what it uses.
 */
import { UsageError } from './args';
import { HmsdkError } from '../errors';

/** A CLI command module. */
export interface Command {
  /** One-paragraph help with examples. */
  help: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/* eslint-disable @typescript-eslint/no-require-imports -- a command's modules load only when it runs (CLI start-up time) */
const commands: Record<string, { summary: string; load: () => Command }> = {
  stats: { summary: 'memory per node and tier (NORMAL/EXMEM), or per process with -p', load: () => require('./stats') as Command },
  topology: { summary: 'nodes, tiers, distances, HMAT, CXL evidence, EXMEM classification', load: () => require('./topology') as Command },
  weights: { summary: 'bandwidth-aware interleave weights and predicted bandwidth; --apply', load: () => require('./weights') as Command },
  run: { summary: 'run an unmodified program with its memory placed on a tier or nodes (LD_PRELOAD, exec in place)', load: () => require('./run') as Command },
  bench: { summary: 'measure read/write bandwidth and latency per node', load: () => require('./bench') as Command },
  tier: { summary: 'page-level tiering for an unmodified program: hot pages on DRAM within a budget, the rest on EXMEM', load: () => require('./tier') as Command },
  emulate: { summary: 'run a command inside a multi-node NUMA/CXL VM (QEMU)', load: () => require('./emulate') as Command },
  store: { summary: 'shared memory objects: serve a store, list its objects', load: () => require('./store') as Command },
  doctor: { summary: 'is memory tiering set up right? tiers, demotion, NUMA balancing, DAMON, THP, with fixes', load: () => require('./doctor') as Command },
};
/* eslint-enable @typescript-eslint/no-require-imports */

function usage(): string {
  const lines = ['usage: hmsdk <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', "run 'hmsdk <command> --help' for a command's options and examples");
  return lines.join('\n');
}

/** Entry point used by `bin/hmsdk.js`. Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`hmsdk: unknown command '${name}' (see 'hmsdk --help')\n`);
    return 2;
  }
  // A closed pipe (`hmsdk stats --watch | head`) ends the output, and with it the command.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.stderr.write(`hmsdk ${name}: cannot write the output: ${err.message}\n`);
    process.exit(err.code === 'EPIPE' ? 0 : 1);
  });
  try {
    // Loading is inside the try: a command module can fail to load (the native addon).
    const cmd = entry.load();
    if (wantsHelp(rest)) {
      process.stdout.write(cmd.help.trimEnd() + '\n');
      return 0;
    }
    return await cmd.run(rest);
  } catch (err) {
    const failure = describeFailure(err);
    process.stderr.write(`hmsdk ${name}: ${failure.line}\n`);
    return failure.exitCode;
  }
}

/** `--help` / `-h` before any `--` (after it, they belong to the command being run). */
function wantsHelp(argv: readonly string[]): boolean {
  const h = argv.findIndex((w) => w === '--help' || w === '-h');
  const dd = argv.indexOf('--');
  return h >= 0 && (dd < 0 || h < dd);
}

/**
 * The one line and exit code for an error that ended a command: 2 for a
 * usage error; 1 for everything else, coded SDK errors with their code, OS
 * errors with Node's message (it names the call and the path), anything
 * unexpected as an internal error, still without a stack trace.
 * @internal
 */
export function describeFailure(err: unknown): { line: string; exitCode: number } {
  if (err instanceof UsageError) return { line: err.message, exitCode: 2 };
  if (err instanceof HmsdkError) return { line: `${err.message} [${err.code}]`, exitCode: 1 };
  if (err instanceof TypeError || err instanceof RangeError) return { line: err.message, exitCode: 1 };
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string') return { line: err.message, exitCode: 1 };
  const message = err instanceof Error ? err.message : String(err);
  return { line: `internal error: ${message.split('\n')[0]} (this is a bug in hmsdk; please report it)`, exitCode: 1 };
}
