// A store client in its own node process, driven over stdin/stdout with one
// JSON command / answer per line, for the tests that need several processes
// (test/store.test.ts, test/numa/store.test.ts). The child loads the
// compiled package (dist/, built by `npm test`'s pretest).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

const CHILD = `
const crypto = require('node:crypto');
const fs = require('node:fs');
const hm = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
const { parseNumaMaps } = require(${JSON.stringify(path.join(ROOT, 'dist', 'topology', 'numa-maps.js'))});
let store;
const views = new Map();
const reply = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
function memfdPages() {
  const out = {};
  for (const m of parseNumaMaps(fs.readFileSync('/proc/self/numa_maps', 'utf8'))) {
    if (!m.file || !m.file.startsWith('/memfd:hmsdk-store')) continue;
    for (const [n, p] of Object.entries(m.pages)) out[n] = (out[n] || 0) + p;
  }
  return out;
}
const ops = {
  async connect(c) {
    store = await hm.connect(c.options);
    store.on('manager', (m) => reply({ manager: m }));
    return { serving: store.serving, managerPid: store.managerPid };
  },
  async create(c) {
    const b = await store.create(c.key, c.size);
    for (let i = 0; i < b.length; i += 4096) b.fill((i / 4096 + c.seed) & 255, i, Math.min(i + 4096, b.length));
    return { where: hm.where(b).nodes };
  },
  async seal(c) { await store.seal(c.key); return {}; },
  async get(c) {
    const v = await store.get(c.key);
    views.set(c.key, v);
    const hash = crypto.createHash('sha256').update(v).digest('hex');
    return { hash, length: v.length, pages: memfdPages(), where: hm.where(v).nodes };
  },
  async write(c) {
    const v = views.get(c.key);
    v[0] = (v[0] + 1) & 255;
    return { first: v[0], hash: crypto.createHash('sha256').update(v).digest('hex') };
  },
  async release(c) { const n = store.release(c.key); return { released: n, length: views.get(c.key)?.length }; },
  async delete(c) { await store.delete(c.key); return {}; },
  async subscribe(c) { store.subscribe({ prefix: c.prefix }, (e) => reply({ event: e })); return {}; },
  async list() { return { objects: await store.list() }; },
  async disconnect() { await store.disconnect(); return {}; },
  async block(c) { const end = Date.now() + c.ms; while (Date.now() < end); return {}; },
  async exit() { setImmediate(() => process.exit(0)); return {}; },
};
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const c = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    ops[c.op](c).then((r) => reply({ id: c.id, ok: true, ...r }), (e) => reply({ id: c.id, ok: false, code: e.code, name: e.name, message: e.message }));
  }
});
reply({ ready: process.pid });
`;

/** An answer of the child. */
export type Answer = Record<string, unknown> & { ok: boolean; code?: string; message?: string };

/** A store client in a child process. */
export class StoreChild {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly events: { type: string; key: string; seq: number }[] = [];
  readonly managers: Record<string, unknown>[] = [];
  private next = 1;
  private readonly waiting = new Map<number, (a: Answer) => void>();
  private readonly started: Promise<void>;
  stderr = '';

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.proc = spawn(process.execPath, ['-e', CHILD], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    let out = '';
    let ready: () => void = () => undefined;
    this.started = new Promise((r) => (ready = r));
    this.proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const msg = JSON.parse(out.slice(0, nl)) as Record<string, unknown>;
        out = out.slice(nl + 1);
        if ('ready' in msg) ready();
        else if ('event' in msg) this.events.push(msg.event as StoreChild['events'][number]);
        else if ('manager' in msg) this.managers.push(msg.manager as Record<string, unknown>);
        else this.waiting.get(msg.id as number)?.(msg as Answer);
      }
    });
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  /** Send one command; the answer (ok or not). */
  async call(op: string, args: Record<string, unknown> = {}): Promise<Answer> {
    await this.started;
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child ${this.pid}: no answer to ${op} (stderr: ${this.stderr.slice(-500)})`)), 60_000);
      this.waiting.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.proc.stdin.write(JSON.stringify({ id, op, ...args }) + '\n');
    });
  }

  /** Send one command that must succeed. */
  async ok(op: string, args: Record<string, unknown> = {}): Promise<Answer> {
    const a = await this.call(op, args);
    if (!a.ok) throw new Error(`child ${this.pid}: ${op} failed: ${String(a.code ?? a.name)} ${String(a.message)}`);
    return a;
  }

  /** Kill with a signal and wait for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await gone;
  }
}
