'use strict';
// Producer of case 15 (bench/cases/store.js): connects to the store first
// (so it manages it), creates and seals one object of --size bytes, and
// keeps a plain Buffer of the same bytes for the baselines. Commands on
// stdin, one per line: `pipe` writes the plain copy to fd 3 (a pipe to the
// bench process); `exit` leaves. Prints `ready` when the object is sealed.
const fs = require('node:fs');
const h = require('../..');

const arg = (name) => process.argv[process.argv.indexOf(`--${name}`) + 1];
const size = Number(arg('size'));
const name = arg('name');

(async () => {
  const store = await h.connect({ name });
  const w = await store.create('blob', size);
  for (let i = 0; i < size; i += 4096) w[i] = (i >>> 12) & 255;
  const plain = Buffer.from(w); // the baselines' copy, same bytes
  await store.seal('blob');
  const pipe = fs.createWriteStream(null, { fd: 3 });
  process.stdin.setEncoding('utf8');
  let pending = '';
  process.stdin.on('data', (d) => {
    pending += d;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const cmd = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (cmd === 'pipe') pipe.write(plain);
      else if (cmd === 'exit') process.exit(0);
    }
  });
  process.stdout.write('ready\n');
})().catch((e) => {
  process.stderr.write(`store-child: ${e.stack}\n`);
  process.exit(1);
});
