/**
 * The store's client: `connect()` and the {@link Store} it returns, the
 * GISMO calls (connect, disconnect, create, seal, get, release, delete,
 * subscribe) over a manager (src/store/server.ts) found by the store's
 * name, or started in this process when nobody serves it (embedded mode).
 *
 * Memory: `create` makes the object here (native/core/hm_shm.h: placed,
 * capacity-checked, populated and verified before anyone can see it) and
 * hands the creator a writable Buffer; `seal` detaches that Buffer and
 * write-seals the memfd; `get` maps the sealed object private
 * copy-on-write from a read-only fd, so a write through a reader's view
 * changes that reader's copy of the page only. Release detaches views at
 * once (every view of the ArrayBuffer drops to length 0) and drops this
 * process's reference to the pages; a view nobody releases is released
 * when it is garbage collected.
 *
 * A client keeps the object's fd while it holds views of it, and the
 * creator until the object is deleted: when the manager dies, the client
 * finds or becomes the new one and hands these objects over (adopt), so an
 * object survives its manager as long as some process still has it.
 * Requests that were in flight fail with `EMANAGER`; later calls go to the
 * new manager.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { HmsdkError, type HmsdkErrorCode } from '../errors';
import { allocError } from '../alloc/buffers';
import { native } from '../alloc/native';
import type { Policy, Tier } from '../alloc/options';
import { resolvePlacement } from '../alloc/placement';
import { byteRangeOf, checkSize, checkStoreKey, checkStoreOptions, describe, readOptions, type StoreRequest } from '../util/validate';
import { storeDir, storePaths } from './paths';
import { type Ident, LineReader, line, type ObjectState, type Request, type StoreEventType, type WireEvent, type WireObject } from './protocol';
import { StoreServer } from './server';

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** The store's name on this host (path-like names such as `models/bert` are fine). */
  name: string;
  /** Tier of the store's objects (default NORMAL), as in `allocate()`. */
  tier?: Tier;
  /** One node for the store's objects. */
  node?: number;
  /** Nodes for the store's objects. */
  nodes?: number[];
  /** Kernel policy of the objects (default `bind`: strict, ENOMEM when the tier is full); `weighted` is not supported. */
  policy?: Exclude<Policy, 'weighted'>;
  /** `'normal'`: use DRAM when the machine has no EXMEM node. */
  fallback?: 'none' | 'normal';
  /** Fault and verify every page at create (default true; false leaves pages to fault on first write). */
  populate?: boolean;
  /** Serve the store from this process when nobody does (default true). */
  serve?: boolean;
  /** Milliseconds to find or become the manager (default 5000). */
  timeout?: number;
}

/** One event of {@link Store.subscribe}. */
export interface StoreEvent {
  /** What happened: `created` (made, not readable yet), `sealed` (readable), `deleted`. */
  type: StoreEventType;
  /** The object's key. */
  key: string;
  /** The object's size in bytes. */
  size: number;
  /** Order of the event at its manager (restarts when a new manager takes over). */
  seq: number;
}

/** One object as {@link Store.list} reports it. */
export interface StoreObjectInfo {
  /** The object's key. */
  key: string;
  /** Its size in bytes (as asked at create). */
  size: number;
  /** `creating`, `sealed`, or `deleted` (gone from the store, still held). */
  state: ObjectState;
  /** Pid of the process that created it. */
  creatorPid: number;
  /** Connections holding views (one per process or worker), with their number of `get()` holds. */
  holders: {
    /** Pid of the holder. */
    pid: number;
    /** Its `get()` holds not released yet. */
    holds: number;
  }[];
  /** Bytes per node when the object was created (move_pages in the creator). */
  nodes: Record<number, number>;
}

/** A subscription; `unsubscribe()` (or `using`) ends it. */
export interface StoreSubscription extends Disposable {
  /** End the subscription: the listener is not called again. */
  unsubscribe(): void;
}

/** What the store knows of one object this process has (created or got). */
interface Held extends Ident {
  key: string;
  size: number;
  fd: number;
  creator: boolean;
  state: 'creating' | 'sealed';
  /** The creator's writable ArrayBuffer, until seal. */
  writable: ArrayBuffer | undefined;
  /** Bytes per node at create (handed to a new manager). */
  nodes: Record<string, number>;
  /** Live views from get(), one hold each. */
  views: Set<ViewRec>;
}

