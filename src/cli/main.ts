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

const commands: Record<string, { summary: string; load: () => Command }> = {
  stats: { summary: 'memory per node and tier (NORMAL/EXMEM), or per process with -p', load: () => require('./stats') as Command },
  topology: { summary: 'nodes, tiers, distances, HMAT, CXL evidence, EXMEM classification', load: () => require('./topology') as Command },
  weights: { summary: 'bandwidth-aware interleave weights and predicted bandwidth; --apply', load: () => require('./weights') as Command },
  run: { summary: 'run a program with its large allocations placed on a tier or nodes (LD_PRELOAD)', load: () => require('./run') as Command },
  bench: { summary: 'measure read/write bandwidth and latency per node', load: () => require('./bench') as Command },
  emulate: { summary: 'run a command inside a multi-node NUMA/CXL VM (QEMU)', load: () => require('./emulate') as Command },
};

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
  const cmd = entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    const dd = rest.indexOf('--');
    const h = rest.findIndex((w) => w === '--help' || w === '-h');
    if (dd < 0 || h < dd) {
      process.stdout.write(cmd.help.trimEnd() + '\n');
      return 0;
    }
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`hmsdk ${name}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof HmsdkError || err instanceof TypeError || err instanceof RangeError) {
      process.stderr.write(`hmsdk ${name}: ${err.message}${err instanceof HmsdkError ? ` [${err.code}]` : ''}\n`);
      return 1;
    }
    throw err;
  }
}
