/*
 * The preload library's internal interface. Four files, one role each:
 *   hm_interpose.c  the malloc family, bootstrap, "is this block ours",
 *                   start-up (the only file that defines exported symbols)
 *   hm_conf.c       HMSDK_CONF: the key table and parser (shared with the addon)
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
  uint32_t kind;   /* HM_KIND_* */
  uint32_t layout; /* HM_LAYOUT_* */
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
/* Called by hm_interpose.c to write the header of a new block. */
void hm_header_seal(struct hm_hdr *h);

/* hm_report.c */
extern _Atomic uint64_t hm_st_live, hm_st_peak, hm_st_count, hm_st_frees;
extern _Atomic uint64_t hm_st_ovf_live, hm_st_ovf_peak, hm_st_ovf_count;
extern _Atomic uint64_t hm_st_fallback, hm_st_fail, hm_st_mbind_err, hm_st_populate_err, hm_st_reg_full;
extern _Atomic uint64_t hm_st_nodefull, hm_st_capfull, hm_st_realloc_inplace, hm_st_realloc_move;
void hm_peak_max(_Atomic uint64_t *peak, uint64_t v);
void hm_node_add(int node, uint64_t bytes);
void hm_node_sub(int node, uint64_t bytes);
void hm_report_init(void);        /* signal handler per stats_signal */
void hm_report_dump(const char *reason);
void hm_say_parts(const char *first, ...);
#define hm_say(...) hm_say_parts(__VA_ARGS__, (const char *)0)
void hm_u64_str(uint64_t v, char *out, size_t cap);

#endif
