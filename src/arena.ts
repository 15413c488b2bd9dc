/**
 * Regions for many tiny objects: `createArena(bytes, placement)` maps one
 * placed buffer and hands out views of it with a bump pointer, the way
 * `Buffer.allocUnsafe` carves its 8 KiB pool, so an allocation costs a view
 * object and no native call. Objects are not freed one by one: `dispose()`
 * detaches every chunk at once, so every view of the arena drops to length
 * 0 together (safe, like a region), then releases the pages. When a chunk
 * is full the arena maps another one of the same size and placement.
 */
import { allocate, free, type PlacedBuffer } from './alloc';
import { HmsdkError } from './errors';
import { type AllocateOptions, checkSize } from './options';

/* Views are plain Buffers (the prototype chain includes Buffer.prototype). */
class ArenaView extends Uint8Array {}
Object.setPrototypeOf(ArenaView.prototype, Buffer.prototype);

/** A bump-pointer region of placed memory. See {@link createArena}. */
export class Arena implements Disposable {
  private readonly chunkBytes: number;
  private readonly options: AllocateOptions;
  private readonly chunks: PlacedBuffer[] = [];
  private current: ArrayBuffer;
  private offset = 0;
  private disposed = false;
  private handed = 0;

  /** @internal use {@link createArena} */
  constructor(chunkBytes: number, options: AllocateOptions) {
    this.chunkBytes = chunkBytes;
    this.options = { ...options, zero: options.zero ?? false };
    this.current = this.grow();
  }

  private grow(): ArrayBuffer {
    const chunk = allocate(this.chunkBytes, this.options);
    this.chunks.push(chunk);
    this.offset = 0;
    return chunk.buffer as ArrayBuffer;
  }

  /**
   * A view of `size` bytes, aligned to `align` (default 8, a power of two ≤ 4096).
   * Sizes above the chunk size are refused (RangeError): use {@link allocate}.
   */
  alloc(size: number, align = 8): Buffer {
    if (this.disposed) throw new HmsdkError('EFREED', 'arena was disposed');
    if (typeof size !== 'number' || !(size > 0) || !Number.isInteger(size)) checkSize(size);
    if (size > this.chunkBytes) throw new RangeError(`size ${size} exceeds the arena chunk size ${this.chunkBytes}`);
    let off = (this.offset + align - 1) & ~(align - 1);
    if (off + size > this.chunkBytes) {
      this.current = this.grow();
      off = 0;
    }
    this.offset = off + size;
    this.handed += size;
    return new ArenaView(this.current, off, size) as unknown as Buffer;
  }

  /** Bytes handed out so far. */
  get used(): number {
    return this.handed;
  }

  /** Bytes mapped (chunks × chunk size). */
  get capacity(): number {
    return this.chunks.length * this.chunkBytes;
  }

  /** Detach every view at once, then release the memory. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of this.chunks) free(c);
    this.chunks.length = 0;
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
export function createArena(bytes: number, options: AllocateOptions = {}): Arena {
  checkSize(bytes, 'bytes');
  return new Arena(bytes, options);
}
