'use strict';
// The environment `hmsdk run` gives a program (its --print-env), for cases
// that time the program under hmsdk's preload without the launcher:
// `hmsdk run` execs in place, so its Node start-up would count into the
// program's own CPU time (getrusage and /proc/PID/stat keep it across
// execve). Cases 13 and 15 start the program with this environment instead
// and report the launcher's cost apart where it matters.
const path = require('node:path');
const { spawnSync } = require('node:child_process');

/** LD_PRELOAD and HMSDK_CONF for `hmsdk run ARGS -- ...`. */
function preloadEnv(root, runArgs) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'hmsdk.js'), 'run', ...runArgs, '--print-env'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hmsdk run ${runArgs.join(' ')} --print-env: ${r.stderr}`);
  const env = {};
  for (const line of r.stdout.trim().split('\n')) {
    const i = line.indexOf('=');
    env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

module.exports = { preloadEnv };