interface ViewRec {
  held: Held;
  ab: WeakRef<ArrayBuffer>;
}

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

const identKey = (i: Ident): string => `${i.dev}:${i.ino}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CODES = new Set<HmsdkErrorCode>(['EEXIST', 'ENOENT', 'ENOTSEALED', 'ENOTOWNER', 'ENOTSUP', 'ESYSCALL']);

function dial(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(path);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * Reach the manager of `name`, starting one here when `serve` and nobody
 * serves (a lost election means someone else is starting: retry).
 */
async function findManager(
  dir: string,
  name: string,
  serve: boolean,
  timeout: number,
): Promise<{ socket: net.Socket; server: StoreServer | undefined }> {
  const { socket: socketPath } = storePaths(dir, name);
  const deadline = Date.now() + timeout;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      return { socket: await dial(socketPath), server: undefined };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ECONNRESET: a dying manager's backlog (its process is exiting).
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED' && code !== 'ECONNRESET') {
        throw new HmsdkError('ESYSCALL', `cannot reach store ${name} at ${socketPath} (${(err as Error).message})`, { cause: err });
      }
    }
    if (serve) {
      const server = await StoreServer.start(dir, name, false);
      if (server) return { socket: await dial(socketPath), server };
    }
    if (Date.now() > deadline) {
      throw new HmsdkError(
        'EMANAGER',
        serve
          ? `no manager of store ${name} answered within ${timeout} ms (${socketPath})`
          : `store ${name} has no manager: start one with 'hmsdk store serve ${name}', or connect with serve: true`,
      );
    }
    await sleep(delay);
  }
}

/** A connected store. Calls that talk to the manager are async; release and subscribe are synchronous. */
export class Store extends EventEmitter {
  /** The store's name. */
  readonly name: string;
  private socket: net.Socket | undefined;
  private server: StoreServer | undefined;
  private managerPid_ = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly held = new Map<string, Held>();
  private readonly views = new WeakMap<ArrayBuffer, ViewRec>();
  private readonly subs = new Set<{ match: (key: string) => boolean; listener: (e: StoreEvent) => void }>();
  private readonly finalizers = new FinalizationRegistry<ViewRec>((rec) => this.dropView(rec, false));
  private recovering: Promise<void> | undefined;
  private closedBy: HmsdkError | undefined;

  /** @internal */
  constructor(
    private readonly req: StoreRequest,
    private readonly placementId: number,
    private readonly dir: string,
  ) {
    super();
    this.name = req.name;
  }

  /** Pid of the process that manages the store now. */
  get managerPid(): number {
    return this.managerPid_;
  }

  /** Whether this process (this thread) runs the store's manager. */
  get serving(): boolean {
    return this.server !== undefined;
  }

  /** @internal */
  async open(): Promise<void> {
    const { socket, server } = await findManager(this.dir, this.name, this.req.serve, this.req.timeout);
    this.server = server ?? this.server;
    this.attach(socket);
    const hello = await this.request({ op: 'hello', pid: process.pid });
    this.managerPid_ = Number(hello.pid);
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    socket.unref();
    const reader = new LineReader(
      (msg) => this.onMessage(msg),
      () => socket.destroy(),
    );
    socket.on('data', (chunk) => reader.push(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (this.socket === socket) this.lost();
    });
  }

  private onMessage(msg: Record<string, unknown>): void {
    if (typeof msg.ev === 'string') return this.onEvent(msg as unknown as WireEvent);
    const p = this.pending.get(Number(msg.id));
    if (!p) return;
    this.pending.delete(Number(msg.id));
    if (this.pending.size === 0) this.socket?.unref();
    if (msg.ok === true) p.resolve(msg);
    else {
      const code = CODES.has(msg.code as HmsdkErrorCode) ? (msg.code as HmsdkErrorCode) : 'ESYSCALL';
      p.reject(new HmsdkError(code, String(msg.message)));
    }
  }

  private onEvent(e: WireEvent): void {
    if (e.ev === 'deleted') {
      const h = this.held.get(identKey(e));
      if (h) {
        // Deleted while this process was still writing it: the writable Buffer goes too.
        if (h.writable) native().shmRelease(h.writable);
        h.writable = undefined;
        h.creator = false;
        this.forgetIfUnused(h);
      }
    }
    const ev: StoreEvent = { type: e.ev, key: e.key, size: e.size, seq: e.seq };
    for (const s of [...this.subs]) {
      if (!this.subs.has(s) || !s.match(e.key)) continue;
      try {
        s.listener(ev);
      } catch (err) {
        process.emitWarning(`hmsdk store ${this.name}: a subscriber threw: ${(err as Error).message}`);
      }
    }
  }

  /**
   * The manager went away: fail what was in flight, find (or become) the
   * next one, hand our objects over. A connection that dies during the
   * takeover (a dying manager still accepts into its backlog) is retried
   * until the connect timeout.
   */
  private lost(): void {
    this.socket = undefined;
    const err = new HmsdkError('EMANAGER', `the manager of store ${this.name} (pid ${this.managerPid_}) went away during the call; a new one is taking over: retry`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (this.closedBy || this.recovering) return;
    const old = this.managerPid_;
    this.recovering = (async () => {
      const deadline = Date.now() + this.req.timeout;
      for (;;) {
        try {
          await this.open();
          const adopted = await this.handOver();
          this.emit('manager', { pid: this.managerPid_, previous: old, serving: this.serving, adopted });
          return;
        } catch (e) {
          this.socket?.destroy();
          this.socket = undefined;
          if (Date.now() < deadline) {
            await sleep(20);
            continue;
          }
          this.closedBy = e instanceof HmsdkError ? e : new HmsdkError('EMANAGER', String(e));
          this.emit('closed', this.closedBy);
          return;
        }
      }
    })().finally(() => (this.recovering = undefined));
  }

  /** Give the new manager every object this process still has; the number it did not know. */
  private async handOver(): Promise<number> {
    let adopted = 0;
    for (const h of [...this.held.values()]) {
      try {
        const r = await this.request({
          op: 'adopt',
          key: h.key,
          size: h.size,
          state: h.state,
          creator: h.creator,
          holds: h.views.size,
          path: `/proc/${process.pid}/fd/${h.fd}`,
          ino: h.ino,
          dev: h.dev,
          nodes: h.nodes,
        });
        if (r.adopted === true) adopted++;
      } catch (e) {
        if ((e as HmsdkError).code === 'EMANAGER') throw e;
        /* EEXIST: another object took the key meanwhile; ours stays mapped until released */
      }
    }
    return adopted;
  }

  private async ready(): Promise<void> {
    if (this.recovering) await this.recovering;
    if (this.closedBy) throw this.closedBy;
  }

  private request(msg: Request): Promise<Record<string, unknown>> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new HmsdkError('EMANAGER', `store ${this.name} has no manager right now: retry`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      socket.ref();
      socket.write(line({ id, ...msg }));
    });
  }

  /** Fire and forget (ordered with the requests). */
  private post(msg: Request): void {
    this.socket?.write(line({ id: 0, ...msg }));
  }

  /**
   * Create object `key` of `size` bytes on the store's placement and return
   * its writable Buffer (only the creator ever writes it). Readers cannot
   * see it until {@link seal}. `ENOMEM` when the tier cannot hold it (the
   * core's capacity rule; never an OOM kill), `EEXIST` when the key exists.
   */
  async create(key: string, size: number): Promise<Buffer> {
    key = checkStoreKey('key', key);
    size = checkSize('size', size);
    await this.ready();
    await this.request({ op: 'reserve', key, size });
    const addon = native();
    const r = addon.shmCreate(this.placementId, size, this.req.populate);
    if (typeof r === 'number') {
      const err = allocError(size, `store object ${JSON.stringify(key)}`);
      this.post({ op: 'abort', key });
      throw err;
    }
    const id = addon.shmIdent(r.fd);
    const where = addon.where(r.buffer);
    if (typeof id === 'number') {
      addon.shmRelease(r.buffer);
      addon.closeFd(r.fd);
      this.post({ op: 'abort', key });
      throw new HmsdkError('ESYSCALL', `fstat of a new memfd failed (errno ${-id})`, { syscall: 'fstat', errno: -id });
    }
    const nodes = typeof where === 'number' ? {} : Object.fromEntries(Object.entries(where.nodes).map(([n, pages]) => [n, pages * where.pageSize]));
    try {
      await this.request({ op: 'attach', key, path: `/proc/${process.pid}/fd/${r.fd}`, ino: id.ino, dev: id.dev, nodes });
    } catch (err) {
      addon.shmRelease(r.buffer);
      addon.closeFd(r.fd);
      this.post({ op: 'abort', key });
      throw err;
    }
    const h: Held = { key, size, fd: r.fd, ino: id.ino, dev: id.dev, creator: true, state: 'creating', writable: r.buffer, nodes, views: new Set() };
    this.held.set(identKey(h), h);
    return Buffer.from(r.buffer);
  }

  /** Make `key` immutable and visible to readers: the creator's Buffer is detached (use get() to read it). */
  async seal(key: string): Promise<void> {
    key = checkStoreKey('key', key);
    await this.ready();
    const h = [...this.held.values()].find((x) => x.key === key && x.creator && x.state === 'creating');
    if (!h) throw new HmsdkError('ENOTOWNER', `object ${JSON.stringify(key)} is not being created by this connection`);
    // Once per object; a seal retried after EMANAGER only tells the (new) manager.
    if (h.writable) {
      native().shmRelease(h.writable);
      h.writable = undefined;
      const r = native().shmSeal(h.fd);
      if (r < 0) throw new HmsdkError('ESYSCALL', `sealing the memfd of ${JSON.stringify(key)} failed (errno ${-r})`, { syscall: 'fcntl', errno: -r });
    }
    await this.request({ op: 'seal', key });
    h.state = 'sealed';
  }

  /**
   * Map sealed object `key` into this process, zero copies: a Buffer over
   * the object's own pages, private copy-on-write (a write through it
   * changes this process's copy of the page only). One hold per call, until
   * {@link release}. `ENOENT` (no such key), `ENOTSEALED` (still being created).
   */
  async get(key: string): Promise<Buffer> {
    key = checkStoreKey('key', key);
    await this.ready();
    const r = await this.request({ op: 'get', key });
    const ident: Ident = { ino: Number(r.ino), dev: Number(r.dev) };
    const nodes = (r.nodes ?? {}) as Record<string, number>;
    const size = Number(r.size);
    const addon = native();
    let h = this.held.get(identKey(ident));
    let fd = h ? h.fd : -1;
    const unhold = (): void => this.post({ op: 'release', ino: ident.ino, dev: ident.dev, holds: 1 });
    if (fd < 0) {
      fd = addon.shmOpen(String(r.path));
      const got = fd >= 0 ? addon.shmIdent(fd) : fd;
      if (typeof got === 'number' || got.ino !== ident.ino || got.dev !== ident.dev) {
        if (fd >= 0) addon.closeFd(fd);
        unhold();
        throw new HmsdkError('ENOENT', `object ${JSON.stringify(key)} was deleted while it was being mapped`);
      }
    }
    const ab = addon.shmMap(fd, size, true);
    if (typeof ab === 'number') {
      if (!h) addon.closeFd(fd);
      unhold();
      throw allocError(size, `mapping store object ${JSON.stringify(key)}`);
    }
    if (!h) {
      h = { key, size, fd, ...ident, creator: false, state: 'sealed', writable: undefined, nodes, views: new Set() };
      this.held.set(identKey(h), h);
    }
    const rec: ViewRec = { held: h, ab: new WeakRef(ab) };
    h.views.add(rec);
    this.views.set(ab, rec);
    this.finalizers.register(ab, rec, rec);
    return Buffer.from(ab);
  }

  /**
   * Done reading: detach one view (a Buffer, typed array or ArrayBuffer
   * from {@link get}) or every view of `key` this process holds. Every
   * view of a released ArrayBuffer drops to length 0. Returns the number of
   * holds released (0: nothing was held).
   */
  release(target: string | ArrayBufferLike | ArrayBufferView): number {
    if (typeof target === 'string') {
      const key = checkStoreKey('target', target);
      let n = 0;
      for (const h of [...this.held.values()]) if (h.key === key) for (const rec of [...h.views]) n += this.dropView(rec, true);
      return n;
    }
    const range = byteRangeOf('target', target);
    const rec = this.views.get(range.buffer);
    if (!rec) {
      if (range.byteLength === 0) return 0; // released (detached) already
      throw new HmsdkError('EFOREIGN', `target is not a view from get() of store ${this.name} (${describe(target)})`);
    }
    return this.dropView(rec, true);
  }

  /** One view goes: detached now (explicit) or already collected (finalizer). 1 if it held, else 0. */
  private dropView(rec: ViewRec, explicit: boolean): number {
    const h = rec.held;
    if (!h.views.delete(rec)) return 0;
    const ab = rec.ab.deref();
    if (explicit && ab) {
      native().shmRelease(ab);
      this.finalizers.unregister(rec);
    }
    this.post({ op: 'release', ino: h.ino, dev: h.dev, holds: 1 });
    this.forgetIfUnused(h);
    return 1;
  }

  private forgetIfUnused(h: Held): void {
    if (h.creator || h.views.size > 0 || h.writable) return;
    native().closeFd(h.fd);
    this.held.delete(identKey(h));
  }

  /**
   * Delete `key`: it leaves the store now (a new object may take the key);
   * this process's views of it are released, other holders keep theirs and
   * the memory goes back when the last of them releases (or exits).
   */
  async delete(key: string): Promise<void> {
    key = checkStoreKey('key', key);
    await this.ready();
    await this.request({ op: 'delete', key });
    for (const h of [...this.held.values()]) {
      if (h.key !== key) continue;
      if (h.writable) native().shmRelease(h.writable);
      h.writable = undefined;
      h.creator = false;
      for (const rec of [...h.views]) this.dropView(rec, true);
      this.forgetIfUnused(h);
    }
  }

  /**
   * Call `listener` with the events of `key` (a string: that key only) or
   * of every key starting with `{ prefix }`, in the manager's order:
   * created, sealed, deleted.
   */
  subscribe(pattern: string | { prefix: string }, listener: (event: StoreEvent) => void): StoreSubscription {
    let match: (key: string) => boolean;
    if (typeof pattern === 'string') {
      const key = checkStoreKey('pattern', pattern);
      match = (k) => k === key;
    } else {
      const o = readOptions('pattern', pattern, ['prefix']);
      const prefix = typeof o.prefix === 'string' ? o.prefix : checkStoreKey('pattern.prefix', o.prefix);
      match = (k) => k.startsWith(prefix);
    }
    if (typeof listener !== 'function') throw new TypeError(`listener must be a function, got ${describe(listener)}`);
    const sub = { match, listener };
    this.subs.add(sub);
    const unsubscribe = (): void => void this.subs.delete(sub);
    return { unsubscribe, [Symbol.dispose]: unsubscribe };
  }

  /** Every object of the store (deleted ones while they still have holders). */
  async list(): Promise<StoreObjectInfo[]> {
    await this.ready();
    const r = await this.request({ op: 'list' });
    return (r.objects as WireObject[]).map((o) => ({
      key: o.key,
      size: o.size,
      state: o.state,
      creatorPid: o.creatorPid,
      holders: o.holders,
      nodes: Object.fromEntries(Object.entries(o.nodes).map(([n, p]) => [Number(n), p])),
    }));
  }

  /** One object's entry of {@link list}; `ENOENT` when there is none. */
  async stat(key: string): Promise<StoreObjectInfo> {
    key = checkStoreKey('key', key);
    const o = (await this.list()).find((x) => x.key === key && x.state !== 'deleted');
    if (!o) throw new HmsdkError('ENOENT', `no object ${JSON.stringify(key)} in store ${this.name}`);
    return o;
  }

  /**
   * Release every view and close the connection. Objects this process
   * created stay in the store (the manager has them); a manager running in
   * this process keeps serving the others until the process exits.
   */
  async disconnect(): Promise<void> {
    if (this.closedBy) return;
    if (this.recovering) await this.recovering.catch(() => undefined);
    for (const h of [...this.held.values()]) {
      for (const rec of [...h.views]) this.dropView(rec, true);
      if (h.writable) native().shmRelease(h.writable);
      h.writable = undefined;
      h.creator = false;
      this.forgetIfUnused(h);
    }
    this.closedBy = new HmsdkError('ECLOSED', `store ${this.name} was disconnected`);
    const socket = this.socket;
    this.socket = undefined;
    for (const p of this.pending.values()) p.reject(this.closedBy);
    this.pending.clear();
    if (socket) await new Promise<void>((resolve) => socket.end(resolve));
  }
}

/**
 * Connect to store `options.name` on this host, serving it from this
 * process when nobody does (unless `serve: false`). Placement options are
 * allocate()'s and apply to the objects this connection creates.
 */
export async function connect(options: ConnectOptions): Promise<Store> {
  const req = checkStoreOptions('options', options);
  const p = resolvePlacement(req.placement);
  if (p.kind !== 'kernel') throw new HmsdkError('ENOTSUP', 'a store object has one kernel policy: weighted placements are not supported');
  const store = new Store(req, p.id, storeDir());
  await store.open();
  return store;
}
