/**
 * Regions for many tiny objects: `createArena(bytes, placement)` maps one
 * placed buffer and hands out views of it with a bump pointer, the way
 * `Buffer.allocUnsafe` carves its 8 KiB pool, so an allocation costs a view
 * object and no native call. Objects are not freed one by one: `dispose()`
 * detaches every chunk at once, so every view of the arena drops to length
 * 0 together (safe, like a region), then releases the pages. When a chunk
 * is full the arena maps another one of the same size and placement.
 *
 * Offsets are plain (53-bit exact) arithmetic: alignment rounds up with
 * division, not with a 32-bit mask, so chunks above 2 GiB stay correct.
 * Freeing a view with free() frees its whole chunk (it is one allocation):
 * the arena then refuses to carve more from that chunk (EFREED) and
 * dispose() skips it.
 */
import { allocateRequest, free, type PlacedBuffer } from './buffers';
import { HmsdkError } from '../errors';
import type { AllocateOptions } from './options';
import { type AllocateRequest, byteLengthOf, checkAllocateOptions, checkPowerOfTwo, checkSize } from '../util/validate';

/** Largest alignment {@link Arena.alloc} accepts (a page). */
const MAX_ALIGN = 4096;

/* Views are plain Buffers (the prototype chain includes Buffer.prototype). */
class ArenaView extends Uint8Array {}
Object.setPrototypeOf(ArenaView.prototype, Buffer.prototype as Buffer);

/** A bump-pointer region of placed memory. See {@link createArena}. */
export class Arena implements Disposable {
  private readonly chunkBytes: number;
  private readonly request: AllocateRequest;
  private readonly chunks: PlacedBuffer[] = [];
  private current: ArrayBuffer;
  private offset = 0;
  private disposed = false;
  private handed = 0;

  /** @internal use {@link createArena} */
  constructor(chunkBytes: number, options?: AllocateOptions) {
    this.chunkBytes = checkSize('bytes', chunkBytes);
    const request = checkAllocateOptions('options', options);
    this.request = request.zero === undefined ? Object.freeze({ ...request, zero: false }) : request;
    this.current = this.grow();
  }

  private grow(): ArrayBuffer {
    const chunk = allocateRequest(this.chunkBytes, this.request);
    this.chunks.push(chunk);
    this.offset = 0;
    return chunk.buffer as ArrayBuffer;
  }

  /**
   * A view of `size` bytes, aligned to `align` (default 8, a power of two ≤ 4096).
   * Sizes above the chunk size are refused (RangeError): use {@link allocate}.
   */
  alloc(size: number, align = 8): Buffer {
    checkSize('size', size);
    checkPowerOfTwo('align', align, 1, MAX_ALIGN);
    if (this.disposed) throw new HmsdkError('EFREED', 'arena was disposed');
    if (size > this.chunkBytes) throw new RangeError(`size ${size} exceeds the arena chunk size ${this.chunkBytes}`);
    let off = Math.ceil(this.offset / align) * align;
    if (off + size > this.chunkBytes) {
      this.current = this.grow();
      off = 0;
    }
    let view: Buffer;
    try {
      view = new ArenaView(this.current, off, size) as unknown as Buffer;
    } catch (err) {
      // A view of a detached chunk cannot be made: the caller freed it.
      if (byteLengthOf(this.current) === 0) throw new HmsdkError('EFREED', 'the arena chunk was freed (free() on an arena view frees its whole chunk)', { cause: err });
      throw err;
    }
    this.offset = off + size;
    this.handed += size;
    return view;
  }

  /** Bytes handed out so far. */
  get used(): number {
    return this.handed;
  }

  /** Bytes mapped (chunks × chunk size). */
  get capacity(): number {
    return this.chunks.length * this.chunkBytes;
  }

  /**
   * Detach every view at once, then release the memory. Idempotent. Every
   * chunk is released even if one fails; a chunk the caller already freed
   * (free() on one of its views) is skipped. Any other failure is thrown
   * after all chunks were tried.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    let first: unknown;
    for (const c of this.chunks) {
      try {
        free(c);
      } catch (err) {
        if (!(err instanceof HmsdkError && err.code === 'EDOUBLEFREE')) first ??= err;
      }
    }
    this.chunks.length = 0;
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows the first error a cleanup step threw, as it was
    if (first !== undefined) throw first;
  }

  /** Same as {@link Arena.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Create an arena of `bytes`-sized chunks placed by `options` (as for
 * {@link allocate}; memory is not zeroed unless `zero: true`).
 *
 * @example
 * ```ts
 * using arena = createArena(1 << 20, { tier: 'EXMEM' });
 * const key = arena.alloc(32);  // a Buffer view, no native call
 * // ... at scope exit every view is detached and the pages released
 * ```
 */
export function createArena(bytes: number, options?: AllocateOptions): Arena {
  return new Arena(bytes, options);
}
