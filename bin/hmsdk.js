#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript in dist/. main() reports
// every command failure itself; what is caught here (dist/ missing or broken)
// still gets one line on stderr and exit 1, never a stack trace.
const fail = (err) => {
  process.stderr.write(`hmsdk: internal error: ${String((err && err.message) || err).split('\n')[0]} (this is a bug in hmsdk or a broken install; please report it)\n`);
  process.exitCode = 1;
};
try {
  require('../dist/cli/main')
    .main(process.argv.slice(2))
    .then((code) => { process.exitCode = code; }, fail);
} catch (err) {
  fail(err);
}
