// The shared store on the host (one memory node is enough): typed errors,
// several processes sharing one object, copy-on-write views, crashed
// holders, manager death and takeover, worker_threads. Placement on a
// CPU-less node and the node's memory are checked in the VM
// (test/numa/store.test.ts).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, HmsdkError, type Store, type StoreEvent } from '../src/index';
import { storePaths } from '../src/store/paths';
import { topology } from '../src/topology/current';
import { hmsdkWith } from './helpers/cli';
import { StoreChild } from './helpers/store';

const MiB = 2 ** 20;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-store-test-'));
const env = { ...process.env, HMSDK_STORE_DIR: dir };
const children: StoreChild[] = [];
let names = 0;
const uniqueName = (): string => `t${process.pid}/s${names++}`;

function child(): StoreChild {
  const c = new StoreChild(env);
  children.push(c);
  return c;
}

/** The bytes StoreChild's create writes: page i holds (i + seed) & 255. */
function expectedHash(size: number, seed: number): string {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) b.fill((i / 4096 + seed) & 255, i, Math.min(i + 4096, size));
  return createHash('sha256').update(b).digest('hex');
}

async function rejected(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof HmsdkError ? e.code : `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'resolved';
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(() => {
  process.env.HMSDK_STORE_DIR = dir;
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
  delete process.env.HMSDK_STORE_DIR;
});

describe('store: typed errors', () => {
  let store: Store;
  beforeAll(async () => {
    store = await connect({ name: uniqueName() });
  });
  afterAll(() => store.disconnect());

  it('connect refuses bad options with argument errors naming them', async () => {
    expect(await rejected(connect(undefined as never))).toMatch(/^TypeError: options must be an object/);
    expect(await rejected(connect({} as never))).toMatch(/^TypeError: options.name must be a string/);
    expect(await rejected(connect({ name: '' }))).toMatch(/^RangeError: options.name must not be empty/);
    expect(await rejected(connect({ name: 'x\0y' }))).toMatch(/^RangeError: options.name must not contain NUL/);
    expect(await rejected(connect({ name: 'x', bogus: 1 } as never))).toMatch(/^TypeError: options.bogus is not an option/);
    expect(await rejected(connect({ name: 'x', tier: 'FAST' as never }))).toMatch(/^(TypeError|RangeError): options.tier/);
    expect(await rejected(connect({ name: 'x', timeout: 0 }))).toMatch(/^RangeError: options.timeout/);
    expect(await rejected(connect({ name: 'x', populate: 'yes' as never }))).toMatch(/^TypeError: options.populate/);
  });

  it('a store nobody serves, with serve: false, is EMANAGER (not a hang)', async () => {
    const t0 = Date.now();
    expect(await rejected(connect({ name: uniqueName(), serve: false, timeout: 200 }))).toBe('EMANAGER');
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('calls refuse bad keys, sizes, targets and listeners; states give coded errors', async () => {
    expect(await rejected(store.create('', 1))).toMatch(/^RangeError: key must not be empty/);
    expect(await rejected(store.create(7 as never, 1))).toMatch(/^TypeError: key must be a string/);
    expect(await rejected(store.create('k', -1))).toMatch(/^RangeError: size must be a positive integer/);
    expect(await rejected(store.create('k', 1.5))).toMatch(/^RangeError: size must be a positive integer/);
    expect(await rejected(store.create('k', 'big' as never))).toMatch(/^TypeError: size/);
    expect(await rejected(store.get('missing'))).toBe('ENOENT');
    expect(await rejected(store.delete('missing'))).toBe('ENOENT');
    expect(await rejected(store.seal('missing'))).toBe('ENOTOWNER');
    const b = await store.create('k', 4096);
    expect(b.length).toBe(4096);
    expect(await rejected(store.create('k', 4096))).toBe('EEXIST');
    expect(await rejected(store.get('k'))).toBe('ENOTSEALED');
    await store.seal('k');
    expect(b.length).toBe(0); // the creator's writable view is detached at seal
    expect(await rejected(store.seal('k'))).toBe('ENOTOWNER');
    expect(() => store.release(Buffer.alloc(4))).toThrow(expect.objectContaining({ code: 'EFOREIGN' }) as Error);
    expect(() => store.release(12 as never)).toThrow(/^target must be a Buffer/);
    expect(() => store.subscribe(5 as never, () => undefined)).toThrow(/^pattern must be an object/);
    expect(() => store.subscribe('k', 5 as never)).toThrow(/^listener must be a function/);
    expect(() => store.subscribe({ prefix: 5 } as never, () => undefined)).toThrow(/^pattern.prefix must be a string/);
    const v = await store.get('k');
    expect(store.release(v)).toBe(1);
    expect(v.length).toBe(0);
    expect(store.release(v)).toBe(0);
    await store.delete('k');
    expect(await rejected(store.stat('k'))).toBe('ENOENT');
  });

  it('an object deleted while its creator writes it: the writable Buffer is detached, seal is ENOTOWNER', async () => {
    const name = uniqueName();
    const creator = await connect({ name });
    const other = await connect({ name });
    const w = await creator.create('doomed', 8192);
    await other.delete('doomed');
    await until('the creator to see the delete', () => w.length === 0);
    expect(await rejected(creator.seal('doomed'))).toBe('ENOTOWNER');
    expect(await creator.list()).toEqual([]);
    await other.disconnect();
    await creator.disconnect();
  });

  it('a client speaking the raw protocol cannot make the store hand out a file that could shrink (SIGBUS for readers)', async () => {
    const name = uniqueName();
    const s = await connect({ name });
    const file = path.join(dir, 'plain-file');
    fs.writeFileSync(file, Buffer.alloc(8192));
    const st = fs.statSync(file);
    const sock = net.createConnection(storePaths(dir, name).socket);
    const answers: { id: number; ok: boolean; code?: string }[] = [];
    sock.on('data', (d) => {
      for (const l of d.toString().split('\n').filter(Boolean)) {
        const m = JSON.parse(l) as { id?: number; ok: boolean; code?: string };
        if (m.id !== undefined) answers.push(m as { id: number; ok: boolean; code?: string });
      }
    });
    sock.write(JSON.stringify({ id: 1, op: 'reserve', key: 'evil', size: 8192 }) + '\n');
    sock.write(JSON.stringify({ id: 2, op: 'attach', key: 'evil', path: file, ino: st.ino, dev: st.dev, nodes: {} }) + '\n');
    await until('both answers', () => answers.length === 2);
    expect(answers).toEqual([expect.objectContaining({ id: 1, ok: true }), expect.objectContaining({ id: 2, ok: false, code: 'ENOTSUP' })]);
    sock.destroy();
    await until('the reservation to go with its connection', async () => (await s.list()).length === 0 && (await rejected(s.get('evil'))) === 'ENOENT');
    await s.disconnect();
  });

  it('after disconnect every call is ECLOSED', async () => {
    const s = await connect({ name: uniqueName() });
    await s.disconnect();
    expect(await rejected(s.create('a', 1))).toBe('ECLOSED');
    expect(await rejected(s.list())).toBe('ECLOSED');
  });
});

describe('store: processes', () => {
  it('one creator, three readers in other processes: identical bytes, copy-on-write views, holders listed', async () => {
    const name = uniqueName();
    const size = 8 * MiB + 123;
    const creator = child();
    await creator.ok('connect', { options: { name } });
    await creator.ok('create', { key: 'emb', size, seed: 3 });
    await creator.ok('seal', { key: 'emb' });
    const want = expectedHash(size, 3);
    const readers = [child(), child(), child()];
    for (const r of readers) await r.ok('connect', { options: { name } });
    const first = await readers[0]!.ok('get', { key: 'emb' });
    expect(first.hash).toBe(want);
    expect(first.length).toBe(size);
    const wrote = await readers[0]!.ok('write', { key: 'emb' });
    expect(wrote.hash).not.toBe(want); // the writer sees its write, and did not crash
    for (const r of readers.slice(1)) expect((await r.ok('get', { key: 'emb' })).hash).toBe(want);
    const s = await connect({ name, serve: false });
    const info = await s.stat('emb');
    expect(info.state).toBe('sealed');
    expect(info.size).toBe(size);
    expect(info.creatorPid).toBe(creator.pid);
    expect(info.holders.map((h) => h.pid).sort()).toEqual(readers.map((r) => r.pid).sort());
    const mine = await s.get('emb');
    expect(createHash('sha256').update(mine).digest('hex')).toBe(want);
    s.release(mine);
    await s.disconnect();
  });

  it('a holder killed with SIGKILL drops its holds at once; delete is not blocked; subscribers see created, sealed, deleted in order', async () => {
    const name = uniqueName();
    const events: StoreEvent[] = [];
    const s = await connect({ name });
    const sub = s.subscribe({ prefix: 'obj/' }, (e) => events.push(e));
    const other: StoreEvent[] = [];
    s.subscribe('unrelated', (e) => other.push(e));
    const creator = child();
    await creator.ok('connect', { options: { name } });
    await creator.ok('create', { key: 'obj/a', size: MiB, seed: 1 });
    await creator.ok('seal', { key: 'obj/a' });
    const holder = child();
    await holder.ok('connect', { options: { name } });
    await holder.ok('get', { key: 'obj/a' });
    expect((await s.stat('obj/a')).holders).toEqual([{ pid: holder.pid, holds: 1 }]);
    await holder.kill('SIGKILL');
    await until('the dead holder to be dropped', async () => (await s.stat('obj/a')).holders.length === 0);
    await s.delete('obj/a');
    await until('deleted event', () => events.length === 3);
    expect(events.map((e) => `${e.type}:${e.key}`)).toEqual(['created:obj/a', 'sealed:obj/a', 'deleted:obj/a']);
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
    expect(other).toEqual([]);
    sub.unsubscribe();
    await creator.ok('create', { key: 'obj/b', size: 4096, seed: 1 });
    await s.list();
    expect(events.length).toBe(3);
    await s.disconnect();
  });

  it('a creator that dies before seal leaves nothing behind', async () => {
    const name = uniqueName();
    const s = await connect({ name });
    const creator = child();
    await creator.ok('connect', { options: { name } });
    await creator.ok('create', { key: 'half', size: MiB, seed: 0 });
    expect((await s.list()).map((o) => o.state)).toEqual(['creating']);
    await creator.kill('SIGKILL');
    await until('the unsealed object to go', async () => (await s.list()).length === 0);
    await s.disconnect();
  });

  it('manager killed: a client takes over, objects someone still holds survive, in-flight calls get EMANAGER, later calls work', async () => {
    const name = uniqueName();
    const manager = child();
    expect((await manager.ok('connect', { options: { name } })).serving).toBe(true);
    await manager.ok('create', { key: 'held', size: 2 * MiB, seed: 5 });
    await manager.ok('seal', { key: 'held' });
    await manager.ok('create', { key: 'lonely', size: 4096, seed: 5 });
    await manager.ok('seal', { key: 'lonely' });
    const reader = child();
    await reader.ok('connect', { options: { name } });
    await reader.ok('get', { key: 'held' });
    // Created and sealed by a third process, held by nobody: its creator keeps it.
    const maker = child();
    await maker.ok('connect', { options: { name } });
    await maker.ok('create', { key: 'made', size: MiB, seed: 6 });
    await maker.ok('seal', { key: 'made' });
    const s = await connect({ name });
    expect(s.serving).toBe(false);
    expect(s.managerPid).toBe(manager.pid);
    const changes: { pid: number; previous: number }[] = [];
    s.on('manager', (m: { pid: number; previous: number }) => changes.push(m));
    // The manager is stuck (its event loop blocked) while our call is in flight, then dies.
    void manager.call('block', { ms: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    const inFlight = rejected(s.list());
    await new Promise((r) => setTimeout(r, 50));
    await manager.kill('SIGKILL');
    expect(await inFlight).toBe('EMANAGER');
    await until('a new manager', () => changes.length === 1 && reader.managers.length === 1);
    expect(changes[0]!.previous).toBe(manager.pid);
    expect([process.pid, reader.pid, maker.pid]).toContain(changes[0]!.pid);
    await until('the reader to hand its object over', async () => (await s.list()).some((o) => o.key === 'held'));
    const v = await s.get('held');
    expect(createHash('sha256').update(v).digest('hex')).toBe(expectedHash(2 * MiB, 5));
    await until('the creator to hand its object over', async () => (await s.list()).some((o) => o.key === 'made'));
    const made = await s.get('made');
    expect(createHash('sha256').update(made).digest('hex')).toBe(expectedHash(MiB, 6));
    expect((await s.stat('made')).nodes).toEqual({ [topology().normalNodes[0]!]: MiB }); // the placement survives the handover too
    s.release(made);
    // Held only by the dead manager: gone, and said so.
    expect(await rejected(s.get('lonely'))).toBe('ENOENT');
    s.release(v);
    await s.disconnect();
  });
});

describe('store: worker_threads', () => {
  it('workers create and get with the same API; a terminated worker releases its holds', async () => {
    const name = uniqueName();
    const s = await connect({ name });
    const b = await s.create('table', 64 * 1024);
    for (let i = 0; i < b.length; i++) b[i] = i & 255;
    await s.seal('table');
    const dist = JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'));
    const src = `
      const { parentPort, workerData } = require('node:worker_threads');
      const hm = require(${dist});
      (async () => {
        const s = await hm.connect({ name: workerData });
        const v = await s.get('table');
        globalThis.held = v;
        let sum = 0;
        for (let i = 0; i < v.length; i++) sum += v[i];
        const mine = await s.create('from-worker', 4096);
        mine.fill(9);
        await s.seal('from-worker');
        parentPort.on('message', () => undefined); // stay alive, holding the view, until terminated
        parentPort.postMessage({ sum, serving: s.serving });
      })().catch((e) => parentPort.postMessage({ error: String(e) }));`;
    const w = new Worker(src, { eval: true, workerData: name });
    const msg = await new Promise<{ sum?: number; serving?: boolean; error?: string }>((r) => w.once('message', r));
    expect(msg.error).toBeUndefined();
    expect(msg.sum).toBe(128 * 255 * 256);
    expect(msg.serving).toBe(false);
    const fromWorker = await s.get('from-worker');
    expect(fromWorker.every((x) => x === 9)).toBe(true);
    expect((await s.stat('table')).holders).toEqual([{ pid: process.pid, holds: 1 }]);
    await w.terminate();
    await until('the worker holds to go', async () => (await s.stat('table')).holders.length === 0);
    s.release(fromWorker);
    await s.disconnect();
  });
});

describe('store: a worker that manages the store', () => {
  it('is terminated: its lock goes with it and the main thread takes over with the object it holds', async () => {
    const name = uniqueName();
    const dist = JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'));
    const src = `
      const { parentPort, workerData } = require('node:worker_threads');
      const hm = require(${dist});
      (async () => {
        const s = await hm.connect({ name: workerData });
        const b = await s.create('w', 8192);
        b.fill(4);
        await s.seal('w');
        parentPort.on('message', () => undefined);
        parentPort.postMessage({ serving: s.serving });
      })().catch((e) => parentPort.postMessage({ error: String(e) }));`;
    const w = new Worker(src, { eval: true, workerData: name });
    const msg = await new Promise<{ serving?: boolean; error?: string }>((r) => w.once('message', r));
    expect(msg).toEqual({ serving: true });
    const s = await connect({ name });
    expect(s.serving).toBe(false);
    const v = await s.get('w');
    const changes: { serving: boolean }[] = [];
    s.on('manager', (m: { serving: boolean }) => changes.push(m));
    await w.terminate();
    await until('the main thread to take over', () => changes.length === 1);
    expect(changes[0]!.serving).toBe(true);
    expect(s.serving).toBe(true);
    expect(v.every((x) => x === 4)).toBe(true);
    const again = await s.get('w'); // the object survived: this thread held it and handed it over
    expect(again.every((x) => x === 4)).toBe(true);
    s.release('w');
    await s.disconnect();
  });
});

describe('store: CLI', () => {
  it('hmsdk store ls lists objects, holders, nodes; hmsdk stats shows store bytes per node and tier; usage errors exit 2', async () => {
    const name = uniqueName();
    const creator = child();
    await creator.ok('connect', { options: { name } });
    await creator.ok('create', { key: 'tbl', size: 3 * MiB, seed: 2 });
    await creator.ok('seal', { key: 'tbl' });
    const reader = child();
    await reader.ok('connect', { options: { name } });
    await reader.ok('get', { key: 'tbl' });
    const opts = { env: { HMSDK_STORE_DIR: dir } };
    const ls = hmsdkWith(opts, 'store', 'ls', name, '--json');
    expect(ls.code, ls.err).toBe(0);
    const objects = JSON.parse(ls.out) as { key: string; size: number; state: string; holders: { pid: number }[]; nodes: Record<string, number> }[];
    expect(objects.map((o) => [o.key, o.size, o.state, o.holders.map((h) => h.pid)])).toEqual([['tbl', 3 * MiB, 'sealed', [reader.pid]]]);
    expect(Object.values(objects[0]!.nodes).reduce((a, b) => a + b, 0)).toBe(3 * MiB);
    const table = hmsdkWith(opts, 'store', 'ls', name);
    expect(table.out).toMatch(new RegExp(`^tbl +3Mi +sealed +${creator.pid} +${reader.pid} `, 'm'));
    const st = JSON.parse(hmsdkWith(opts, 'stats', '--json').out) as { stores: { name: string; tier: string; objects: number; bytes: number }[] };
    expect(st.stores.filter((x) => x.name === name)).toEqual([expect.objectContaining({ tier: 'NORMAL', objects: 1, bytes: 3 * MiB })]);
    expect(hmsdkWith(opts, 'stats').out).toMatch(/^shared store objects/m);
    expect(hmsdkWith(opts, 'store').code).toBe(2);
    expect(hmsdkWith(opts, 'store', 'ls').code).toBe(2);
    expect(hmsdkWith(opts, 'store', 'nope', 'x').code).toBe(2);
    const nobody = hmsdkWith(opts, 'store', 'ls', uniqueName());
    expect(nobody.code).toBe(1);
    expect(nobody.err).toMatch(/has no manager.*\[EMANAGER\]$/m);
  });
});
