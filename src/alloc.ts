/**
 * Placed allocation: allocate, free, where.
 *
 * Memory comes from the native core as an external ArrayBuffer and is
 * handed out as a {@link PlacedBuffer}: a Node `Buffer` (its prototype chain
 * includes `Buffer.prototype`, so every Buffer method and `Buffer.isBuffer`
 * work) that also has `[Symbol.dispose]`, so `using` frees it.
 *
 * Freeing detaches the ArrayBuffer first (every view of it drops to length
 * 0 at once) and releases the pages after, so freed memory is never
 * reachable from JS. A buffer nobody frees is released when it is garbage
 * collected. The per-node `used` counters change at allocate and free time.
 *
 * Safety rule the SDK cannot enforce: do not free a buffer while an
 * asynchronous operation (a socket write, fs.write) still uses it; that is
 * the same rule as for `free()` in C.
 */
import { HmsdkError } from './errors';
import { F_POPULATE, F_ZERO, native } from './native';
import { type AllocateOptions, checkOptions, checkSize } from './options';
import { resolvePlacement, type ResolvedPlacement } from './placement';

/** A Node Buffer whose pages were placed by hmsdk; `using` frees it. */
export type PlacedBuffer = Buffer & Disposable;

/* Marks an ArrayBuffer the SDK freed, to tell a double free from a buffer
 * detached elsewhere. A property on the (detached) buffer costs a cached
 * shape transition; a WeakSet of every freed buffer made GC ephemeron work
 * grow with the number of frees. */
const kFreed = Symbol('hmsdk.freed');
const freed = {
  add(ab: ArrayBuffer): void {
    try {
      (ab as unknown as Record<symbol, boolean>)[kFreed] = true;
    } catch {
      /* a frozen ArrayBuffer: double free is then reported as EDETACHED */
    }
  },
  has(ab: ArrayBuffer): boolean {
    return (ab as unknown as Record<symbol, boolean | undefined>)[kFreed] === true;
  },
};

/* Views made by subarray()/slice() are plain Buffers: disposing a part must
 * not free the whole allocation. (A static Symbol.species getter would do
 * this too, but makes every construction of the class ~2 us slower in V8.) */
class BufferView extends Uint8Array {}
Object.setPrototypeOf(BufferView.prototype, Buffer.prototype);

function clampIndex(i: number | undefined, len: number, dflt: number): number {
  if (i === undefined) return dflt;
  const n = Math.trunc(Number(i)) || 0;
  return n < 0 ? Math.max(len + n, 0) : Math.min(n, len);
}

class PlacedBufferImpl extends Uint8Array {
  override subarray(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    const s = clampIndex(start, this.length, 0);
    const e = clampIndex(end, this.length, this.length);
    return new BufferView(this.buffer as ArrayBuffer, this.byteOffset + s, Math.max(e - s, 0));
  }
  [Symbol.dispose](): void {
    free(this);
  }
}
Object.setPrototypeOf(PlacedBufferImpl.prototype, Buffer.prototype);

/** Turn the addon's failure code into a coded error. @internal */
export function allocError(size: number, what: string): HmsdkError {
  const e = native().lastError();
  const gib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  switch (e.code) {
    case 'ENOMEM': {
      const where = e.node >= 0 ? `node ${e.node}` : 'the requested nodes';
      const detail =
        e.available || e.reserve
          ? `: ${gib(e.available)} available (free memory minus a ${gib(e.reserve)} reserve${
              e.committed ? ` and ${gib(e.committed)} promised to earlier lazy strict allocations` : ''
            })`
          : '';
      return new HmsdkError('ENOMEM', `${where} cannot hold ${gib(e.requested || size)} for ${what}${detail}`);
    }
    case 'ENOTSUP':
      return new HmsdkError('ENOTSUP', `the kernel does not support the memory policy for ${what} (mbind: EINVAL)`, {
        syscall: 'mbind',
        errno: e.errno,
      });
    case 'ESYSCALL':
      return new HmsdkError('ESYSCALL', `${e.syscall} failed with errno ${e.errno} for ${what}`, { syscall: e.syscall, errno: e.errno });
    default:
      return new HmsdkError('ESYSCALL', `native allocation of ${size} bytes failed (${e.code}) for ${what}`);
  }
}

function describe(p: ResolvedPlacement): string {
  return `${p.policy} on node${p.nodes.length > 1 ? 's' : ''} ${p.nodes.join(',')}`;
}

/**
 * Allocate under a resolved placement and wrap the result. `align` 0 is the
 * default (16 bytes for small blocks, a page for the rest). @internal
 */
export function allocPlaced(size: number, p: ResolvedPlacement, flags: number, align = 0): PlacedBuffer {
  const addon = native();
  const r = p.kind === 'kernel' ? addon.alloc(p.id, size, align, flags) : addon.allocStripe(size, p.nodes, p.weights, 0, flags);
  if (typeof r === 'number') throw allocError(size, `${size} bytes ${describe(p)}`);
  return new PlacedBufferImpl(r) as unknown as PlacedBuffer;
}

/**
 * Allocate `size` bytes placed by `options` and return them as a Buffer.
 * Memory is zeroed unless `zero: false`.
 *
 * @example
 * ```ts
 * const kv = allocate(2 * 2 ** 30, { tier: 'EXMEM' });         // strict, on CXL
 * const hot = allocate(1 << 20, { node: 0, populate: true });   // resident on node 0
 * using tmp = allocate(4096);                                   // freed at scope exit
 * ```
 * @throws TypeError / RangeError for bad arguments; HmsdkError `ENODEV`,
 *   `ENOMEM`, `ENOTSUP`, `ESYSCALL`.
 */
