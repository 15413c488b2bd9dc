'use strict';
// Fresh-process measurements: run a bench child script under this Node with
// --expose-gc and parse the one JSON line it prints last on stdout. Cases
// that measure "after a history" or "from a cold start" use one child per
// measurement so nothing an earlier measurement did (mappings, caches,
// glibc high-water marks, V8 heap sizing) carries over.
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..', '..');

/**
 * @param script   path of the child script
 * @param args     its arguments
 * @param o.timeoutMs  kill it after this long (default 120 s)
 * @param o.nodeFlags  extra V8/Node flags
 * @returns the parsed JSON object
 */
function runChild(script, args, { timeoutMs = 120_000, nodeFlags = [] } = {}) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, ['--expose-gc', ...nodeFlags, script, ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 2 ** 20,
  });
  const name = `${path.basename(script)} ${args.join(' ')}`;
  if (r.error) throw new Error(`${name}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${name} exited ${r.status ?? r.signal}: ${String(r.stderr).slice(-2000)}`);
  const last = String(r.stdout).trim().split('\n').pop();
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`${name}: no JSON result line in its output: ${String(r.stdout).slice(-500)} ${String(r.stderr).slice(-500)}`);
  }
}

/** `--name value` pairs of a child's argv as an object of strings. */
function childArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([\w-]+)$/.exec(argv[i]);
    if (!m || !(m[1] in defaults)) throw new Error(`unknown argument '${argv[i]}' (known: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')})`);
    out[m[1]] = argv[++i];
  }
  return out;
}

/** Run an async child main: print its result as one JSON line, or the error and exit 1. */
function childMain(name, fn) {
  fn().then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err) => {
      process.stderr.write(`${name}: ${err && err.stack ? err.stack : err}\n`);
      process.exitCode = 1;
    },
  );
}

const rss = () => process.memoryUsage.rss();

/** gc + event-loop turns, so finalizers run and freed backing stores go. */
async function settle(turns = 4) {
  for (let i = 0; i < turns; i++) {
    if (global.gc) global.gc();
    await new Promise((r) => setImmediate(r));
  }
}

module.exports = { runChild, childArgs, childMain, rss, settle };
