/**
 * `hmsdk store`: operators' view of the shared store (src/store).
 * `serve NAME` runs a standalone manager until SIGINT / SIGTERM (objects
 * then outlive the processes that created them); `ls NAME` lists the
 * store's objects, sizes, states, creators and holders, from its manager.
 */
import { HmsdkError } from '../errors';
import { connect } from '../store';
import { storeDir } from '../store/paths';
import { StoreServer } from '../store/server';
import { formatBytes } from '../util/bytes';
import { checkStoreName } from '../util/validate';
import { parseArgs, UsageError } from './args';
import { colours, table } from './format';

/** Help text. */
export const help = `usage: hmsdk store serve NAME
       hmsdk store ls NAME [--json] [--bytes]

Shared memory objects across processes (docs/store.md).

commands:
  serve NAME   manage store NAME from this process until Ctrl-C / SIGTERM
               (without it, the first process that connects manages the store)
  ls NAME      objects of store NAME: key, size, state, creator, holders, nodes

options:
  --json       machine-readable output (ls)
  --bytes      exact byte counts instead of human units (ls)

The store directory is $HMSDK_STORE_DIR, else $XDG_RUNTIME_DIR/hmsdk, else
/tmp/hmsdk-<uid>.

examples:
  hmsdk store serve models/bert &
  hmsdk store ls models/bert --json | jq '.[].holders'`;

function storeName(positionals: string[]): string {
  if (positionals.length !== 2) throw new UsageError(`'hmsdk store ${positionals[0] ?? ''}' needs one store NAME`);
  try {
    return checkStoreName('NAME', positionals[1]);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function serve(name: string): Promise<number> {
  const server = await StoreServer.start(storeDir(), name, true);
  if (!server) throw new HmsdkError('EMANAGER', `store ${name} is already served by another process`);
  process.stdout.write(`serving store ${name} on ${server.socketPath} (pid ${process.pid}); Ctrl-C to stop\n`);
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      server.close();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

async function ls(name: string, json: boolean, fmt: (n: number) => string): Promise<number> {
  const store = await connect({ name, serve: false, timeout: 2000 });
  try {
    const objects = await store.list();
    if (json) {
      process.stdout.write(JSON.stringify(objects) + '\n');
      return 0;
    }
    const c = colours();
    const rows: string[][] = [['KEY', 'SIZE', 'STATE', 'CREATOR', 'HOLDERS', 'NODES'].map((h) => c.bold(h))];
    for (const o of objects) {
      const holders = o.holders.map((h) => `${h.pid}${h.holds > 1 ? `x${h.holds}` : ''}`).join(',') || '-';
      const nodes = Object.entries(o.nodes).map(([n, b]) => `${n}:${fmt(b)}`).join(',') || '-';
      rows.push([o.key, fmt(o.size), o.state, String(o.creatorPid), holders, nodes]);
    }
    process.stdout.write(`store ${name}, manager pid ${store.managerPid}, ${objects.length} object${objects.length === 1 ? '' : 's'}\n`);
    if (objects.length) process.stdout.write(table(rows, [false, true, false, true, false, false]) + '\n');
    return 0;
  } finally {
    await store.disconnect();
  }
}

/** Run `hmsdk store`. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { json: { type: 'boolean' }, bytes: { type: 'boolean' } });
  const sub = positionals[0];
  const fmt = flags.bytes ? (n: number) => String(n) : (n: number) => formatBytes(n, { compact: true });
  switch (sub) {
    case 'serve':
      if (flags.json || flags.bytes) throw new UsageError("'hmsdk store serve' takes no --json / --bytes");
      return serve(storeName(positionals));
    case 'ls':
      return ls(storeName(positionals), flags.json === true, fmt);
    default:
      throw new UsageError(sub === undefined ? "'hmsdk store' needs a command: serve or ls" : `unknown store command '${sub}' (serve, ls)`);
  }
}
