/*
 * hm_core: placed allocation, the allocation registry and accounting.
 *
 * A *placement* is a kernel memory policy (mode + node mask) plus the split
 * used to charge bytes to nodes. Every allocation is made under one
 * placement (or, for userspace weighted stripes, a list of segments each
 * under its own placement).
 *
 * Small requests (<= HM_SMALL_MAX) are carved from the placement's arena:
 * HM_CHUNK_SIZE mappings bound with mbind once, split into size classes
 * (16-byte steps to 128 B, then 4 classes per power of two). Freed blocks go
 * to a per-class free list, so a small allocation costs no system call once
 * the chunk exists. Larger requests get their own mapping; freed mappings
 * are kept in a small per-placement cache (HM_CACHE_MAX_BYTES) so an
 * allocate/free loop does not mmap/munmap each time.
 *
 * Every live allocation has an hm_block record, found by address through an
 * open-addressing hash table, which is how a JS ArrayBuffer is recognised as
 * ours. The record is also the finalizer hint: it is recycled only after the
 * JS engine has run the finalizer, so a late finalizer never touches a
 * reused record.
 *
 * Strict (MPOL_BIND) requests are checked against the nodes' free memory
 * before any page is faulted, because a bound node that runs out does not
 * fail the fault: the kernel OOM-kills some process. See hm_core.c.
 *
 * All entry points take one process-wide mutex: the addon may be loaded in
 * several worker threads, and accounting is per process.
 */
#ifndef HM_CORE_H
#define HM_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "hm_os.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Requests up to this many bytes are served from arenas. */
#define HM_SMALL_MAX (32 * 1024)
/* Arena chunk size: one mmap + mbind per chunk. */
#define HM_CHUNK_SIZE (2 * 1024 * 1024)
/* Bytes of freed large mappings kept for reuse, per placement. */
#define HM_CACHE_MAX_BYTES (64 * 1024 * 1024)
#define HM_CACHE_SLOTS 16
/* Strict allocations leave this much of a node free (kernel watermarks and
 * other processes need it): max(HM_RESERVE_MIN, MemTotal / HM_RESERVE_DIV). */
#define HM_RESERVE_MIN (32ULL * 1024 * 1024)
#define HM_RESERVE_DIV 64
#define HM_MAX_PLACEMENTS 4096
#define HM_PL_MAX_NODES 64

/* Allocation flags. */
#define HM_F_POPULATE 1u /* fault every page in before returning */
#define HM_F_ZERO 2u     /* memory must read as zero */

/* Error codes (hm_err.code). */
enum { HM_OK = 0, HM_E_NOMEM = 1, HM_E_SYS = 2, HM_E_NOTSUP = 3, HM_E_INVAL = 4 };

typedef struct hm_err {
  int code;            /* HM_E_* */
  int errnum;          /* errno for HM_E_SYS / HM_E_NOTSUP */
  const char *syscall; /* failing call for HM_E_SYS */
  int node;            /* node that could not hold the request (-1 if n/a) */
  uint64_t requested;  /* bytes requested */
  uint64_t available;  /* bytes the node(s) could give */
  uint64_t reserve;    /* bytes kept free on the node(s) */
  uint64_t committed;  /* bytes promised to lazy strict mappings, not yet faulted */
} hm_err;

typedef struct hm_placement hm_placement;
typedef struct hm_block hm_block;

/* One range of a striped allocation. */
typedef struct hm_seg {
  size_t offset;
  size_t length;
  int placement;
} hm_seg;

/* Process-wide counters. used[] is indexed by node id. */
typedef struct hm_stats {
  int64_t used[HM_MAX_NODES]; /* live bytes handed out, charged per node */
  int64_t live_count;         /* live allocations */
  int64_t arena_bytes;        /* bytes mapped for arena chunks */
  int64_t large_bytes;        /* bytes mapped for live large allocations */
  int64_t cached_bytes;       /* bytes mapped in the large-mapping caches */
  int64_t pending_finalizers; /* freed blocks whose JS finalizer has not run yet */
} hm_stats;

int hm_init(void);

/* Register a placement. nodes[] lists the policy's nodes; charge[] (same
 * length, >0) splits charged bytes between them. Returns the placement id or
 * a negative HM_E_* code. Identical placements get the same id. */
int hm_placement_get(int mode, const int *nodes, const uint32_t *charge, int n, hm_err *err);

/* Allocate `size` (>0) bytes under placement `pl`. NULL on error (err set). */
hm_block *hm_alloc(int pl, size_t size, unsigned flags, hm_err *err);

/* Allocate `size` bytes as one mapping whose ranges follow segs (sorted,
 * page-aligned, covering [0, size rounded to pages)). NULL on error. */
hm_block *hm_alloc_segments(size_t size, const hm_seg *segs, int nsegs, unsigned flags, hm_err *err);

/* Block accessors. */
void *hm_block_ptr(const hm_block *b);
size_t hm_block_size(const hm_block *b);

/* Find the live block whose memory starts at ptr with this size. */
hm_block *hm_lookup(const void *ptr, size_t size);

/* Give the block's memory back (caller has made it unreachable: detached).
 * The record stays until hm_finalize. */
void hm_release(hm_block *b);

/* The JS finalizer ran: release the memory if still live, recycle the record. */
void hm_finalize(hm_block *b);

/* Move a live large block's pages to placement `pl` in place (mbind with
 * MPOL_MF_MOVE): the memory stays at the same address, accounting follows.
 * Small (arena) blocks share pages with other blocks and cannot move:
 * HM_E_NOTSUP. On return *on_target / *total count the block's resident
 * pages on the target nodes and all its resident pages (move_pages), so a
 * partial move (busy pages, full node) is visible. 0 or -1 (err set). */
int hm_migrate(hm_block *b, int pl, uint64_t *on_target, uint64_t *total, hm_err *err);

/* Copy the counters. */
void hm_get_stats(hm_stats *out);

/* Return cached large mappings to the kernel. Returns bytes unmapped. */
uint64_t hm_trim(void);

#ifdef __cplusplus
}
#endif

#endif
