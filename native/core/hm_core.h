/*
 * hm_core: blocks handed to JavaScript. The addon's whole interface to the
 * allocator: placed allocation (small blocks from hm_arena, large ones as
 * their own hm_extent, weighted stripes over per-node preferred ranges),
 * the address -> block registry that recognises our ArrayBuffers,
 * finalization, migration, statistics.
 *
 * Lifetime of a block record: LIVE (handed out) -> QUARANTINED (freed by
 * JS: detached, its bytes already uncharged, its memory not yet reusable)
 * -> recycled, when JS has let go of it: both its backing store and its
 * ArrayBuffer object were finalized (HM_JS_HOLDS). A pending fs.read or
 * crypto.randomFill keeps the buffer object alive until its callback, so a
 * native write still in flight keeps the memory out of reuse; when the
 * quarantine is over its bound (HM_QUARANTINE_*: a synchronous loop of
 * frees must not hold memory without limit), or when a strict allocation
 * of the same placement would otherwise fail for lack of memory, the
 * oldest quarantined blocks are recycled early. Waiting for both holds
 * also covers ArrayBuffer.prototype.transfer(): the old object dies, the
 * backing store lives on in the new one. When the
 * quarantine is over its bound (HM_QUARANTINE_*: a synchronous loop of
 * frees must not hold memory without limit), or when a strict allocation
 * of the same placement would otherwise fail for lack of memory. A block
 * nobody frees goes LIVE -> recycled when both holds were finalized. The quarantine is what keeps a native write that is
 * still in flight when JS frees the buffer (fs.read, crypto.randomFill on
 * the thread pool) from landing in a new owner's memory: see
 * docs/allocator.md for exactly what such a write can still reach.
 *
 * The finalizer's hint is a handle (record index + generation), not a
 * pointer, so a finalizer that runs after its record was recycled is
 * recognised and ignored.
 *
 * Locks: the registry lock guards records, the address table, the
 * quarantine; each placement's lock guards its cache and arena; the
 * capacity lock is innermost. No lock is held across mmap/munmap/mbind or
 * a populate, and none across a walk whose length grows with the heap.
 */
#ifndef HM_CORE_H
#define HM_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "../prim/hm_prim.h"
#include "hm_arena.h"
#include "hm_err.h"
#include "hm_extent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds of the quarantine (hm_core.c), small blocks and large blocks apart. */
#define HM_QUARANTINE_SMALL_BYTES (16ULL * 1024 * 1024)
#define HM_QUARANTINE_SMALL_BLOCKS 16384
#define HM_QUARANTINE_LARGE_BYTES (64ULL * 1024 * 1024)
#define HM_QUARANTINE_LARGE_BLOCKS 4096

/* Finalizers each block waits for: the external backing store's and the
 * ArrayBuffer object's (napi_add_finalizer). */
#define HM_JS_HOLDS 2

typedef struct hm_block hm_block;

/* Process-wide counters. used[] is indexed by node id. */
typedef struct hm_stats {
  int64_t used[HM_MAX_NODES]; /* live bytes handed out, charged per node */
  int64_t live_count;         /* live allocations */
  int64_t arena_bytes;        /* bytes of chunks held by arenas */
  int64_t large_bytes;        /* bytes mapped for live large allocations */
  int64_t cached_bytes;       /* bytes of freed mappings kept for reuse */
  int64_t quarantined_bytes;  /* bytes freed by JS, not yet reusable */
  int64_t pending_finalizers; /* freed blocks in quarantine (JS has not let go of them yet) */
} hm_stats;

int hm_init(void);

/* Allocate `size` (>0) bytes aligned to `align` (power of two <= page
 * size; 0 = 16) under placement `pl`. NULL on error (err set). */
hm_block *hm_alloc(int pl, size_t size, size_t align, unsigned flags, hm_err *err);

/* Allocate `size` bytes striped over nodes in proportion to weights
 * (hm_stripe), each range MPOL_PREFERRED to its node. stripe_bytes 0 =
 * adaptive unit. NULL on error. */
hm_block *hm_alloc_stripe(size_t size, const int *nodes, const uint32_t *weights, int n, uint64_t stripe_bytes,
                          unsigned flags, hm_err *err);

void *hm_block_ptr(const hm_block *b);
size_t hm_block_size(const hm_block *b);
/* The finalizer handle of a block. */
uint64_t hm_block_handle(const hm_block *b);

/* The live block whose memory starts at ptr with this size, or NULL. */
hm_block *hm_lookup(const void *ptr, size_t size);

/* JS freed b (it is detached: unreachable from JS). */
void hm_free(hm_block *b);

/* One JS hold of the block with this handle was finalized. */
void hm_finalize(uint64_t handle);

/* What hm_migrate found, all from move_pages: resident pages of the
 * buffer on the target and in all, pages newly on the target (on the
 * target after minus before), and pages outside the buffer, within the
 * 2 MiB around its ends (where a huge page could be shared), that changed
 * node during the call: neighbours the kernel moved along. */
typedef struct hm_migrate_result {
  uint64_t on_target, total, moved, neighbour_moved;
} hm_migrate_result;

/* Pages per side hm_migrate watches for neighbours: 2 MiB worth. */
#define HM_FLANK_PAGES 512

/* Move a live large block's pages to placement `pl` in place (mbind with
 * MPOL_MF_MOVE); accounting follows. Small blocks share pages:
 * HM_E_NOTSUP. 0 or -1 (err set). */
int hm_migrate(hm_block *b, int pl, hm_migrate_result *res, hm_err *err);

void hm_get_stats(hm_stats *out);

/* Return cached mappings to the kernel (not quarantined ones: a write may
 * still be in flight there). Returns bytes unmapped. */
uint64_t hm_trim(void);

#ifdef __cplusplus
}
#endif

#endif
