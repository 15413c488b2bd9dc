// A small HTTP service exposing hmsdk numbers:
//   GET /stats                   -> JSON of stats() (per node, per tier, allocator)
//   GET /alloc?size=N&tier=T     -> allocate N bytes on tier T (NORMAL | EXMEM),
//                                   fault them in, report where() and free them
// Listens on 127.0.0.1, on an ephemeral port unless --port is given.
//
// Run: node examples/http-service/index.js [--port 8080]
//      node examples/http-service/index.js --self-test   (start, query itself, print, exit 0)
// Without an EXMEM node, /alloc?tier=EXMEM falls back to DRAM and the reply says so.
'use strict';
const http = require('node:http');
const hm = require('../..');

const MAX_ALLOC = 256 * 2 ** 20; // a demo endpoint: refuse more than 256 MiB per request
const hasExmem = hm.readTopology().exmemNodes.length > 0;

function send(res, status, body) {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function alloc(params) {
  const size = Number(params.get('size'));
  const tier = params.get('tier') || 'NORMAL';
  if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_ALLOC) {
    return [400, { error: `size must be an integer 1..${MAX_ALLOC}, got ${JSON.stringify(params.get('size'))}` }];
  }
  if (tier !== 'NORMAL' && tier !== 'EXMEM') return [400, { error: `tier must be NORMAL or EXMEM, got ${JSON.stringify(tier)}` }];
  const buf = hm.allocate(size, { tier, fallback: 'normal', populate: true });
  try {
    const w = hm.where(buf);
    const fellBack = tier === 'EXMEM' && !hasExmem;
    return [200, { size, tier, fellBack, note: fellBack ? 'no EXMEM node on this machine: allocated on DRAM (fallback: normal)' : undefined, where: w }];
  } finally {
    hm.free(buf);
  }
}

function handler(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  try {
    if (req.method !== 'GET') return send(res, 405, { error: 'GET only' });
    if (url.pathname === '/stats') return send(res, 200, hm.stats());
    if (url.pathname === '/alloc') {
      const [status, body] = alloc(url.searchParams);
      return send(res, status, body);
    }
    return send(res, 404, { error: 'not found: try /stats or /alloc?size=1048576&tier=EXMEM' });
  } catch (e) {
    // HmsdkError: ENOMEM (tier full), ENODEV, ...: report it, keep serving.
    return send(res, e.code === 'ENOMEM' ? 507 : 500, { error: e.message, code: e.code });
  }
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(body) }));
      })
      .on('error', reject);
  });
}

const argv = process.argv.slice(2);
const selfTest = argv.includes('--self-test');
const portArg = argv.indexOf('--port');
const port = portArg >= 0 ? Number(argv[portArg + 1]) : 0;

const server = http.createServer(handler);
server.listen(port, '127.0.0.1', async () => {
  const { port: actual } = server.address();
  console.log(`hmsdk http-service listening on http://127.0.0.1:${actual}  (GET /stats, GET /alloc?size=&tier=)`);
  if (!hasExmem) console.log("no EXMEM node on this machine: /alloc?tier=EXMEM falls back to DRAM (fallback: 'normal')");
  if (!selfTest) return;
  try {
    const stats = await get(actual, '/stats');
    console.log(`self-test GET /stats -> ${stats.status}`);
    console.log(JSON.stringify(stats.body));
    const a = await get(actual, '/alloc?size=1048576&tier=EXMEM');
    console.log(`self-test GET /alloc?size=1048576&tier=EXMEM -> ${a.status} ${JSON.stringify(a.body.where.nodes)}${a.body.fellBack ? ' (fell back to DRAM)' : ''}`);
    const bad = await get(actual, '/alloc?size=-1');
    console.log(`self-test GET /alloc?size=-1 -> ${bad.status} ${bad.body.error}`);
    const ok = stats.status === 200 && Array.isArray(stats.body.nodes) && a.status === 200 && bad.status === 400;
    console.log(`self-test ${ok ? 'ok' : 'FAILED'}; live allocations ${hm.stats().sdk.liveAllocations}`);
    server.close();
    process.exitCode = ok ? 0 : 1;
  } catch (e) {
    console.error('self-test FAILED:', e);
    server.close();
    process.exitCode = 1;
  }
});
