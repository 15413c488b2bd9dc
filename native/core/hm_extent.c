/* hm_extent: placed mappings, capacity-checked, cached with decay. See hm_extent.h. */
#include "hm_extent.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "hm_capacity.h"
#include "hm_meta.h"
#include "hm_place.h"

static hm_pool extent_pool = HM_POOL_INIT(sizeof(hm_extent));
static uint64_t cached_total; /* atomic */

/* ---- length classes: 4 per power of two, in pages -------------------- */

static int bin_of_pages(size_t pages) {
  if (pages <= 4) return (int)pages - 1;
  size_t s = pages - 1;
  int p = 63 - __builtin_clzll(s); /* pages in (2^p, 2^(p+1)] */
  return 4 + (p - 2) * 4 + (int)((s - ((size_t)1 << p)) >> (p - 2));
}

static size_t bin_pages(int bin) {
  if (bin < 4) return (size_t)bin + 1;
  int k = bin - 4, p = 2 + k / 4;
  return ((size_t)1 << p) + (size_t)((k % 4) + 1) * ((size_t)1 << (p - 2));
}

size_t hm_extent_length(size_t size) {
  size_t len = hm_round_pages(size ? size : 1);
  if (len > HM_CACHE_MAX_EXTENT) return len;
  size_t ps = hm_page_size();
  return bin_pages(bin_of_pages(len / ps)) * ps;
}

uint64_t hm_extent_cached_bytes(void) { return __atomic_load_n(&cached_total, __ATOMIC_RELAXED); }

/* ---- cache lists (placement lock held) -------------------------------- */

static void cache_unlink(hm_cache *c, hm_extent *e) {
  if (e->bin_prev) e->bin_prev->bin_next = e->bin_next;
  else c->bins[e->bin] = e->bin_next;
  if (e->bin_next) e->bin_next->bin_prev = e->bin_prev;
  if (e->lru_prev) e->lru_prev->lru_next = e->lru_next;
  else c->lru_newest = e->lru_next;
  if (e->lru_next) e->lru_next->lru_prev = e->lru_prev;
  else c->lru_oldest = e->lru_prev;
  e->bin_prev = e->bin_next = e->lru_prev = e->lru_next = NULL;
  c->bytes -= e->len;
  __atomic_fetch_sub(&cached_total, e->len, __ATOMIC_RELAXED);
}

static void cache_push(hm_cache *c, hm_extent *e, uint64_t now) {
  e->bin = bin_of_pages(e->len / hm_page_size());
  e->bin_prev = NULL;
  e->bin_next = c->bins[e->bin];
  if (e->bin_next) e->bin_next->bin_prev = e;
  c->bins[e->bin] = e;
  e->lru_prev = NULL;
  e->lru_next = c->lru_newest;
  if (c->lru_newest) c->lru_newest->lru_prev = e;
  else c->lru_oldest = e;
  c->lru_newest = e;
  e->cached_ns = now;
  c->bytes += e->len;
  __atomic_fetch_add(&cached_total, e->len, __ATOMIC_RELAXED);
}

/* Take the oldest entry if it has decayed; chain it on *out. */
static void decay_one(hm_cache *c, uint64_t now, hm_extent **out) {
  hm_extent *old = c->lru_oldest;
  if (!old || now - old->cached_ns < HM_DECAY_NS) return;
  cache_unlink(c, old);
  old->bin_next = *out;
  *out = old;
}

static void drop_chain(hm_extent *e) {
  while (e) {
    hm_extent *next = e->bin_next;
    hm_extent_drop(e);
    e = next;
  }
}

/* ---- faulting --------------------------------------------------------- */

static void set_unfaulted(hm_extent *e, uint64_t u) {
  if (e->charged) hm_cap_set_unfaulted(e, u);
  else e->unfaulted = u;
}

/* Fault the first `size` bytes in. A strict placement faults them under
 * MPOL_PREFERRED (which falls back instead of OOM-killing), counts them
 * with move_pages and goes back to MPOL_BIND only when every page landed
 * on its nodes; otherwise ENOMEM. */
