/* hm_shm: shared store objects' memory. The contract is in hm_shm.h. */
#include "hm_shm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "../prim/hm_prim.h"
#include "hm_capacity.h"
#include "hm_place.h"

struct hm_shm_map {
  char *addr;
  size_t len;  /* mapped: whole pages */
  size_t size; /* the view's length */
  int released;
  int holds;
  hm_shm_map *prev, *next;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static hm_shm_map *live_head;

static hm_shm_map *record(char *addr, size_t len, size_t size, hm_err *err) {
  hm_shm_map *m = calloc(1, sizeof *m);
  if (!m) {
    hm_unmap(addr, len);
    hm_err_sys(err, "malloc", -ENOMEM);
    return NULL;
  }
  m->addr = addr;
  m->len = len;
  m->size = size;
  m->holds = HM_SHM_HOLDS;
  pthread_mutex_lock(&reg_lock);
  m->next = live_head;
  if (live_head) live_head->prev = m;
  live_head = m;
  pthread_mutex_unlock(&reg_lock);
  return m;
}

/* Fault every page of the shared mapping in; a strict placement faults
 * under its soft mode and checks with move_pages before binding. */
static int place_and_populate(hm_place *pl, char *addr, size_t len, int populate, hm_err *err) {
  int soft = -1;
  if (pl->strict && populate) {
    if (pl->n == 1) soft = HM_MPOL_PREFERRED;
    else if (hm_mode_supported(HM_MPOL_PREFERRED_MANY)) soft = HM_MPOL_PREFERRED_MANY;
  }
  int r = hm_mbind(addr, len, soft >= 0 ? soft : pl->mode, &pl->mask, 0);
  if (r != 0) {
    hm_place_mbind_err(err, pl, r);
    return -1;
  }
  if (!populate) return 0;
  if ((r = hm_populate(addr, len)) != 0) {
    hm_place_populate_err(err, pl, r, len);
    return -1;
  }
  if (soft < 0) return 0;
  int64_t on = hm_pages_on(addr, len, &pl->mask);
  if (on < 0) {
    hm_err_sys(err, "move_pages", (int)on);
    return -1;
  }
  if ((uint64_t)on * hm_page_size() != len) {
    err->code = HM_E_NOMEM;
    err->node = pl->n == 1 ? pl->nodes[0] : -1;
    err->requested = len;
    err->available = (uint64_t)on * hm_page_size();
    return -1;
  }
  if ((r = hm_mbind(addr, len, pl->mode, &pl->mask, 0)) != 0) {
    hm_place_mbind_err(err, pl, r);
    return -1;
  }
  return 0;
}

hm_shm_map *hm_shm_create(int pl_id, size_t size, int populate, int *fd_out, hm_err *err) {
  hm_place *pl = hm_place_at(pl_id);
  if (!pl || size == 0) {
    err->code = HM_E_INVAL;
    return NULL;
  }
  size_t len = hm_round_pages(size);
  if (pl->strict && hm_cap_probe(pl, len, err) != 0) return NULL;
  int fd = hm_memfd("hmsdk-store", len);
  if (fd < 0) {
    hm_err_sys(err, "memfd_create", fd);
    return NULL;
  }
  char *addr = hm_map_fd(fd, len, 1);
  if (!addr) {
    hm_err_sys(err, "mmap", -errno);
    hm_close(fd);
    return NULL;
  }
  if (place_and_populate(pl, addr, len, populate, err) != 0) {
    /* Unmapping and closing the only references frees the pages. */
    hm_unmap(addr, len);
    hm_close(fd);
    return NULL;
  }
  hm_shm_map *m = record(addr, len, size, err);
  if (!m) {
    hm_close(fd);
    return NULL;
  }
  *fd_out = fd;
  return m;
}

hm_shm_map *hm_shm_map_private(int fd, size_t size, int prefault, hm_err *err) {
  uint64_t ino, dev, fsize;
  int seals;
  int r = hm_fd_ident(fd, &ino, &dev, &fsize, &seals);
  if (r != 0) {
    hm_err_sys(err, "fstat", r);
    return NULL;
  }
  size_t len = hm_round_pages(size);
  /* Only a memfd that can never shrink: a truncated file would SIGBUS the view. */
  if (size == 0 || fsize < len || seals < 0 || !(seals & HM_SEAL_SHRINK)) {
    err->code = HM_E_INVAL;
    return NULL;
  }
  char *addr = hm_map_fd(fd, len, 0);
  if (!addr) {
    hm_err_sys(err, "mmap", -errno);
    return NULL;
  }
  /* Before 5.14 there is no MADV_POPULATE_READ: pages map on first read. */
  if (prefault) (void)hm_populate_read(addr, len);
  return record(addr, len, size, err);
}

void *hm_shm_addr(const hm_shm_map *m) { return m->addr; }
size_t hm_shm_size(const hm_shm_map *m) { return m->size; }

hm_shm_map *hm_shm_lookup(const void *addr, size_t size) {
  pthread_mutex_lock(&reg_lock);
  hm_shm_map *m = live_head;
  while (m && !(m->addr == addr && m->size == size && !m->released)) m = m->next;
  pthread_mutex_unlock(&reg_lock);
  return m;
}

int hm_shm_release(hm_shm_map *m) {
  pthread_mutex_lock(&reg_lock);
  int already = m->released;
  m->released = 1;
  pthread_mutex_unlock(&reg_lock);
  return already ? 0 : hm_map_placeholder(m->addr, m->len);
}

void hm_shm_unhold(hm_shm_map *m) {
  pthread_mutex_lock(&reg_lock);
  int last = --m->holds == 0;
  if (last) {
    if (m->prev) m->prev->next = m->next;
    else live_head = m->next;
    if (m->next) m->next->prev = m->prev;
  }
  pthread_mutex_unlock(&reg_lock);
  if (!last) return;
  hm_unmap(m->addr, m->len);
  free(m);
}
