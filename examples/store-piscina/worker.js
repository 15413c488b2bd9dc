// Pool worker of examples/store-piscina: maps the shared table once per
// thread (the first task connects and get()s it) and scores tasks.
'use strict';
const { threadId, workerData } = require('node:worker_threads');
const hm = require('../..');

let table;
async function shared() {
  if (!table) {
    const store = await hm.connect({ name: workerData.name, serve: false });
    const buf = await store.get('weights');
    table = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  }
  return table;
}

module.exports = async (task) => {
  const t = await shared();
  const { dim } = workerData;
  const row = task % (t.length / dim);
  let score = 0;
  for (let d = 0; d < dim; d++) score += t[row * dim + d] * (d + 1);
  return { score, thread: threadId };
};
