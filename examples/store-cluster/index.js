// An HTTP service whose cluster workers share ONE embedding table from the
// store: the primary creates the table on EXMEM (CXL) and seals it; every
// worker get()s it, so the machine holds one copy of the table however many
// workers run, and each worker's lookups read the same pages (where() in
// each worker names the node). GET /embed?id=N returns the row's sum.
//
// Run: node examples/store-cluster/index.js [--workers 2] [--vocab 16384] [--dim 64] [--self-test]
// --self-test: the primary asks every worker for a few rows, checks the
// answers against its own computation, prints the store listing and exits.
// Without an EXMEM node the table falls back to DRAM, and the output says so.
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');
const hm = require('../..');

function args(argv) {
  const o = { workers: 2, vocab: 16384, dim: 64, 'self-test': false };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o)) throw new TypeError(`unknown argument ${argv[i]}`);
    if (typeof o[k] === 'boolean') o[k] = true;
    else o[k] = Number(argv[++i]);
  }
  return o;
}

const STORE = `example-cluster-${process.env.EXAMPLE_STORE_ID || (cluster.isPrimary ? process.pid : process.ppid)}`;
const value = (id, d) => ((id * 31 + d * 7) % 97) / 97;

function rowSum(table, id, dim) {
  let s = 0;
  for (let d = 0; d < dim; d++) s += table[id * dim + d];
  return s;
}

async function primary(o) {
  const exmem = hm.readTopology().exmemNodes.length > 0;
  if (!exmem) console.log("no EXMEM node on this machine: the table uses DRAM (fallback: 'normal')");
  const store = await hm.connect({ name: STORE, tier: 'EXMEM', fallback: 'normal' });
  const bytes = o.vocab * o.dim * 4;
  const buf = await store.create('embeddings', bytes);
  const table = new Float32Array(buf.buffer, buf.byteOffset, o.vocab * o.dim);
  for (let id = 0; id < o.vocab; id++) for (let d = 0; d < o.dim; d++) table[id * o.dim + d] = value(id, d);
  await store.seal('embeddings');
  const info = await store.stat('embeddings');
  console.log(`primary ${process.pid}: table ${o.vocab}x${o.dim} (${bytes} B) sealed in store ${STORE}, nodes ${JSON.stringify(info.nodes)}`);

  const ports = new Map();
  for (let i = 0; i < o.workers; i++) cluster.fork({ EXAMPLE_STORE_ID: String(process.pid), EXAMPLE_DIM: String(o.dim) });
  await new Promise((resolve) => {
    cluster.on('message', (w, m) => {
      if (m && m.port) {
        ports.set(w.process.pid, m);
        if (ports.size === o.workers) resolve();
      }
    });
  });
  if (!o['self-test']) {
    for (const [pid, m] of ports) console.log(`worker ${pid} listening on http://127.0.0.1:${m.port}`);
    return;
  }
  const get = (port, id) =>
    new Promise((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/embed?id=${id}`, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body)));
      }).on('error', reject);
    });
  const expected = new Float32Array(o.dim);
  let ok = true;
  for (const [pid, m] of ports) {
    for (const id of [0, 1, o.vocab - 1]) {
      for (let d = 0; d < o.dim; d++) expected[d] = value(id, d);
      const want = expected.reduce((a, b) => a + b, 0);
      const r = await get(m.port, id);
      if (Math.abs(r.sum - want) > 1e-3) ok = false;
    }
    console.log(`worker ${pid}: table ${m.bytes} B from the store, where(): ${m.where}, rows ${ok ? 'match' : 'MISMATCH'}`);
  }
  const listed = await store.stat('embeddings');
  console.log(`store ${STORE}: 1 object, ${listed.holders.length} holder processes (${listed.holders.map((h) => h.pid).join(', ')}): one copy of the table for ${o.workers} workers`);
  for (const w of Object.values(cluster.workers)) w.kill();
  await new Promise((r) => setTimeout(r, 100));
  await store.delete('embeddings');
  await store.disconnect();
  console.log(ok ? 'self-test ok' : 'self-test FAILED');
  process.exitCode = ok ? 0 : 1;
}

async function worker() {
  const dim = Number(process.env.EXAMPLE_DIM);
  const store = await hm.connect({ name: STORE, serve: false });
  const buf = await store.get('embeddings');
  const table = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const where = Object.entries(hm.where(buf).nodes).map(([n, p]) => `node ${n}: ${p} pages`).join(', ');
  const server = http.createServer((req, res) => {
    const id = Number(new URL(req.url, 'http://x').searchParams.get('id'));
    if (!Number.isInteger(id) || id < 0 || (id + 1) * dim > table.length) {
      res.writeHead(400).end('{"error":"bad id"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, sum: rowSum(table, id, dim) }));
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port, bytes: buf.length, where }));
}

(cluster.isPrimary ? primary(args(process.argv)) : worker()).catch((e) => {
  console.error(e);
  process.exit(1);
});
