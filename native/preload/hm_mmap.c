/*
 * hm_mmap: the program's own anonymous mappings, placed.
 *
 * Allocators and runtimes that map their own memory never call malloc for
 * it: jemalloc (redis) maps extents, pymalloc maps 1 MiB arenas, V8 maps
 * its heap pages, mmap-based indexes map their tables. The preload
 * interposes mmap/mmap64 and gives every private anonymous mapping the
 * target's policy with one mbind right after the kernel made it (before
 * the program can touch it), so its pages fault on the target.
 *
 * The policy is the non-strict form of the configured one
 * (hm_conf_lenient): a page fault cannot fail, and MPOL_BIND on a full node
 * would be an OOM kill, the one outcome the SDK rules out; a page that does
 * not fit falls back to another node instead, and the exit report
 * (hm_coverage.c) says so.
 *
 * Left alone: file mappings, shared mappings (IPC: another process decides
 * where they live), MAP_STACK / MAP_GROWSDOWN (thread stacks), mappings
 * shorter than `maps_min`. mremap needs no hook: the kernel carries a
 * mapping's policy when it moves or grows it (vma_dup_policy, vma_expand).
 * munmap needs none either: statistics come from the kernel's numa_maps,
 * not from our counters.
 *
 * The core's own mappings (extents, metadata) are made with raw system
 * calls in native/prim and never come through here.
 */
/* node-gyp builds with _FILE_OFFSET_BITS=64, which renames the C function
 * mmap to the symbol mmap64: both symbols are defined here, by name. */
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "../prim/hm_prim.h"
#include "hm_preload.h"

#define EXPORT __attribute__((visibility("default")))

static _Atomic int maps_on;
static int maps_mode;
static hm_nodemask maps_mask;

int hm_mmap_init(void) {
  if (!hm_C.maps) return 0;
  int nodes[HM_CONF_MAX_NODES], n;
  maps_mode = hm_conf_lenient(&hm_C, nodes, &n);
  hm_mask_clear(&maps_mask);
  for (int i = 0; i < n; i++) hm_mask_set(&maps_mask, nodes[i]);
  if (!hm_mode_supported(maps_mode)) return -1;
  atomic_store_explicit(&maps_on, 1, memory_order_release);
  return 0;
}

static void place_mapping(void *p, size_t len, int flags) {
  if (!(flags & MAP_ANONYMOUS)) return;
  hm_coverage_note(len);
  if ((flags & (MAP_SHARED | MAP_STACK | MAP_GROWSDOWN)) || len < hm_C.maps_min) {
    atomic_fetch_add_explicit(&hm_st_maps_skipped, 1, memory_order_relaxed);
    return;
  }
  int saved = errno;
  if (hm_mbind(p, len, maps_mode, &maps_mask, 0) == 0) {
    atomic_fetch_add_explicit(&hm_st_maps_placed, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hm_st_maps_bytes, len, memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&hm_st_maps_err, 1, memory_order_relaxed);
  }
  errno = saved;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (!atomic_load_explicit(&maps_on, memory_order_acquire)) hm_preload_start();
  void *p = hm_sys_mmap(addr, len, prot, flags, fd, (long)off);
  if (p != MAP_FAILED) {
    if (atomic_load_explicit(&maps_on, memory_order_relaxed)) place_mapping(p, len, flags);
    else if (hm_C.expect && (flags & MAP_ANONYMOUS)) hm_coverage_note(len);
  }
  return p;
}

/* Programs built with _FILE_OFFSET_BITS=64 call mmap64. */
EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off) {
  return mmap(addr, len, prot, flags, fd, (off_t)off);
}