export function allocate(size: number, options?: AllocateOptions): PlacedBuffer {
  checkSize(size);
  const opts = checkOptions(options);
  const flags = (opts.zero === false ? 0 : F_ZERO) | (opts.populate ? F_POPULATE : 0);
  return allocPlaced(size, resolvePlacement(opts), flags);
}

/**
 * A typed-array constructor {@link allocateTyped} accepts: `Float32Array`,
 * `Int32Array`, `BigUint64Array`, ... (anything built on an `ArrayBuffer`).
 */
export type TypedArrayConstructor<T> = {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): T;
  /** Element size in bytes: the allocation is `length * BYTES_PER_ELEMENT`. */
  readonly BYTES_PER_ELEMENT: number;
  /** Constructor name, e.g. `'Float32Array'`. */
  readonly name: string;
};

/**
 * Allocate a typed array of `length` elements placed by `options`. The
 * array has `[Symbol.dispose]`, so `using` frees it; {@link free} accepts it.
 *
 * @example
 * ```ts
 * using weights = allocateTyped(Float32Array, 1 << 20, { tier: 'EXMEM' });
 * weights.fill(0.5);
 * ```
 */
export function allocateTyped<T extends ArrayBufferView>(type: TypedArrayConstructor<T>, length: number, options?: AllocateOptions): T & Disposable {
  if (typeof type !== 'function' || typeof type.BYTES_PER_ELEMENT !== 'number') {
    throw new TypeError('type must be a typed-array constructor such as Float32Array');
  }
  checkSize(length, 'length');
  const buf = allocate(length * type.BYTES_PER_ELEMENT, options);
  const arr = new type(buf.buffer as ArrayBuffer, 0, length) as T & Disposable;
  Object.defineProperty(arr, Symbol.dispose, { value: () => free(arr), enumerable: false });
  return arr;
}

function arrayBufferOf(buf: unknown, name: string): ArrayBuffer {
  if (buf instanceof ArrayBuffer) return buf;
  if (ArrayBuffer.isView(buf)) {
    const ab = buf.buffer;
    if (ab instanceof ArrayBuffer) return ab;
  }
  throw new TypeError(`${name} must be a Buffer, typed array or ArrayBuffer from hmsdk, got ${buf === null ? 'null' : typeof buf}`);
}

/**
 * Free a buffer from {@link allocate} / `s_malloc` (or any view of it: the
 * whole allocation is freed). Every view drops to length 0 before the
 * pages are released.
 *
 * @example
 * ```ts
 * const buf = allocate(1 << 20, { tier: 'EXMEM' });
 * const head = buf.subarray(0, 16);
 * free(head);   // frees the whole allocation: buf.length === 0, head.length === 0
 * free(buf);    // throws HmsdkError EDOUBLEFREE
 * ```
 * @throws HmsdkError `EDOUBLEFREE` (freed already), `EFOREIGN` (not from
 *   hmsdk), `EDETACHED` (transferred away: it is released when the new
 *   owner is collected); TypeError for a non-buffer.
 */
export function free(buf: ArrayBuffer | ArrayBufferView): void {
  const ab = arrayBufferOf(buf, 'buffer');
  const r = native().free(ab);
  if (r === 0) {
    freed.add(ab);
    return;
  }
  throw freeError(r, ab);
}

function freeError(r: number, ab: ArrayBuffer): HmsdkError {
  if (r === 1) {
    return freed.has(ab)
      ? new HmsdkError('EDOUBLEFREE', 'buffer was already freed')
      : new HmsdkError('EDETACHED', 'buffer is detached (transferred or detached elsewhere); hmsdk releases it when its new owner is collected');
  }
  if (r === 2) return new HmsdkError('EFOREIGN', 'buffer was not allocated by hmsdk (or is a copy of one)');
  return new HmsdkError('ESYSCALL', 'napi_detach_arraybuffer failed: buffer was not freed');
}

/** Throw the right error if `buf` is not a live hmsdk buffer. @internal */
export function assertLive(buf: ArrayBuffer | ArrayBufferView, name = 'buffer'): ArrayBuffer {
  const ab = arrayBufferOf(buf, name);
  if (freed.has(ab)) throw new HmsdkError('EFREED', `${name} was freed`);
  return ab;
}

/** Where a buffer's pages are: the kernel's answer (move_pages), per node. */
export interface PageLocation {
  /** Resident pages per node id. */
  nodes: Record<number, number>;
  /** Pages never touched (no page yet: the policy applies at first touch). */
  absent: number;
  /** Pages mapped to the shared zero page or otherwise not placed. */
  other: number;
  /** Pages in the buffer. */
  total: number;
  /** Page size in bytes. */
  pageSize: number;
}

/**
 * Ask the kernel where the pages of `buf` are (`move_pages(pid, n, pages,
 * NULL, status)`): a per-node page histogram. Works for any buffer of this
 * process, hmsdk's or not.
 *
 * @example
 * ```ts
 * const b = allocate(64 << 20, { tier: 'EXMEM', populate: true });
 * where(b); // { nodes: { 1: 16384 }, absent: 0, other: 0, total: 16384, pageSize: 4096 }
 * ```
 */
export function where(buf: ArrayBuffer | ArrayBufferView): PageLocation {
  const ab = assertLive(buf);
  if (ab.byteLength === 0) {
    return { nodes: {}, absent: 0, other: 0, total: 0, pageSize: native().info().pageSize };
  }
  const r = native().where(buf);
  if (typeof r === 'number') throw new HmsdkError('ESYSCALL', `move_pages failed with errno ${-r}`, { syscall: 'move_pages', errno: -r });
  let total = r.absent + r.other;
  for (const n of Object.values(r.nodes)) total += n;
  return { nodes: r.nodes, absent: r.absent, other: r.other, total, pageSize: r.pageSize };
}
