/**
 * A store's manager: the one process (or worker) that keeps the names,
 * states and holders of a store's objects and answers its clients over a
 * Unix socket (src/store/protocol.ts). It holds one read-only fd per
 * object, which keeps the object's memory alive while nobody maps it, and
 * hands readers a `/proc/<pid>/fd/<n>` path to open; it never maps an
 * object itself.
 *
 * Election: whoever takes the store's lock file (flock, see paths.ts)
 * manages the store; a stale socket file of a dead manager is removed by
 * the new one before it listens. The lock and the socket die with the
 * process, so a manager killed with SIGKILL is replaced by the next client
 * that needs one.
 *
 * Holds are per connection: a connection that closes (its process exited
 * or was killed) releases every hold it had and aborts every object it was
 * still creating, so a crashed holder neither leaks an object nor blocks
 * its delete. A deleted object leaves the namespace at once; it is listed
 * as `deleted` until its last holder lets go, and its memory returns when
 * the last mapping is gone.
 *
 * The manager also keeps `<name>.status.json` next to its socket (objects,
 * sizes, states, bytes per node; rewritten after every change, removed at
 * close), so `hmsdk stats` can show store memory without a connection.
 *
 * An embedded manager does not keep its process alive (its server and
 * connection handles are unref'd); `hmsdk store serve` keeps it alive.
 * @internal
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { HmsdkError, type HmsdkErrorCode } from '../errors';
import { native, SEAL_SHRINK } from '../alloc/native';
import { ensureStoreDir, storePaths } from './paths';
import { STATUS_VERSION, type StoreStatus } from './status';
import { type Ident, LineReader, line, type ObjectState, type Request, type StoreEventType, type WireObject } from './protocol';

interface Conn {
  socket: net.Socket;
  pid: number;
}

interface Obj extends Ident {
  key: string;
  size: number;
  state: ObjectState;
  /** The manager's read-only fd (-1 while reserved, before the creator attached). */
  fd: number;
  creator: Conn | undefined;
  creatorPid: number;
  holds: Map<Conn, number>;
  nodes: Record<string, number>;
  /** created was announced. */
  announced: boolean;
}