static int populate_checked(hm_extent *e, size_t size, hm_err *err) {
  hm_place *pl = e->pl;
  size_t p = hm_round_pages(size);
  if (p > e->len) p = e->len;
  int soft = -1;
  if (pl->strict) {
    if (pl->n == 1) soft = HM_MPOL_PREFERRED;
    else if (hm_mode_supported(HM_MPOL_PREFERRED_MANY)) soft = HM_MPOL_PREFERRED_MANY;
    /* else no soft multi-node mode: the capacity check is the guard */
  }
  int r;
  if (soft >= 0 && (r = hm_mbind(e->addr, e->len, soft, &pl->mask, 0)) != 0) {
    hm_place_mbind_err(err, pl, r);
    return -1;
  }
  r = hm_populate(e->addr, p);
  if (r != 0) {
    hm_place_populate_err(err, pl, r, p);
    return -1;
  }
  if (soft >= 0) {
    int64_t on = hm_pages_on(e->addr, p, &pl->mask);
    if (on < 0) {
      hm_err_sys(err, "move_pages", (int)on);
      return -1;
    }
    if ((uint64_t)on * hm_page_size() != p) {
      err->code = HM_E_NOMEM;
      err->node = pl->n == 1 ? pl->nodes[0] : -1;
      err->requested = p;
      err->available = (uint64_t)on * hm_page_size();
      return -1;
    }
    if ((r = hm_mbind(e->addr, e->len, pl->mode, &pl->mask, 0)) != 0) {
      hm_place_mbind_err(err, pl, r);
      return -1;
    }
  }
  uint64_t tail = e->len - p;
  set_unfaulted(e, e->unfaulted < tail ? e->unfaulted : tail);
  return 0;
}

/* Prepare a cached extent for a new owner. */
static int reuse(hm_extent *e, size_t size, unsigned flags, hm_err *err) {
  e->zeroed = 0;
  if ((flags & HM_F_ZERO) && e->unfaulted == 0 && size <= HM_MEMSET_MAX) {
    memset(e->addr, 0, size); /* every page resident: no fault */
    return 0;
  }
  if (flags & HM_F_ZERO) {
    /* Some pages may fault, or clearing costs more than discarding: give
     * zero pages back lazily (the kernel zeroes only what is touched). */
    if (madvise(e->addr, e->len, MADV_DONTNEED) != 0) {
      hm_err_sys(err, "madvise", -errno);
      return -1;
    }
    set_unfaulted(e, e->len);
    e->zeroed = 1;
  }
  if (e->charged && hm_cap_check(e, err) != 0) return -1;
  if (flags & HM_F_POPULATE) return populate_checked(e, size, err);
  return 0;
}

static hm_extent *fresh(hm_place *pl, size_t len, size_t size, unsigned flags, hm_err *err) {
  hm_extent *e = hm_pool_alloc(&extent_pool);
  if (!e) {
    hm_err_sys(err, "mmap", -ENOMEM);
    return NULL;
  }
  e->pl = pl;
  e->len = len;
  e->unfaulted = len;
  e->zeroed = 1;
  e->addr = hm_extent_map(len);
  if (!e->addr) {
    hm_err_sys(err, "mmap", -errno);
    hm_pool_free(&extent_pool, e);
    return NULL;
  }
  if (pl->strict && hm_cap_take(e, err) != 0) {
    hm_unmap(e->addr, len);
    hm_pool_free(&extent_pool, e);
    return NULL;
  }
  int r = hm_mbind(e->addr, len, pl->mode, &pl->mask, 0);
  if (r != 0) {
    hm_place_mbind_err(err, pl, r);
    hm_extent_drop(e);
    return NULL;
  }
  if ((flags & HM_F_POPULATE) && populate_checked(e, size, err) != 0) {
    hm_extent_drop(e);
    return NULL;
  }
  return e; /* fresh anonymous memory reads as zero */
}

