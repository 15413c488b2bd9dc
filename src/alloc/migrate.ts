/**
 * Moving a live buffer between nodes/tiers in place. The native core calls
 * mbind(MPOL_MF_MOVE) on the buffer's own mapping with the new policy: the
 * kernel migrates the pages, the address (and so the ArrayBuffer and every
 * view of it) stays the same, and the SDK's per-node accounting moves with
 * it. Pages that could not move (busy, target full) stay where they were and
 * are reported in the counts.
 *
 * The kernel migrates a transparent huge page whole, so a move is only as
 * exact as the huge pages are private: the core maps every buffer so that
 * none shares a huge page with another (docs/allocator.md), and each move
 * is checked, not assumed: the native side reads the node of every page
 * within 2 MiB around the buffer's ends (where a shared huge page would
 * sit) before and after the mbind, and reports the pages outside the buffer
 * that changed node as `neighbourPagesMoved`.
 */
import { allocError, assertOwnedLive } from './buffers';
import { HmsdkError } from '../errors';
import { native } from './native';
import type { AllocateOptions } from './options';
import { resolvePlacement } from './placement';
import { checkAllocateOptions } from '../util/validate';

/** Options of {@link migrate}: the target, as for {@link allocate} (no `populate`/`zero`). */
export type MigrateOptions = Pick<AllocateOptions, 'tier' | 'node' | 'nodes' | 'policy' | 'weights' | 'fallback'>;

/** Outcome of {@link migrate}, from the kernel's page count after the move. */
export interface MigrateResult {
  /** Resident pages of the buffer. */
  resident: number;
  /** Resident pages now on the target nodes. */
  onTarget: number;
  /** Resident pages that could not be moved (`resident - onTarget`). */
  notMoved: number;
  /** True when every resident page is on the target. */
  complete: boolean;
  /** Pages of the buffer newly on the target: on the target after the move minus before (move_pages). */
  moved: number;
  /**
   * Pages outside the buffer, within 2 MiB of its ends, that changed node
   * during the move: memory nobody asked to move that the kernel moved
   * along (a shared transparent huge page). 0 for hmsdk's own mappings.
   */
  neighbourPagesMoved: number;
}

/**
 * Move a live buffer's pages to another tier or node(s), in place: the same
 * ArrayBuffer stays valid (never detached), the data is unchanged, and
 * `stats()` follows. Only buffers with their own mapping (larger than the
 * arena limit, 32 KiB) can move; arena blocks share pages with others.
 *
 * @example
 * ```ts
 * const r = migrate(coldBuf, { tier: 'EXMEM' });
 * if (!r.complete) console.warn(`${r.notMoved} pages stayed behind`);
 * ```
 * @throws HmsdkError `ENOTSUP` (arena block, or a weighted target that needs
 *   the userspace stripe), `ENOMEM` (strict target cannot hold it),
 *   `EFREED`, `EFOREIGN`; TypeError/RangeError for bad options.
 */
export function migrate(buf: ArrayBuffer | ArrayBufferView, options: MigrateOptions): MigrateResult {
  // Options first: their getters are caller code and may free `buf`, which
  // is checked after them.
  const request = checkAllocateOptions('options', options, true);
  const ab = assertOwnedLive(buf).buffer;
  const p = resolvePlacement(request.placement);
  if (p.kind !== 'kernel') {
    throw new HmsdkError('ENOTSUP', 'migrate to a weighted placement needs kernel weighted interleave with the global weights; the userspace stripe applies to new allocations only');
  }
  const r = native().migrate(ab, p.id);
  if (typeof r === 'number') {
    const e = native().lastError();
    if (e.code === 'EINVAL') throw new HmsdkError('EFOREIGN', 'buffer was not allocated by hmsdk');
    if (e.code === 'ENOTSUP' && e.syscall === 'migrate') {
      throw new HmsdkError('ENOTSUP', `buffer of ${ab.byteLength} bytes lives in a shared arena chunk (<= ${native().info().smallMax} bytes) and cannot move; allocate it larger or copy it`);
    }
    throw allocError(ab.byteLength, `migrating ${ab.byteLength} bytes to ${p.policy} on nodes ${p.nodes.join(',')}`);
  }
  return {
    resident: r.resident,
    onTarget: r.onTarget,
    notMoved: r.resident - r.onTarget,
    complete: r.resident === r.onTarget,
    moved: r.moved,
    neighbourPagesMoved: r.neighbourMoved,
  };
}