class Refusal extends Error {
  constructor(
    readonly code: HmsdkErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const identKey = (i: Ident): string => `${i.dev}:${i.ino}`;

/** Open `path` read-only and check it is the file with identity `want`; the fd or a Refusal. */
function openChecked(path: string, want: Ident): number {
  const addon = native();
  const fd = addon.shmOpen(path);
  if (fd < 0) throw new Refusal('ENOENT', `cannot open ${path} (errno ${-fd})`);
  const id = addon.shmIdent(fd);
  if (typeof id === 'number' || id.ino !== want.ino || id.dev !== want.dev) {
    addon.closeFd(fd);
    throw new Refusal('ENOENT', `${path} is no longer the object (its process exited or reused the descriptor)`);
  }
  if (id.seals < 0 || (id.seals & SEAL_SHRINK) === 0) {
    addon.closeFd(fd);
    throw new Refusal('ENOTSUP', `${path} is not a store object (a memfd sealed against shrinking)`);
  }
  return fd;
}

/** A running manager. */
export class StoreServer {
  private readonly objects = new Map<string, Obj>();
  /** Deleted objects that still have holders, by identity. */
  private readonly zombies = new Map<string, Obj>();
  private readonly conns = new Set<Conn>();
  private seq = 0;
  private closed = false;
  private statusQueued = false;

  private constructor(
    readonly name: string,
    readonly socketPath: string,
    private readonly statusPath: string,
    private readonly lockFd: number,
    private readonly server: net.Server,
  ) {}

  /**
   * Become the manager of `name` in `dir` if nobody is: undefined when
   * another process (or worker) holds the lock. `keepAlive` keeps the
   * process running (standalone `hmsdk store serve`).
   */
  static async start(dir: string, name: string, keepAlive: boolean): Promise<StoreServer | undefined> {
    ensureStoreDir(dir);
    const paths = storePaths(dir, name);
    const addon = native();
    const lockFd = addon.lockFile(paths.lock);
    if (lockFd === -11) return undefined; // EWOULDBLOCK: a live manager holds it
    if (lockFd < 0) throw new HmsdkError('ESYSCALL', `cannot lock ${paths.lock} (errno ${-lockFd})`, { syscall: 'flock', errno: -lockFd });
    // We hold the lock: a socket file left there is a dead manager's.
    fs.rmSync(paths.socket, { force: true });
    const server = net.createServer();
    const s = new StoreServer(name, paths.socket, paths.status, lockFd, server);
    server.on('connection', (socket) => s.accept(socket, keepAlive));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(paths.socket, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      addon.unlockFile(lockFd);
      throw new HmsdkError('ESYSCALL', `cannot listen on ${paths.socket} (${(err as Error).message})`, { cause: err });
    }
    if (!keepAlive) server.unref();
    return s;
  }

  /** Stop serving: every connection is closed (its clients look for a new manager), every object's fd closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    for (const c of this.conns) c.socket.destroy();
    const addon = native();
    for (const o of [...this.objects.values(), ...this.zombies.values()]) if (o.fd >= 0) addon.closeFd(o.fd);
    this.objects.clear();
    this.zombies.clear();
    fs.rmSync(this.socketPath, { force: true });
    fs.rmSync(this.statusPath, { force: true });
    addon.unlockFile(this.lockFd);
  }

  /** Rewrite the status file once per turn of the event loop, after changes. */
  private statusChanged(): void {
    if (this.statusQueued || this.closed) return;
    this.statusQueued = true;
    setImmediate(() => {
      this.statusQueued = false;
      if (this.closed) return;
      const status: StoreStatus = {
        version: STATUS_VERSION,
        name: this.name,
        pid: process.pid,
        objects: [...this.objects.values(), ...this.zombies.values()]
          .filter((o) => o.announced)
          .map((o) => ({ key: o.key, size: o.size, state: o.state, holders: o.holds.size, nodes: o.nodes })),
      };
      const tmp = `${this.statusPath}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(tmp, JSON.stringify(status), { mode: 0o600 });
        fs.renameSync(tmp, this.statusPath);
      } catch {
        /* the status file is informational: a full /tmp must not stop the store */
      }
    }).unref();
  }

  private accept(socket: net.Socket, keepAlive: boolean): void {
    if (!keepAlive) socket.unref();
    const conn: Conn = { socket, pid: 0 };
    this.conns.add(conn);
    const reader = new LineReader(
      (msg) => this.handle(conn, msg),
      () => socket.destroy(),
    );
    socket.on('data', (chunk) => reader.push(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.dropConn(conn));
  }

  private send(conn: Conn, msg: object): void {
    if (!conn.socket.destroyed) conn.socket.write(line(msg));
  }

  private event(ev: StoreEventType, o: Obj): void {
    const msg = { ev, key: o.key, size: o.size, ino: o.ino, dev: o.dev, seq: ++this.seq };
    for (const c of this.conns) this.send(c, msg);
  }

  private handle(conn: Conn, msg: Record<string, unknown>): void {
    const id = typeof msg.id === 'number' ? msg.id : -1;
    try {
      const out = this.op(conn, msg as unknown as Request);
      if (msg.op !== 'list' && msg.op !== 'hello') this.statusChanged();
      this.send(conn, { id, ok: true, ...out });
    } catch (err) {
      const code: HmsdkErrorCode = err instanceof Refusal ? err.code : 'ESYSCALL';
      this.send(conn, { id, ok: false, code, message: (err as Error).message });
    }
  }

  private need(key: unknown): Obj {
    const o = typeof key === 'string' ? this.objects.get(key) : undefined;
    if (!o) throw new Refusal('ENOENT', `no object ${JSON.stringify(key)} in store ${this.name}`);
    return o;
  }

  private op(conn: Conn, r: Request): object {
    switch (r.op) {
      case 'hello':
        conn.pid = Number(r.pid) || 0;
        return { pid: process.pid, name: this.name };
      case 'reserve': {
        if (this.objects.has(r.key)) throw new Refusal('EEXIST', `store ${this.name} already has an object ${JSON.stringify(r.key)}`);
        this.objects.set(r.key, this.fresh(conn, r.key, Number(r.size), 'creating'));
        return {};
      }
      case 'attach': {
        const o = this.need(r.key);
        if (o.creator !== conn || o.fd >= 0) throw new Refusal('ENOTOWNER', `object ${JSON.stringify(r.key)} was reserved by another connection`);
        o.fd = openChecked(r.path, r);
        o.ino = r.ino;
        o.dev = r.dev;
        o.nodes = r.nodes;
        o.announced = true;
        this.event('created', o);
        return {};
      }
      case 'abort': {
        const o = this.need(r.key);
        if (o.creator === conn && o.state === 'creating') this.remove(o);
        return {};
      }
      case 'seal': {
        const o = this.need(r.key);
        if (o.creator !== conn || o.state !== 'creating' || o.fd < 0) {
          throw new Refusal('ENOTOWNER', `object ${JSON.stringify(r.key)} is ${o.state}${o.creator === conn ? '' : ' and was created by another connection'}`);
        }
        o.state = 'sealed';
        o.creator = undefined;
        this.event('sealed', o);
        return {};
      }
      case 'get': {
        const o = this.need(r.key);
        if (o.state !== 'sealed') throw new Refusal('ENOTSEALED', `object ${JSON.stringify(r.key)} is still being created`);
        o.holds.set(conn, (o.holds.get(conn) ?? 0) + 1);
        return { path: `/proc/${process.pid}/fd/${o.fd}`, ino: o.ino, dev: o.dev, size: o.size, nodes: o.nodes };
      }
      case 'release': {
        const o = this.byIdent(r);
        if (o) this.unhold(o, conn, Math.max(1, Number(r.holds) || 1));
        return {};
      }
      case 'delete': {
        this.remove(this.need(r.key));
        return {};
      }
      case 'list':
        return { objects: [...this.objects.values(), ...this.zombies.values()].filter((o) => o.announced).map(wire) };
      case 'adopt':
        return this.adopt(conn, r);
      default:
        throw new Refusal('ENOTSUP', `unknown request ${JSON.stringify((r as { op?: unknown }).op)}`);
    }
  }

  private fresh(conn: Conn, key: string, size: number, state: ObjectState): Obj {
    return { key, size, state, fd: -1, ino: 0, dev: 0, creator: conn, creatorPid: conn.pid, holds: new Map(), nodes: {}, announced: false };
  }

  /** A client of a dead manager hands over an object it still has. */
  private adopt(conn: Conn, r: Extract<Request, { op: 'adopt' }>): object {
    const known = this.byIdent(r);
    if (known) {
      if (r.holds > 0) known.holds.set(conn, (known.holds.get(conn) ?? 0) + r.holds);
      if (r.creator && known.state === 'creating') known.creator = conn;
      return { adopted: false };
    }
    if (this.objects.has(r.key)) throw new Refusal('EEXIST', `store ${this.name} already has another object ${JSON.stringify(r.key)}`);
    const o = this.fresh(conn, r.key, r.size, r.state);
    o.fd = openChecked(r.path, r);
    o.ino = r.ino;
    o.dev = r.dev;
    o.nodes = r.nodes;
    o.announced = true;
    o.creator = r.creator && r.state === 'creating' ? conn : undefined;
    if (r.holds > 0) o.holds.set(conn, r.holds);
    this.objects.set(r.key, o);
    return { adopted: true };
  }

  private byIdent(i: Ident): Obj | undefined {
    const k = identKey(i);
    for (const o of this.objects.values()) if (o.announced && identKey(o) === k) return o;
    return this.zombies.get(k);
  }

  /** Out of the namespace: closed now, or listed as deleted while held. */
  private remove(o: Obj): void {
    this.objects.delete(o.key);
    if (o.announced) this.event('deleted', o);
    if (o.fd >= 0) native().closeFd(o.fd);
    o.fd = -1;
    o.state = 'deleted';
    o.creator = undefined;
    if (o.holds.size > 0) this.zombies.set(identKey(o), o);
  }

  private unhold(o: Obj, conn: Conn, n: number): void {
    const left = (o.holds.get(conn) ?? 0) - n;
    if (left > 0) o.holds.set(conn, left);
    else o.holds.delete(conn);
    if (o.state === 'deleted' && o.holds.size === 0) this.zombies.delete(identKey(o));
  }

  private dropConn(conn: Conn): void {
    this.conns.delete(conn);
    this.statusChanged();
    for (const o of [...this.objects.values(), ...this.zombies.values()]) {
      if (o.holds.has(conn)) this.unhold(o, conn, Infinity);
      if (o.creator === conn && o.state === 'creating') this.remove(o);
    }
  }
}

function wire(o: Obj): WireObject {
  return {
    key: o.key,
    size: o.size,
    state: o.state,
    ino: o.ino,
    dev: o.dev,
    creatorPid: o.creatorPid,
    holders: [...o.holds].map(([c, holds]) => ({ pid: c.pid, holds })),
    nodes: o.nodes,
  };
}
