#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript in dist/.
require('../dist/cli/main')
  .main(process.argv.slice(2))
  .then((code) => { process.exitCode = code; })
  .catch((err) => { process.stderr.write(`hmsdk: internal error: ${err && err.stack || err}\n`); process.exitCode = 70; });
