/*
 * The preload library's internal interface. Seven files, one role each:
 *   hm_interpose.c  the malloc family, bootstrap, "is this block ours",
 *                   start-up (the only file that defines exported symbols)
 *   hm_conf.c       HMSDK_CONF: the key table and parser (shared with the addon)
 *   hm_mmap.c       the anonymous mmap family: mappings the program (or its
 *                   own allocator: jemalloc, pymalloc, V8) makes, placed
 *   hm_coverage.c   where the anonymous memory is, by /proc/self/numa_maps
 *   hm_tcache.c     per-thread caches of freed small blocks
 *   hm_blocks.c     placing and releasing blocks through the shared core
 *                   (native/core): extents with reuse and capacity checks,
 *                   stripes, caps, the overflow policy
 *   hm_report.c     statistics, one-line messages (async-signal-safe)
 */
#ifndef HM_PRELOAD_H
#define HM_PRELOAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hm_conf.h"

#define HM_HDR_OFF 64
#define HM_MAGIC 0x484d5052454c4f44ULL /* "HMPRELOD" */

enum { HM_KIND_TARGET = 1, HM_KIND_OVERFLOW = 2 };
enum { HM_LAYOUT_STD = 0, HM_LAYOUT_ALIGNED = 1 };

/* The 64 bytes in front of every placed block (see hm_interpose.c). */
struct hm_hdr {
  uint64_t magic;
  uint64_t check;  /* keyed hash of the header's address */
  uintptr_t base;  /* mapping start */
  size_t maplen;   /* mapping length */
  size_t usable;   /* bytes from the user pointer to the mapping's end */
  uintptr_t user;  /* the user pointer */
  uint16_t kind;   /* HM_KIND_* */
  uint16_t layout; /* HM_LAYOUT_* */
  uint32_t charge_pages; /* pages charged to the cap and the node counts */
  void *extent;    /* the core extent, or NULL for a stripe mapping */
};
_Static_assert(sizeof(struct hm_hdr) == HM_HDR_OFF, "header is 64 bytes");

extern hm_conf hm_C;
extern size_t hm_pagesize;

/* hm_blocks.c */
int hm_blocks_init(void); /* 0, or -1 after printing why placement is off */
/* Place `size` bytes aligned to `align`, zeroed when `zero`. The user
 * pointer; or NULL with *fallback = 1 (use glibc) or 0 (fail: errno ENOMEM). */
void *hm_block_place(size_t size, size_t align, int zero, int *fallback);
void hm_block_release(struct hm_hdr *h);
/* Small blocks (<= HM_SMALL_MAX): arena slots, no header. Same contract
 * as hm_block_place; align a power of two <= the page size. */
void *hm_small_place(size_t size, size_t align, int zero, int *fallback);
/* 1: p was a small block, now released; 0: not a small block; -1: inside
 * an arena but not a live block (double or interior free: ignored). */
int hm_small_release(void *p);
/* Usable bytes of a small block, 0 when p is not one. */
size_t hm_small_usable(const void *p);
/* A live small block straight back to its arena (no thread cache): 1, or -1. */
int hm_small_to_arena(void *p);

/* hm_tcache.c: per-thread caches of freed small blocks of the small-block
 * placement. take: a cached block of class cls or NULL. put: 1 cached, 0
 * no cache (the caller frees to the arena), -1 already cached (a double
 * free). */
void hm_tcache_init(void);
void hm_tcache_flush(void); /* this thread's cache back to the arena (at exit) */
void *hm_tcache_take(int cls);
int hm_tcache_put(void *p, int cls);
void hm_tcache_fork_lock(void);
void hm_tcache_fork_unlock(void);
/* Called by hm_interpose.c to write the header of a new block. */
void hm_header_seal(struct hm_hdr *h);

/* hm_interpose.c: start-up (idempotent; a no-op until libc set environ). */
void hm_preload_start(void);

/* hm_mmap.c: 0, or -1 when the kernel refuses the mappings' policy mode. */
int hm_mmap_init(void);

/* hm_coverage.c: anonymous memory by the kernel's numa_maps, bytes. */
typedef struct hm_coverage {
  uint64_t total;        /* anonymous, resident */
  uint64_t on_target;    /* of it on the target nodes */
  uint64_t unplaced_off; /* off the target in mappings no placement reached */
  uint64_t placed_off;   /* off the target in placed mappings (fell back) */
} hm_coverage;
int hm_coverage_read(hm_coverage *c); /* 0, or -1 without /proc */
/* Memory mapped through the library (placed or not): a reading each time
 * it doubles past expect_min. */
void hm_coverage_note(uint64_t bytes);
/* At exit: one line on stderr when less than `expect`% of the peak
 * reading is on the target. */
void hm_coverage_check(void);

/* hm_report.c */
extern _Atomic uint64_t hm_st_live, hm_st_peak, hm_st_count, hm_st_frees;
extern _Atomic uint64_t hm_st_ovf_live, hm_st_ovf_peak, hm_st_ovf_count;
extern _Atomic uint64_t hm_st_fallback, hm_st_fail, hm_st_mbind_err, hm_st_populate_err, hm_st_reg_full;
extern _Atomic uint64_t hm_st_nodefull, hm_st_capfull, hm_st_realloc_inplace, hm_st_realloc_move;
extern _Atomic uint64_t hm_st_small_count, hm_st_small_frees, hm_st_bad_free;
extern _Atomic uint64_t hm_st_maps_placed, hm_st_maps_bytes, hm_st_maps_skipped, hm_st_maps_err;
void hm_peak_max(_Atomic uint64_t *peak, uint64_t v);
void hm_node_add(int node, uint64_t bytes);
void hm_node_sub(int node, uint64_t bytes);
void hm_report_init(void);        /* signal handler per stats_signal */
void hm_report_dump(const char *reason);
void hm_say_parts(const char *first, ...);
#define hm_say(...) hm_say_parts(__VA_ARGS__, (const char *)0)
void hm_u64_str(uint64_t v, char *out, size_t cap);

#endif
