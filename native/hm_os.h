/*
 * hm_os: the platform layer. Every system call hmsdk makes lives here
 * (mmap, mbind, madvise, move_pages, mincore, sysfs reads): the allocator
 * (hm_arena, hm_core) and the binding (addon.cc) never call the kernel
 * directly. Functions return 0 or a negative errno; they never print, never
 * exit, never touch JS.
 */
#ifndef HM_OS_H
#define HM_OS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Node masks are fixed-size: 1024 bits covers every distro kernel
 * (CONFIG_NODES_SHIFT <= 10). mbind gets maxnode = HM_MAX_NODES + 1 because
 * the kernel reads maxnode - 1 bits. */
#define HM_MAX_NODES 1024
#define HM_MASK_WORDS (HM_MAX_NODES / (8 * sizeof(unsigned long)))

/* Kernel memory policy modes (linux/mempolicy.h). */
enum {
  HM_MPOL_DEFAULT = 0,
  HM_MPOL_PREFERRED = 1,
  HM_MPOL_BIND = 2,
  HM_MPOL_INTERLEAVE = 3,
  HM_MPOL_PREFERRED_MANY = 5,      /* 5.15+ */
  HM_MPOL_WEIGHTED_INTERLEAVE = 6  /* 6.9+ */
};

/* mbind flag: move pages that do not conform to the new policy. */
#define HM_MF_MOVE (1u << 1)

typedef struct hm_nodemask {
  unsigned long bits[HM_MASK_WORDS];
} hm_nodemask;

void hm_mask_clear(hm_nodemask *m);
void hm_mask_set(hm_nodemask *m, int node);
int hm_mask_isset(const hm_nodemask *m, int node);

/* System page size, cached. */
size_t hm_os_page_size(void);

/* Anonymous private read/write mapping; NULL on failure (errno set). */
void *hm_os_map(size_t len);
void hm_os_unmap(void *addr, size_t len);

/* mbind(addr, len, mode, mask); flags are MPOL_MF_*. 0 or -errno. */
int hm_os_mbind(void *addr, size_t len, int mode, const hm_nodemask *mask, unsigned flags);

/* Fault in every page of [addr, addr+len) for writing. Uses
 * MADV_POPULATE_WRITE (5.14+), falling back to touching one byte per page.
 * 0 or -errno (-ENOMEM when the policy's nodes cannot supply the pages). */
int hm_os_populate(void *addr, size_t len);

/* Release the pages of [addr, addr+len) (MADV_DONTNEED) and keep the range
 * mapped: next touch gets fresh zero pages under the same policy. */
int hm_os_discard(void *addr, size_t len);

/* Per-node page histogram of [addr, addr+len) from move_pages(..., NULL,
 * status): counts[node]++ for resident pages, *absent for never-touched
 * pages (-ENOENT) and *zero for pages backed by the shared zero page or
 * otherwise unplaced (-EFAULT). counts must hold HM_MAX_NODES entries.
 * 0 or -errno. */
int hm_os_where(const void *addr, size_t len, uint64_t *counts, uint64_t *absent, uint64_t *other);

/* Move the pages of [addr, addr+len) to `node` with move_pages, counting
 * what moved and what failed per reason. 0 or -errno. */
int hm_os_move(void *addr, size_t len, int node, uint64_t *moved, uint64_t *failed);

/* Number of resident pages in [addr, addr+len) (mincore). -errno on error. */
int64_t hm_os_resident_pages(const void *addr, size_t len);

/* Free bytes of a node from its sysfs meminfo (MemFree); -errno if the node
 * does not exist. */
int64_t hm_os_node_free(int node);

/* Does the kernel accept this mbind mode? Probed once on a scratch mapping. */
int hm_os_mode_supported(int mode);

/* Highest possible node id + 1 (from /sys/devices/system/node/possible). */
int hm_os_possible_nodes(void);

#ifdef __cplusplus
}
#endif

#endif
