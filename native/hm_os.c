/*
 * hm_os: system calls. See hm_os.h.
 *
 * mbind's result is always checked: libnuma's numa_alloc_onnode() returns
 * unbound memory when mbind fails, we return the error instead. The raw
 * syscall wrappers come from libnuma's numaif.h (mbind, move_pages); node
 * sizes from libnuma's numa_node_size64 (sysfs meminfo).
 */
#define _GNU_SOURCE
#include "hm_os.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HM_BITS_PER_WORD (8 * sizeof(unsigned long))

void hm_mask_clear(hm_nodemask *m) { memset(m, 0, sizeof *m); }
void hm_mask_set(hm_nodemask *m, int node) {
  m->bits[node / HM_BITS_PER_WORD] |= 1UL << (node % HM_BITS_PER_WORD);
}
int hm_mask_isset(const hm_nodemask *m, int node) {
  return (m->bits[node / HM_BITS_PER_WORD] >> (node % HM_BITS_PER_WORD)) & 1UL;
}

static size_t page_size_cache;

size_t hm_os_page_size(void) {
  if (!page_size_cache) page_size_cache = (size_t)sysconf(_SC_PAGESIZE);
  return page_size_cache;
}

void *hm_os_map(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void hm_os_unmap(void *addr, size_t len) { munmap(addr, len); }

int hm_os_mbind(void *addr, size_t len, int mode, const hm_nodemask *mask, unsigned flags) {
  long r = mbind(addr, len, mode, mask ? mask->bits : NULL, mask ? HM_MAX_NODES + 1 : 0, flags);
  return r == 0 ? 0 : -errno;
}

static int populate_by_touch(void *addr, size_t len) {
  size_t ps = hm_os_page_size();
  volatile char *p = (volatile char *)addr;
  for (size_t off = 0; off < len; off += ps) p[off] = p[off];
  return 0;
}

static int populate_madvise_works = 1;

int hm_os_populate(void *addr, size_t len) {
  if (populate_madvise_works) {
    /* MADV_POPULATE_WRITE can return EINTR on a pending signal; retry. */
    for (;;) {
      if (madvise(addr, len, MADV_POPULATE_WRITE) == 0) return 0;
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (errno != EINVAL) return -errno;
    populate_madvise_works = 0; /* kernel < 5.14 */
  }
  return populate_by_touch(addr, len);
}

int hm_os_discard(void *addr, size_t len) {
  return madvise(addr, len, MADV_DONTNEED) == 0 ? 0 : -errno;
}

#define HM_BATCH 4096

int hm_os_where(const void *addr, size_t len, uint64_t *counts, uint64_t *absent, uint64_t *other) {
  size_t ps = hm_os_page_size();
  uintptr_t start = (uintptr_t)addr & ~(uintptr_t)(ps - 1);
  uintptr_t end = ((uintptr_t)addr + len + ps - 1) & ~(uintptr_t)(ps - 1);
  void *pages[HM_BATCH];
  int status[HM_BATCH];
  for (uintptr_t a = start; a < end;) {
    unsigned long n = 0;
    while (n < HM_BATCH && a < end) {
      pages[n++] = (void *)a;
      a += ps;
    }
    if (move_pages(0, n, pages, NULL, status, 0) != 0) return -errno;
    for (unsigned long i = 0; i < n; i++) {
      int s = status[i];
      if (s >= 0 && s < HM_MAX_NODES) counts[s]++;
      else if (s == -ENOENT) (*absent)++;
      else (*other)++;
    }
  }
  return 0;
}

int hm_os_move(void *addr, size_t len, int node, uint64_t *moved, uint64_t *failed) {
  size_t ps = hm_os_page_size();
  uintptr_t start = (uintptr_t)addr;
  uintptr_t end = start + len;
  void *pages[HM_BATCH];
  int nodes[HM_BATCH];
  int status[HM_BATCH];
  for (uintptr_t a = start; a < end;) {
    unsigned long n = 0;
    while (n < HM_BATCH && a < end) {
      nodes[n] = node;
      pages[n++] = (void *)a;
      a += ps;
    }
    if (move_pages(0, n, pages, nodes, status, MPOL_MF_MOVE) < 0) return -errno;
    for (unsigned long i = 0; i < n; i++) {
      if (status[i] == node) (*moved)++;
      else (*failed)++;
    }
  }
  return 0;
}

int64_t hm_os_resident_pages(const void *addr, size_t len) {
  size_t ps = hm_os_page_size();
  size_t npages = (len + ps - 1) / ps;
  unsigned char vec[HM_BATCH];
  int64_t resident = 0;
  for (size_t i = 0; i < npages; i += HM_BATCH) {
    size_t n = npages - i < HM_BATCH ? npages - i : HM_BATCH;
    if (mincore((char *)addr + i * ps, n * ps, vec) != 0) return -errno;
    for (size_t k = 0; k < n; k++) resident += vec[k] & 1;
  }
  return resident;
}

int64_t hm_os_node_free(int node) {
  long long free_bytes = 0;
  errno = 0;
  long long total = numa_node_size64(node, &free_bytes);
  if (total < 0) return errno ? -errno : -ENODEV;
  return (int64_t)free_bytes;
}

static int mode_probe[8]; /* 0 = unknown, 1 = yes, 2 = no */

int hm_os_mode_supported(int mode) {
  if (mode < 0 || mode >= 8) return 0;
  if (mode_probe[mode] == 0) {
    size_t ps = hm_os_page_size();
    void *p = hm_os_map(ps);
    int ok = 0;
    if (p) {
      hm_nodemask m;
      hm_mask_clear(&m);
      /* Any node with memory works for the probe: take the first online one. */
      int node = 0;
      for (int n = 0; n < HM_MAX_NODES; n++) {
        if (hm_os_node_free(n) >= 0) { node = n; break; }
      }
      hm_mask_set(&m, node);
      ok = hm_os_mbind(p, ps, mode, &m, 0) == 0;
      hm_os_unmap(p, ps);
    }
    mode_probe[mode] = ok ? 1 : 2;
  }
  return mode_probe[mode] == 1;
}

int hm_os_possible_nodes(void) {
  FILE *f = fopen("/sys/devices/system/node/possible", "r");
  int hi = 0;
  if (f) {
    char buf[256];
    if (fgets(buf, sizeof buf, f)) {
      /* Format: "0-3" or "0,2-5": the last number is the highest id. */
      char *p = buf;
      while (*p) {
        if (*p >= '0' && *p <= '9') {
          int v = (int)strtol(p, &p, 10);
          if (v > hi) hi = v;
        } else {
          p++;
        }
      }
    }
    fclose(f);
  }
  return hi + 1;
}
