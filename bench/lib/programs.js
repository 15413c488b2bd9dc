'use strict';
// Real programs nobody here wrote, each driven to a state where it holds its
// data, then measured from outside by the kernel's word: resident anonymous
// memory per node from /proc/PID/numa_maps (every mapping without a file,
// the main stack excluded), peak RSS (VmHWM) and CPU time (utime + stime)
// from /proc/PID/status and stat. One implementation for the in-VM test of
// transparent mode (test/numa/whole-program.test.ts) and benchmark case 15
// (bench/cases/programs.js), which run the same programs under hmsdk run,
// numactl --membind and memkind's memtier.
//
// A launcher is an argv prefix that execs the program in place (hmsdk run,
// numactl, env), so the child's pid is the program's.
const fs = require('node:fs');
const net = require('node:net');
const { spawn, spawnSync } = require('node:child_process');

const MiB = 2 ** 20;
const CLK_TCK = 100;

/** Parse /proc/PID/numa_maps: anonymous resident bytes per node. */
function anonPerNode(pid) {
  const perNode = {};
  let total = 0;
  for (const line of fs.readFileSync(`/proc/${pid}/numa_maps`, 'utf8').split('\n')) {
    if (!line || / file=/.test(line) || / stack(?: |$)/.test(line)) continue;
    const kb = Number((/ kernelpagesize_kB=(\d+)/.exec(line) || [0, 4])[1]);
    for (const m of line.matchAll(/ N(\d+)=(\d+)/g)) {
      const bytes = Number(m[2]) * kb * 1024;
      perNode[m[1]] = (perNode[m[1]] || 0) + bytes;
      total += bytes;
    }
  }
  return { total, perNode };
}

/** What the kernel says about process pid now. */
function sample(pid) {
  const { total, perNode } = anonPerNode(pid);
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) * 1024;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { anon: total, perNode, hwm, cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK };
}