hm_extent *hm_extent_get(hm_place *pl, size_t size, unsigned flags, hm_err *err) {
  size_t len = hm_extent_length(size);
  hm_extent *e = NULL, *decayed = NULL;
  uint64_t now = hm_now_ns();
  pthread_mutex_lock(&pl->lock);
  if (len <= HM_CACHE_MAX_EXTENT) {
    /* The request's class, else one up to HM_REUSE_CLASSES above (at most
     * twice the length: the extra pages were faulted by an earlier owner
     * or stay untouched). */
    int bin = bin_of_pages(len / hm_page_size()), last = (flags & HM_F_EXACT) ? bin : bin + HM_REUSE_CLASSES;
    for (int b = bin; b <= last && b < HM_CACHE_BINS && !e; b++) e = pl->cache.bins[b];
    if (e) cache_unlink(&pl->cache, e);
  }
  decay_one(&pl->cache, now, &decayed);
  pthread_mutex_unlock(&pl->lock);
  drop_chain(decayed);
  if (!e) return fresh(pl, len, size, flags, err);
  if (reuse(e, size, flags, err) != 0) {
    hm_extent_drop(e);
    return NULL;
  }
  return e;
}

void hm_extent_put(hm_extent *e) {
  /* Only class-length extents can be cached (a bin pop trusts the length). */
  if (e->len > HM_CACHE_MAX_EXTENT || e->len != hm_extent_length(e->len)) {
    hm_extent_drop(e);
    return;
  }
  hm_place *pl = e->pl;
  hm_cache *c = &pl->cache;
  hm_extent *evicted = NULL;
  uint64_t now = hm_now_ns();
  pthread_mutex_lock(&pl->lock);
  cache_push(c, e, now);
  while (c->bytes > (c->limit ? c->limit : HM_CACHE_BYTES)) {
    hm_extent *old = c->lru_oldest;
    cache_unlink(c, old);
    old->bin_next = evicted;
    evicted = old;
  }
  decay_one(c, now, &evicted);
  pthread_mutex_unlock(&pl->lock);
  drop_chain(evicted);
}

void hm_extent_cache_limit(hm_place *pl, uint64_t bytes) {
  pthread_mutex_lock(&pl->lock);
  pl->cache.limit = bytes ? bytes : 1; /* 1: nothing fits, nothing is kept */
  pthread_mutex_unlock(&pl->lock);
}

void hm_extent_discard(hm_extent *e) {
  if (madvise(e->addr, e->len, MADV_DONTNEED) != 0) return; /* still valid memory: keep it as it is */
  set_unfaulted(e, e->len);
  e->zeroed = 1;
}

void hm_extent_drop(hm_extent *e) {
  hm_cap_give(e);
  hm_unmap(e->addr, e->len);
  hm_pool_free(&extent_pool, e);
}

uint64_t hm_extent_trim(hm_place *pl) {
  hm_extent *all = NULL;
  uint64_t bytes = 0;
  pthread_mutex_lock(&pl->lock);
  while (pl->cache.lru_oldest) {
    hm_extent *e = pl->cache.lru_oldest;
    cache_unlink(&pl->cache, e);
    bytes += e->len;
    e->bin_next = all;
    all = e;
  }
  pthread_mutex_unlock(&pl->lock);
  drop_chain(all);
  return bytes;
}

hm_extent *hm_extent_wrap(hm_place *pl, char *addr, size_t len) {
  hm_extent *e = hm_pool_alloc(&extent_pool);
  if (!e) return NULL;
  e->pl = pl;
  e->addr = addr;
  e->len = len;
  e->unfaulted = len;
  return e;
}

void hm_extent_unwrap(hm_extent *e) {
  hm_cap_give(e);
  hm_pool_free(&extent_pool, e);
}

void hm_extent_fork_lock(void) { hm_pool_lock(&extent_pool); }
void hm_extent_fork_unlock(void) { hm_pool_unlock(&extent_pool); }

char *hm_extent_map(size_t len) {
  if (len < HM_HUGE_BYTES) {
    char *p = hm_map(len);
    if (p) (void)hm_nohugepage(p, len); /* EINVAL: no THP in this kernel, nothing to prevent */
    return p;
  }
  char *p = hm_map_aligned(len, HM_HUGE_BYTES);
  size_t whole = len & ~(size_t)(HM_HUGE_BYTES - 1);
  if (p && whole != len) (void)hm_nohugepage(p + whole, len - whole);
  return p;
}
