/**
 * Placed allocation: allocate, free, where.
 *
 * Memory comes from the native core as an external ArrayBuffer and is
 * handed out as a {@link PlacedBuffer}: a Node `Buffer` (its prototype chain
 * includes `Buffer.prototype`, so every Buffer method and `Buffer.isBuffer`
 * work) that also has `[Symbol.dispose]`, so `using` frees it.
 *
 * Freeing detaches the ArrayBuffer first (every view of it drops to length
 * 0 at once), so freed memory is never reachable from JS; the native core
 * then keeps the block in quarantine until JS has let go of the buffer, so
 * a native write still in flight (fs.read, randomFill) cannot reach a new
 * owner (docs/allocator.md says exactly what it can still reach). A buffer
 * nobody frees is released when it is garbage collected. The per-node
 * `used` counters change at allocate and free time.
 */
import { HmsdkError } from '../errors';
import { formatBytes } from '../util/bytes';
import { F_POPULATE, F_ZERO, native } from './native';
import { type AllocateOptions, MAX_SIZE } from './options';
import { resolvePlacement, type ResolvedPlacement } from './placement';
import {
  type AllocateRequest,
  byteLengthOf,
  byteRangeOf,
  type ByteRange,
  checkAllocateOptions,
  checkInt,
  checkSize,
  describe as describeValue,
  typedArrayBufferOf,
  typedArrayLengthOf,
} from '../util/validate';

/** A Node Buffer whose pages were placed by hmsdk; `using` frees it. */
export type PlacedBuffer = Buffer & Disposable;

/* Marks every ArrayBuffer the SDK hands out ('live') and frees ('freed'),
 * so ownership and liveness are known before anything is allocated or
 * released: a foreign buffer is refused without a native call, and a double
 * free is told from a buffer detached elsewhere. A property on the buffer
 * costs a cached shape transition; a WeakSet of every freed buffer made GC
 * ephemeron work grow with the number of frees. */
const kState = Symbol('hmsdk.state');
type BufferState = 'live' | 'freed';

function stateOf(ab: ArrayBuffer): BufferState | undefined {
  return (ab as unknown as Record<symbol, BufferState | undefined>)[kState];
}

function markState(ab: ArrayBuffer, state: BufferState): void {
  try {
    (ab as unknown as Record<symbol, BufferState>)[kState] = state;
  } catch {
    /* a frozen ArrayBuffer: a later double free is then reported as EDETACHED */
  }
}

/* Views made by subarray()/slice() are plain Buffers: disposing a part must
 * not free the whole allocation. (A static Symbol.species getter would do
 * this too, but makes every construction of the class ~2 us slower in V8.) */
class BufferView extends Uint8Array {}
Object.setPrototypeOf(BufferView.prototype, Buffer.prototype as Buffer);

function clampIndex(i: number | undefined, len: number, dflt: number): number {
  if (i === undefined) return dflt;
  const n = Math.trunc(Number(i)) || 0;
  return n < 0 ? Math.max(len + n, 0) : Math.min(n, len);
}

class PlacedBufferImpl extends Uint8Array {
  override subarray(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    const s = clampIndex(start, this.length, 0);
    const e = clampIndex(end, this.length, this.length);
    return new BufferView(this.buffer, this.byteOffset + s, Math.max(e - s, 0));
  }
  [Symbol.dispose](): void {
    free(this);
  }
}
Object.setPrototypeOf(PlacedBufferImpl.prototype, Buffer.prototype as Buffer);