async function waitFor(out, re, ms = 90_000) {
  const t0 = Date.now();
  for (;;) {
    const m = re.exec(out());
    if (m) return m;
    if (Date.now() - t0 > ms) throw new Error(`no ${re} after ${ms} ms; output: ${out().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function cli(args) {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function memcachedRequest(port, text, done) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(text));
    let buf = '';
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf += d.toString();
      const r = done(buf);
      if (r !== undefined) {
        sock.end();
        resolve(r);
      }
    });
  });
}

const memcachedItems = (port) => memcachedRequest(port, 'stats\r\n', (b) => (b.includes('END\r\n') ? /STAT curr_items (\d+)/.exec(b)[1] : undefined));

function memcachedFill(port, items, size) {
  const value = Buffer.alloc(size, 'v');
  const parts = [];
  for (let i = 0; i < items; i++) parts.push(Buffer.from(`set k${i} 0 0 ${size} noreply\r\n`), value, Buffer.from('\r\n'));
  parts.push(Buffer.from('mn\r\n'));
  return memcachedRequest(port, Buffer.concat(parts), (b) => (b.includes('MN\r\n') ? true : undefined));
}

function python() {
  return spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
}

/**
 * The programs. `cmd` may hold 'PORT'; `input` is written to stdin first;
 * `fill` resolves with the program's output of record once it holds its
 * data; `stop` says how it ends (stdin closed, or SIGTERM for servers).
 */
function programs() {
  const py = python();
  return [
    {
      id: 'node',
      name: 'node: 1.5M JS objects and 800 Buffers of 256 KiB',
      cmd: [
        process.execPath,
        '-e',
        "const objs = []; for (let i = 0; i < 1.5e6; i++) objs.push({ i, s: 'k' + i });" +
          ' const bufs = []; for (let i = 0; i < 800; i++) bufs.push(Buffer.alloc(256 * 1024, i & 255));' +
          ' let sum = 0; for (const b of bufs) sum += b[1000]; for (const o of objs) sum += o.i & 1;' +
          " console.log('ready ' + sum); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));",
      ],
      fill: async (out) => (await waitFor(out, /ready (\d+)/))[1],
    },
    {
      id: 'python',
      name: 'python3: a list of 5M ints',
      cmd: [py, '-c', 'import sys\nx = list(range(1000, 5_001_000))\nprint("ready", sum(x), flush=True)\nsys.stdin.read()'],
      fill: async (out) => (await waitFor(out, /ready (\d+)/))[1],
    },
    {
      id: 'sqlite3',
      name: 'sqlite3: an in-memory database of ~100 MiB',
      cmd: ['sqlite3', ':memory:'],
      input:
        'PRAGMA cache_size=-400000;\nCREATE TABLE t(a INTEGER PRIMARY KEY, b BLOB);\n' +
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<90000) INSERT INTO t SELECT x, randomblob(1000) FROM c;\n' +
        'SELECT count(*), sum(length(b)) FROM t;\n.print ready\n',
      fill: async (out) => (await waitFor(out, /(\d+\|\d+)\nready/))[1],
    },
    {
      id: 'redis',
      name: 'redis-server: 20,000 values of 4 KB',
      cmd: ['redis-server', '--port', 'PORT', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes', '--daemonize', 'no'],
      server: true,
      fill: async (out, port) => {
        await waitFor(out, /Ready to accept connections/);
        cli(['redis-cli', '-p', String(port), 'DEBUG', 'POPULATE', '20000', 'key', '4096']);
        return cli(['redis-cli', '-p', String(port), 'DBSIZE']);
      },
    },
    {
      id: 'memcached',
      name: 'memcached: 20,000 items of 4 KB',
      cmd: ['memcached', '-p', 'PORT', '-U', '0', '-l', '127.0.0.1', '-m', '512', '-u', 'root'],
      server: true,
      fill: async (out, port) => {
        for (let t0 = Date.now(); ; ) {
          out(); // throws once the run is over
          try {
            await memcachedItems(port);
            break;
          } catch (e) {
            if (Date.now() - t0 > 30_000) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        await memcachedFill(port, 20_000, 4096);
        return memcachedItems(port);
      },
    },
    {
      id: 'mmap',
      name: "python3's mmap module: a private anonymous 192 MiB mapping of its own",
      cmd: [py, '-c', 'import mmap, sys\nm = mmap.mmap(-1, 192 << 20, flags=mmap.MAP_PRIVATE)\nfor i in range(0, 192 << 20, 4096): m[i] = 1\nprint("ready", sum(m[i] for i in range(0, 192 << 20, 1 << 20)), flush=True)\nsys.stdin.read()'],
      fill: async (out) => (await waitFor(out, /ready (\d+)/))[1],
    },
  ];
}

let nextPort = 21000 + (process.pid % 1000) * 8;

/**
 * Run program p under `launcher` (an argv prefix) with `env`; sample it
 * once it holds its data. Resolves { sample, output, stderr, code }.
 */
async function runUnder(launcher, p, env = process.env) {
  const port = nextPort++;
  const cmd = [...launcher, ...p.cmd.map((a) => (a === 'PORT' ? String(port) : a))];
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', (d) => (err += d.toString()));
  child.stdin.on('error', () => {}); // a program that exits early closes its end
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  if (p.input) child.stdin.write(p.input);
  // The program's output so far; once this run is over (the program died,
  // or it was sampled) it throws, which ends a fill still polling.
  let over = false;
  const output_ = () => {
    if (over) throw new Error(`${p.name}: the run is over`);
    return out + err;
  };
  try {
    // A program that dies before it holds its data fails at once, not at the fill's timeout.
    const died = exited.then((code) => {
      throw new Error(`${p.name}: exited (${code ?? child.signalCode}) before holding its data; stderr: ${err.slice(-500)}`);
    });
    const output = await Promise.race([p.fill(output_, port), died]);
    died.catch(() => {});
    const s = sample(child.pid);
    child.stdin.end();
    if (p.server) child.kill('SIGTERM');
    const code = await exited;
    return { sample: s, output, stderr: err, code };
  } finally {
    over = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

module.exports = { programs, runUnder, sample, waitFor, MiB };
