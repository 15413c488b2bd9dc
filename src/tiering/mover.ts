/**
 * Moving one pool entry between tiers.
 *
 * Entries larger than the arena limit (32 KiB, `HM_SMALL_MAX`) have their
 * own mapping and move **in place** with {@link migrate} (mbind
 * MPOL_MF_MOVE): same address, same ArrayBuffer, every reference the caller
 * holds stays valid. The kernel reports how many resident pages reached the
 * target; a partial move is returned as such, never hidden.
 *
 * Entries of 32 KiB or less live in shared arena chunks whose pages hold
 * other blocks too, so the kernel cannot move them alone. They move **by
 * copy**: allocate on the target tier (no zeroing), copy, free the old
 * block. Freeing detaches the old ArrayBuffer, so a reference obtained
 * before the move reads as length 0, never as stale or reused memory; the
 * pool's `get()` returns the new Buffer. Copying at most 32 KiB costs about
 * as much as migrating the pages of a large entry would.
 *
 * Why not give every entry its own mapping (round small entries up to
 * 32 KiB + 1 and hand out a view)? A 100-byte entry would pin 36 KiB, a
 * 360x waste, and pools of small objects are exactly where that hurts.
 * @internal
 */
import { allocate, assertLive, free, type PlacedBuffer } from '../alloc/buffers';
import { migrate } from '../alloc/migrate';
import { native } from '../alloc/native';
import type { Tier } from '../alloc/options';

/** How an entry moves, from its size. @internal */
export function movesInPlace(size: number): boolean {
  return size > native().info().smallMax;
}

/** Bytes an entry is charged against the budget: its own mapping's pages, or its size in an arena. @internal */
export function chargeOf(size: number): number {
  if (!movesInPlace(size)) return size;
  const ps = native().info().pageSize;
  return Math.ceil(size / ps) * ps;
}

/** Outcome of {@link moveBuffer}. @internal */
export interface Moved {
  /** The entry's buffer after the move (the same object when moved in place). */
  buf: PlacedBuffer;
  /** True when moved by copy. */
  copied: boolean;
  /** Resident pages at the time of the move (in-place moves; 0 for copies). */
  resident: number;
  /** Resident pages that stayed behind (in-place moves only). */
  notMoved: number;
  /** Pages outside the entry the kernel moved along (in-place moves only; 0 when huge pages are not shared). */
  neighbourPagesMoved: number;
}

/**
 * Move `buf` (`size` bytes: the entry's size, not `buf.length`, which is 0
 * once freed) to `tier`: in place when it has its own mapping, else by copy
 * (the old buffer is freed). Throws what `migrate`/`allocate` throw
 * (`ENOMEM` when the target cannot hold it); on a throw nothing changed.
 * @internal
 */
export function moveBuffer(buf: PlacedBuffer, size: number, tier: Tier, fallback: 'none' | 'normal'): Moved {
  if (movesInPlace(size)) {
    const r = migrate(buf, { tier, fallback });
    return { buf, copied: false, resident: r.resident, notMoved: r.notMoved, neighbourPagesMoved: r.neighbourPagesMoved };
  }
  assertLive(buf);
  const nb = allocate(size, { tier, fallback, zero: false });
  nb.set(buf);
  free(buf);
  return { buf: nb, copied: true, resident: 0, notMoved: 0, neighbourPagesMoved: 0 };
}