/** Turn the addon's failure code into a coded error. @internal */
export function allocError(size: number, what: string): HmsdkError {
  const e = native().lastError();
  switch (e.code) {
    case 'ENOMEM': {
      const where = e.node >= 0 ? `node ${e.node}` : 'the requested nodes';
      const detail =
        e.available || e.reserve
          ? `: ${formatBytes(e.available)} available (free memory minus a ${formatBytes(e.reserve)} reserve${
              e.committed ? ` and ${formatBytes(e.committed)} promised to earlier lazy strict allocations` : ''
            })`
          : '';
      return new HmsdkError('ENOMEM', `${where} cannot hold ${formatBytes(e.requested || size)} for ${what}${detail}`);
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
  markState(r, 'live');
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
  checkSize('size', size);
  return allocateRequest(size, options === undefined ? DEFAULT_REQUEST : checkAllocateOptions('options', options));
}

/* The request without options, validated once: the common call pays no snapshot. */
const DEFAULT_REQUEST = checkAllocateOptions('options', undefined);

/** Allocate `size` (validated) bytes under validated options; zeroed unless `zero: false`. @internal */
export function allocateRequest(size: number, request: AllocateRequest): PlacedBuffer {
  const flags = (request.zero === false ? 0 : F_ZERO) | (request.populate ? F_POPULATE : 0);
  return allocPlaced(size, resolvePlacement(request.placement), flags);
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
  if (typeof type !== 'function') throw new TypeError(`type must be a typed-array constructor such as Float32Array, got ${describeValue(type)}`);
  let bytesPerElement: unknown;
  try {
    bytesPerElement = type.BYTES_PER_ELEMENT; // read once: a getter may answer differently each time
  } catch (err) {
    throw new TypeError('type.BYTES_PER_ELEMENT could not be read (its getter threw)', { cause: err });
  }
  const elementBytes = checkInt('type.BYTES_PER_ELEMENT', bytesPerElement, 1, 8);
  checkSize('length', length);
  if (length * elementBytes > MAX_SIZE) {
    throw new RangeError(`length ${length} × ${elementBytes} bytes exceeds the largest buffer this runtime supports (${MAX_SIZE} bytes)`);
  }
  const buf = allocateRequest(length * elementBytes, checkAllocateOptions('options', options));
  const ab = buf.buffer as ArrayBuffer;
  // The constructor is the caller's code: whatever it does, the buffer must
  // not outlive a failed call.
  let arr: T & Disposable;
  try {
    arr = new type(ab, 0, length) as T & Disposable;
  } catch (err) {
    if (stateOf(ab) === 'live') free(buf);
    throw new TypeError(`type could not construct a view of ${length} elements (the constructor threw)`, { cause: err });
  }
  if (typedArrayBufferOf(arr) !== ab || typedArrayLengthOf(arr) !== length || stateOf(ab) !== 'live') {
    if (stateOf(ab) === 'live') free(buf);
    throw new TypeError(`type must construct a typed array over the whole buffer it is given (${describeValue(type)} did not)`);
  }
  Object.defineProperty(arr, Symbol.dispose, { value: () => free(arr), enumerable: false });
  return arr;
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
  const ab = assertOwned(byteRangeOf('buffer', buf).buffer, 'buffer', 'EDOUBLEFREE');
  const r = native().free(ab);
  if (r === 0) {
    markState(ab, 'freed');
    return;
  }
  if (r === 1) throw detachedError('buffer');
  if (r === 2) throw foreignError('buffer');
  throw new HmsdkError('ESYSCALL', 'napi_detach_arraybuffer failed: buffer was not freed');
}

function foreignError(name: string): HmsdkError {
  return new HmsdkError('EFOREIGN', `${name} was not allocated by hmsdk (or is a copy of one)`);
}

function detachedError(name: string): HmsdkError {
  return new HmsdkError('EDETACHED', `${name} is detached (transferred or detached elsewhere); hmsdk releases it when its new owner is collected`);
}

/**
 * Throw unless `ab` is a live hmsdk buffer: `freedCode` (EFREED, or
 * EDOUBLEFREE for a free) when the SDK freed it, EFOREIGN when it is not the
 * SDK's, EDETACHED when someone else detached it.
 */
function assertOwned(ab: ArrayBuffer, name: string, freedCode: 'EFREED' | 'EDOUBLEFREE'): ArrayBuffer {
  const state = stateOf(ab);
  if (state === 'freed') throw new HmsdkError(freedCode, freedCode === 'EDOUBLEFREE' ? `${name} was already freed` : `${name} was freed`);
  if (state === undefined) throw foreignError(name);
  if (byteLengthOf(ab) === 0) throw detachedError(name); // the SDK never hands out empty buffers
  return ab;
}

/**
 * The byte range of `buf`, which must be a live hmsdk buffer or a view of
 * one: EFREED, EFOREIGN or EDETACHED otherwise (TypeError for a non-buffer).
 * @internal
 */
export function assertOwnedLive(buf: unknown, name = 'buffer'): ByteRange {
  const range = byteRangeOf(name, buf);
  assertOwned(range.buffer, name, 'EFREED');
  return range;
}

/** The byte range of `buf`; EFREED for an hmsdk buffer that was freed (foreign buffers pass). @internal */
export function assertLive(buf: unknown, name = 'buffer'): ByteRange {
  const range = byteRangeOf(name, buf);
  if (stateOf(range.buffer) === 'freed') throw new HmsdkError('EFREED', `${name} was freed`);
  return range;
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
  const range = assertLive(buf);
  if (range.byteLength === 0) {
    return { nodes: {}, absent: 0, other: 0, total: 0, pageSize: native().info().pageSize };
  }
  // The addon takes an ArrayBuffer or a typed array: a fresh Uint8Array over
  // the range keeps DataViews (and own `buffer` properties) away from it.
  const r = native().where(new Uint8Array(range.buffer, range.byteOffset, range.byteLength));
  if (typeof r === 'number') throw new HmsdkError('ESYSCALL', `move_pages failed with errno ${-r}`, { syscall: 'move_pages', errno: -r });
  let total = r.absent + r.other;
  for (const n of Object.values(r.nodes)) total += n;
  return { nodes: r.nodes, absent: r.absent, other: r.other, total, pageSize: r.pageSize };
}
