/*
 * hm_extent: placed mappings and their reuse.
 *
 * An extent is one anonymous mapping under one placement (a kernel memory
 * policy over some nodes). Large blocks are extents of their own; arena
 * chunks (hm_arena) are extents of HM_CHUNK_BYTES. Getting an extent
 * under a strict placement charges the nodes' capacity first
 * (hm_capacity), so no page is faulted on a node that cannot hold it.
 *
 * Reuse. A freed extent goes to its placement's cache instead of munmap:
 * binned by length class (4 classes per power of two, in pages; a cached
 * length is its class's length, so reuse within a bin is an O(1) pop; a
 * request takes its own class or one of the next HM_REUSE_CLASSES, at most
 * twice its length),
 * bounded in bytes (HM_CACHE_BYTES per placement, least recently freed
 * evicted first) and decaying: an extent cached for more than
 * HM_DECAY_NS is unmapped by a later operation on the placement (one per
 * operation, jemalloc-style decay without a thread). Extents larger than
 * HM_CACHE_MAX_EXTENT are not class-rounded and never cached.
 *
 * Zero and populate on reuse never fault pages that capacity did not
 * promise: a small extent whose pages are all known resident is cleared
 * with memset (no fault); otherwise MADV_DONTNEED gives zero pages back
 * lazily,
 * and the placement's promises are checked against the nodes' free memory
 * before the extent is handed out again.
 *
 * Huge pages. The kernel migrates a transparent huge page whole, and
 * adjacent anonymous mappings with the same policy merge into one VMA, so
 * one 2 MiB page could hold two extents and moving one (hm_migrate) would
 * drag the other along. Every extent mapping (hm_extent_map) therefore owns
 * each huge page it may be backed by: a mapping of >= 2 MiB starts on a
 * 2 MiB boundary (no huge page crosses its start) and its last partial
 * 2 MiB, if any, is MADV_NOHUGEPAGE (none crosses its end); a smaller
 * mapping is MADV_NOHUGEPAGE whole. Inside a big extent huge pages still
 * work. Arena chunks are 2 MiB extents: one huge page each, never shared.
 * The cost is the THP benefit of buffers below 2 MiB and of a big buffer's
 * last partial 2 MiB, which are TLB-wise small.
 */
#ifndef HM_EXTENT_H
#define HM_EXTENT_H

#include <stddef.h>
#include <stdint.h>

#include "hm_err.h"

#define HM_CACHE_BYTES (64ULL * 1024 * 1024)
#define HM_CACHE_MAX_EXTENT (32ULL * 1024 * 1024)
#define HM_DECAY_NS (10ULL * 1000 * 1000 * 1000)
#define HM_CACHE_BINS 96
#define HM_REUSE_CLASSES 4
/* Zeroing a reused, fully resident extent: memset up to this size, above it
 * MADV_DONTNEED (a memset of megabytes costs tens of microseconds). */
#define HM_MEMSET_MAX (64 * 1024)

/* Flags of hm_extent_get. */
#define HM_F_POPULATE 1u /* fault every page of the first `size` bytes in */
#define HM_F_ZERO 2u     /* the first `size` bytes must read as zero */
#define HM_F_EXACT 4u    /* only an extent of the request's own length class */

struct hm_place;

typedef struct hm_extent {
  char *addr;
  size_t len;
  struct hm_place *pl;
  /* capacity (strict placements only) */
  uint64_t unfaulted; /* bytes that may still fault in (upper bound; 0 = all resident) */
  int charged;        /* capacity holds len bytes for this extent (strict placements) */
  int zeroed;         /* the whole mapping reads as zero (fresh, or discarded) */
  struct hm_extent *lazy_prev, *lazy_next;
  int on_lazy_list;
  /* cache */
  struct hm_extent *bin_prev, *bin_next, *lru_prev, *lru_next;
  int bin;
  uint64_t cached_ns;
} hm_extent;

/* Per-placement reuse cache. Guarded by the placement's lock. */
typedef struct hm_cache {
  hm_extent *bins[HM_CACHE_BINS];
  hm_extent *lru_newest, *lru_oldest;
  uint64_t bytes;
  uint64_t limit; /* bytes kept at most; 0 = HM_CACHE_BYTES */
} hm_cache;

/* An extent of at least `size` bytes under pl (from the cache or fresh).
 * NULL on error (err set). */
hm_extent *hm_extent_get(struct hm_place *pl, size_t size, unsigned flags, hm_err *err);

/* Give an extent back: cached for reuse or unmapped. */
void hm_extent_put(hm_extent *e);

/* Give an extent's pages back to the kernel but keep the mapping (its
 * bytes become promises again): before an idle chunk waits in the cache. */
void hm_extent_discard(hm_extent *e);

/* Bound pl's cache to `bytes` (0: keep nothing). Cached extents hold
 * resident memory: a whole program (the preload) keeps less than an SDK
 * user who asked for reuse. */
void hm_extent_cache_limit(struct hm_place *pl, uint64_t bytes);

/* Unmap now and give its capacity back. */
void hm_extent_drop(hm_extent *e);

/* Unmap every cached extent of pl. Returns bytes unmapped. */
uint64_t hm_extent_trim(struct hm_place *pl);

/* Bytes cached over all placements. */
uint64_t hm_extent_cached_bytes(void);

/* fork(): hold the extent pool's lock across it. */
void hm_extent_fork_lock(void);
void hm_extent_fork_unlock(void);

/* Length an extent for `size` bytes gets (its class length when cached). */
size_t hm_extent_length(size_t size);


/* An extent object for a mapping made elsewhere (a stripe being migrated):
 * nothing charged yet. NULL when metadata memory is exhausted. */
hm_extent *hm_extent_wrap(struct hm_place *pl, char *addr, size_t len);

/* Give back a wrapped extent's charge and its object; the mapping stays. */
void hm_extent_unwrap(hm_extent *e);

/* A fresh mapping of len bytes that shares no transparent huge page with
 * any other mapping (see "Huge pages" above). NULL on failure (errno set). */
char *hm_extent_map(size_t len);
#endif
