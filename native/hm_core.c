/*
 * hm_core: placed allocation, registry and accounting. The design is in
 * hm_core.h; the parts worth reading first:
 *
 * Strict placements and running out of memory. With MPOL_BIND, a fault on a
 * node that has no free page does not fail: the kernel reclaims, then
 * OOM-kills a process chosen among *all* tasks (victim selection only looks
 * at task policies, and ours is a VMA policy). So before creating a mapping
 * under a strict placement we check that the nodes can hold it:
 *
 *     need + committed <= sum(MemFree(node) - reserve(node))
 *
 * where `committed` is what earlier lazy strict mappings of ours may still
 * fault in (their length minus their resident pages, from mincore). With
 * HM_F_POPULATE a strict large allocation is faulted in under
 * MPOL_PREFERRED first (which falls back instead of OOM-killing), the pages
 * are counted with move_pages, and only when every page landed on the
 * requested nodes is the range switched to MPOL_BIND; otherwise the mapping
 * is dropped and the caller gets ENOMEM. Other processes can still take the
 * memory between our check and a lazy fault: use populate when it matters.
 *
 * Accounting. used[node] is the sum of the sizes of live allocations,
 * charged to the placement's nodes (split by the placement's charge weights
 * for interleaved placements). It changes only under the lock, at allocation
 * and at release, never at finalizer time for already-released blocks, so
 * it is exact at every instant JS can observe.
 */
#define _GNU_SOURCE
#include "hm_core.h"

#include <assert.h>
#include <errno.h>
#include <numa.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HM_NCLASSES 40
#define HM_REC_SLAB 256

enum { ST_FREE_REC = 0, ST_LIVE = 1, ST_RELEASED = 2 };
enum { CLS_LARGE = -1, CLS_SEGMENTS = -2 };

/* A strict mapping that has not been populated: it may still fault in up to
 * `len` bytes on the placement's nodes. */
typedef struct hm_lazy {
  void *addr;
  size_t len;
  int pl;
  struct hm_lazy *prev, *next;
} hm_lazy;

typedef struct hm_cached {
  void *addr;
  size_t len;
  hm_lazy *lazy;
} hm_cached;

struct hm_placement {
  int mode;
  int n;
  int nodes[HM_PL_MAX_NODES];
  uint32_t charge[HM_PL_MAX_NODES];
  uint64_t charge_sum;
  hm_nodemask mask;
  int strict;
  /* arena */
  void *free_list[HM_NCLASSES];
  char *bump, *bump_end;
  /* large-mapping cache */
  hm_cached cache[HM_CACHE_SLOTS];
  int ncache;
  size_t cache_bytes;
};

struct hm_block {
  void *ptr;
  size_t size;    /* bytes handed out */
  size_t map_len; /* class size (small) or mapping length (large) */
  int cls;        /* size class, CLS_LARGE or CLS_SEGMENTS */
  int state;
  int pl;
  hm_seg *segs;
  int nsegs;
  hm_lazy *lazy;
  hm_block *next_rec;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static hm_placement *placements[HM_MAX_PLACEMENTS];
static int nplacements;
static hm_stats stats;
static hm_block *free_recs;
static hm_lazy *lazy_head;

/* ---- size classes ---------------------------------------------------- */

static int size_class(size_t size) {
  if (size <= 128) return (int)((size + 15) / 16) - 1 + (size == 0);
  size_t s = size - 1;
  int p = 63 - __builtin_clzll(s); /* size in (2^p, 2^(p+1)] */
  return 8 + (p - 7) * 4 + (int)((s - ((size_t)1 << p)) >> (p - 2));
}

static size_t class_size(int cls) {
  if (cls < 8) return (size_t)(cls + 1) * 16;
  int k = cls - 8, p = 7 + k / 4;
  return ((size_t)1 << p) + (size_t)((k % 4) + 1) * ((size_t)1 << (p - 2));
}

/* ---- registry: open addressing, linear probing, backward-shift delete -- */

static hm_block **table;
static size_t table_cap, table_len;

static size_t slot_of(const void *p) {
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ULL;
  return (size_t)(h >> 17) & (table_cap - 1);
}

static int table_grow(void) {
  size_t ncap = table_cap ? table_cap * 2 : 1024;
  hm_block **nt = calloc(ncap, sizeof *nt);
  if (!nt) return -1;
  hm_block **old = table;
  size_t ocap = table_cap;
  table = nt;
  table_cap = ncap;
  for (size_t i = 0; i < ocap; i++) {
    if (!old[i]) continue;
    size_t j = slot_of(old[i]->ptr);
    while (table[j]) j = (j + 1) & (table_cap - 1);
    table[j] = old[i];
  }
  free(old);
  return 0;
}

static int table_put(hm_block *b) {
  if ((table_len + 1) * 2 > table_cap && table_grow() != 0) return -1;
  size_t j = slot_of(b->ptr);
  while (table[j]) j = (j + 1) & (table_cap - 1);
  table[j] = b;
  table_len++;
  return 0;
}

static hm_block *table_get(const void *p) {
  if (!table_cap) return NULL;
  size_t j = slot_of(p);
  while (table[j]) {
    if (table[j]->ptr == p) return table[j];
    j = (j + 1) & (table_cap - 1);
  }
  return NULL;
}

static void table_del(const void *p) {
  size_t mask = table_cap - 1, j = slot_of(p);
  while (table[j] && table[j]->ptr != p) j = (j + 1) & mask;
  assert(table[j]);
  table[j] = NULL;
  table_len--;
  /* Backward shift: re-place the entries after the hole in the cluster. */
  for (size_t k = (j + 1) & mask; table[k]; k = (k + 1) & mask) {
    hm_block *e = table[k];
    size_t home = slot_of(e->ptr);
    /* Move e into the hole if its home is not in (j, k]. */
    int in_range = (j <= k) ? (home > j && home <= k) : (home > j || home <= k);
    if (!in_range) {
      table[j] = e;
      table[k] = NULL;
      j = k;
    }
  }
}

/* ---- records --------------------------------------------------------- */

static hm_block *rec_new(void) {
  if (!free_recs) {
    hm_block *slab = calloc(HM_REC_SLAB, sizeof *slab);
    if (!slab) return NULL;
    for (int i = 0; i < HM_REC_SLAB; i++) {
      slab[i].next_rec = free_recs;
      free_recs = &slab[i];
    }
  }
  hm_block *b = free_recs;
  free_recs = b->next_rec;
  memset(b, 0, sizeof *b);
  return b;
}

static void rec_free(hm_block *b) {
  b->state = ST_FREE_REC;
  b->next_rec = free_recs;
  free_recs = b;
}

/* ---- accounting ------------------------------------------------------ */

static void charge(const hm_placement *pl, size_t bytes, int sign) {
  if (pl->n == 1) {
    stats.used[pl->nodes[0]] += sign * (int64_t)bytes;
    return;
  }
  uint64_t given = 0;
  for (int i = 0; i < pl->n; i++) {
    uint64_t part = i == pl->n - 1 ? bytes - given : (uint64_t)bytes * pl->charge[i] / pl->charge_sum;
    given += part;
    stats.used[pl->nodes[i]] += sign * (int64_t)part;
  }
}

static void charge_block(const hm_block *b, int sign) {
  if (b->cls != CLS_SEGMENTS) {
    charge(placements[b->pl], b->size, sign);
    return;
  }
  for (int i = 0; i < b->nsegs; i++) {
    size_t off = b->segs[i].offset, len = b->segs[i].length;
    if (off >= b->size) break;
    if (off + len > b->size) len = b->size - off;
    charge(placements[b->segs[i].placement], len, sign);
  }
}

/* ---- strict capacity check ------------------------------------------- */

static hm_lazy *lazy_add(void *addr, size_t len, int pl) {
  hm_lazy *l = malloc(sizeof *l);
  if (!l) return NULL;
  l->addr = addr;
  l->len = len;
  l->pl = pl;
  l->prev = NULL;
  l->next = lazy_head;
  if (lazy_head) lazy_head->prev = l;
  lazy_head = l;
  return l;
}

static void lazy_del(hm_lazy *l) {
  if (!l) return;
  if (l->prev) l->prev->next = l->next;
  else lazy_head = l->next;
  if (l->next) l->next->prev = l->prev;
  free(l);
}

static int masks_intersect(const hm_nodemask *a, const hm_nodemask *b) {
  for (size_t i = 0; i < HM_MASK_WORDS; i++)
    if (a->bits[i] & b->bits[i]) return 1;
  return 0;
}

static int strict_check(const hm_placement *pl, size_t need, hm_err *err) {
  uint64_t avail = 0, reserve_sum = 0;
  for (int i = 0; i < pl->n; i++) {
    long long free_b = 0;
    long long total = numa_node_size64(pl->nodes[i], &free_b);
    if (total < 0) continue;
    uint64_t reserve = (uint64_t)total / HM_RESERVE_DIV;
    if (reserve < HM_RESERVE_MIN) reserve = HM_RESERVE_MIN;
    reserve_sum += reserve;
    if ((uint64_t)free_b > reserve) avail += (uint64_t)free_b - reserve;
  }
  uint64_t committed = 0;
  size_t ps = hm_os_page_size();
  for (hm_lazy *l = lazy_head; l; l = l->next) {
    if (!masks_intersect(&placements[l->pl]->mask, &pl->mask)) continue;
    int64_t res = hm_os_resident_pages(l->addr, l->len);
    uint64_t resident = res > 0 ? (uint64_t)res * ps : 0;
    if (resident < l->len) committed += l->len - resident;
  }
  if ((uint64_t)need + committed <= avail) return 0;
  err->code = HM_E_NOMEM;
  err->node = pl->n == 1 ? pl->nodes[0] : -1;
  err->requested = need;
  err->available = avail > committed ? avail - committed : 0;
  err->reserve = reserve_sum;
  err->committed = committed;
  return -1;
}

static void set_sys(hm_err *err, const char *call, int neg_errno) {
  err->code = HM_E_SYS;
  err->errnum = -neg_errno;
  err->syscall = call;
}

/* A failed populate: ENOMEM means the policy's nodes could not supply the
 * pages; anything else is the madvise call failing. */
static void set_populate_err(hm_err *err, const hm_placement *pl, int r, size_t len) {
  if (r == -ENOMEM) {
    err->code = HM_E_NOMEM;
    err->node = pl && pl->n == 1 ? pl->nodes[0] : -1;
    err->requested = len;
  } else {
    set_sys(err, "madvise", r);
  }
}

static void set_mbind_err(hm_err *err, const hm_placement *pl, int r) {
  if (r == -EINVAL && (pl->mode == HM_MPOL_WEIGHTED_INTERLEAVE || pl->mode == HM_MPOL_PREFERRED_MANY) &&
      !hm_os_mode_supported(pl->mode)) {
    err->code = HM_E_NOTSUP;
    err->errnum = EINVAL;
    err->syscall = "mbind";
    return;
  }
  set_sys(err, "mbind", r);
}

/* ---- public ---------------------------------------------------------- */

int hm_init(void) {
  pthread_mutex_lock(&lock);
  int r = 0;
  if (!table_cap) r = table_grow();
  pthread_mutex_unlock(&lock);
  (void)hm_os_page_size();
  return r;
}

int hm_placement_get(int mode, const int *nodes, const uint32_t *charge_w, int n, hm_err *err) {
  if (n < 1 || n > HM_PL_MAX_NODES) {
    err->code = HM_E_INVAL;
    return -HM_E_INVAL;
  }
  hm_placement key;
  memset(&key, 0, sizeof key);
  key.mode = mode;
  key.n = n;
  for (int i = 0; i < n; i++) {
    if (nodes[i] < 0 || nodes[i] >= HM_MAX_NODES || charge_w[i] == 0) {
      err->code = HM_E_INVAL;
      return -HM_E_INVAL;
    }
    key.nodes[i] = nodes[i];
    key.charge[i] = charge_w[i];
    key.charge_sum += charge_w[i];
    hm_mask_set(&key.mask, nodes[i]);
  }
  key.strict = mode == HM_MPOL_BIND;
  pthread_mutex_lock(&lock);
  int id = -1;
  for (int i = 0; i < nplacements && id < 0; i++) {
    hm_placement *p = placements[i];
    if (p->mode == key.mode && p->n == key.n && !memcmp(p->nodes, key.nodes, sizeof key.nodes) &&
        !memcmp(p->charge, key.charge, sizeof key.charge))
      id = i;
  }
  if (id < 0) {
    if (nplacements == HM_MAX_PLACEMENTS) {
      err->code = HM_E_INVAL;
      id = -HM_E_INVAL;
    } else {
      hm_placement *p = malloc(sizeof *p);
      if (!p) {
        err->code = HM_E_NOMEM;
        id = -HM_E_NOMEM;
      } else {
        *p = key;
        placements[nplacements] = p;
        id = nplacements++;
      }
    }
  }
  pthread_mutex_unlock(&lock);
  return id;
}

/* Map `len` bytes and apply the placement; NULL on error. */
static void *map_placed(hm_placement *pl, int plid, size_t len, unsigned flags, hm_lazy **lazy, hm_err *err) {
  if (pl->strict && strict_check(pl, len, err) != 0) return NULL;
  void *addr = hm_os_map(len);
  if (!addr) {
    set_sys(err, "mmap", -errno);
    return NULL;
  }
  int verify = pl->strict && (flags & HM_F_POPULATE);
  int first_mode = pl->mode;
  if (verify) {
    if (pl->n == 1) first_mode = HM_MPOL_PREFERRED;
    else if (hm_os_mode_supported(HM_MPOL_PREFERRED_MANY)) first_mode = HM_MPOL_PREFERRED_MANY;
    else verify = 0; /* no soft multi-node mode: rely on the capacity check */
  }
  int r = hm_os_mbind(addr, len, first_mode, &pl->mask, 0);
  if (r != 0) {
    hm_os_unmap(addr, len);
    set_mbind_err(err, pl, r);
    return NULL;
  }
  if (flags & HM_F_POPULATE) {
    r = hm_os_populate(addr, len);
    if (r != 0) {
      hm_os_unmap(addr, len);
      set_populate_err(err, pl, r, len);
      return NULL;
    }
  }
  if (verify) {
    uint64_t *counts = calloc(HM_MAX_NODES, sizeof *counts);
    uint64_t absent = 0, other = 0, on = 0;
    if (!counts) {
      hm_os_unmap(addr, len);
      set_sys(err, "calloc", -ENOMEM);
      return NULL;
    }
    r = hm_os_where(addr, len, counts, &absent, &other);
    for (int i = 0; i < pl->n; i++) on += counts[pl->nodes[i]];
    free(counts);
    size_t pages = len / hm_os_page_size();
    if (r != 0 || on != pages) {
      hm_os_unmap(addr, len);
      if (r != 0) {
        set_sys(err, "move_pages", r);
      } else {
        err->code = HM_E_NOMEM;
        err->node = pl->n == 1 ? pl->nodes[0] : -1;
        err->requested = len;
        err->available = on * hm_os_page_size();
      }
      return NULL;
    }
    r = hm_os_mbind(addr, len, pl->mode, &pl->mask, 0);
    if (r != 0) {
      hm_os_unmap(addr, len);
      set_mbind_err(err, pl, r);
      return NULL;
    }
  }
  *lazy = NULL;
  if (pl->strict && !(flags & HM_F_POPULATE)) {
    *lazy = lazy_add(addr, len, plid);
    if (!*lazy) {
      hm_os_unmap(addr, len);
      set_sys(err, "malloc", -ENOMEM);
      return NULL;
    }
  }
  return addr;
}

static void *alloc_small(hm_placement *pl, int plid, int cls, unsigned flags, hm_err *err) {
  size_t csize = class_size(cls);
  void *p = pl->free_list[cls];
  if (p) {
    pl->free_list[cls] = *(void **)p;
    if (flags & HM_F_ZERO) memset(p, 0, csize);
  } else {
    if (pl->bump + csize > pl->bump_end || !pl->bump) {
      hm_lazy *lazy;
      char *chunk = map_placed(pl, plid, HM_CHUNK_SIZE, 0, &lazy, err);
      if (!chunk) return NULL;
      stats.arena_bytes += HM_CHUNK_SIZE;
      pl->bump = chunk;
      pl->bump_end = chunk + HM_CHUNK_SIZE;
    }
    p = pl->bump; /* fresh from mmap: already zero */
    pl->bump += csize;
  }
  if (flags & HM_F_POPULATE) {
    size_t ps = hm_os_page_size();
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(ps - 1);
    uintptr_t e = ((uintptr_t)p + csize + ps - 1) & ~(uintptr_t)(ps - 1);
    int r = hm_os_populate((void *)a, e - a);
    if (r != 0) {
      *(void **)p = pl->free_list[cls];
      pl->free_list[cls] = p;
      set_populate_err(err, pl, r, csize);
      return NULL;
    }
  }
  return p;
}

static void *alloc_large(hm_placement *pl, int plid, size_t *lenp, size_t size, unsigned flags, hm_lazy **lazy, hm_err *err) {
  size_t len = *lenp;
  /* Reuse a cached mapping within 25% of the request. */
  for (int i = 0; i < pl->ncache; i++) {
    hm_cached c = pl->cache[i];
    if (c.len < len || c.len > len + len / 4) continue;
    pl->cache[i] = pl->cache[--pl->ncache];
    pl->cache_bytes -= c.len;
    stats.cached_bytes -= (int64_t)c.len;
    if (flags & HM_F_ZERO) memset(c.addr, 0, size);
    if (flags & HM_F_POPULATE) {
      int r = hm_os_populate(c.addr, c.len);
      if (r != 0) {
        lazy_del(c.lazy);
        hm_os_unmap(c.addr, c.len);
        set_populate_err(err, pl, r, c.len);
        return NULL;
      }
      lazy_del(c.lazy);
      c.lazy = NULL;
    }
    *lazy = c.lazy;
    *lenp = c.len;
    return c.addr;
  }
  return map_placed(pl, plid, len, flags, lazy, err);
}

static size_t round_pages(size_t n) {
  size_t ps = hm_os_page_size();
  return (n + ps - 1) & ~(ps - 1);
}

/* Make sure the registry can take one more entry, so that registering a
 * block that already holds memory cannot fail. */
static int registry_reserve(hm_err *err) {
  if ((table_len + 1) * 2 > table_cap && table_grow() != 0) {
    set_sys(err, "malloc", -ENOMEM);
    return -1;
  }
  return 0;
}

static hm_block *finish_block(hm_block *b) {
  int r = table_put(b);
  assert(r == 0);
  (void)r;
  b->state = ST_LIVE;
  charge_block(b, +1);
  stats.live_count++;
  return b;
}

hm_block *hm_alloc(int plid, size_t size, unsigned flags, hm_err *err) {
  if (size == 0 || plid < 0) {
    err->code = HM_E_INVAL;
    return NULL;
  }
  pthread_mutex_lock(&lock);
  hm_block *out = NULL;
  if (plid >= nplacements) {
    err->code = HM_E_INVAL;
    goto done;
  }
  hm_placement *pl = placements[plid];
  if (registry_reserve(err) != 0) goto done;
  hm_block *b = rec_new();
  if (!b) {
    set_sys(err, "malloc", -ENOMEM);
    goto done;
  }
  b->size = size;
  b->pl = plid;
  if (size <= HM_SMALL_MAX) {
    b->cls = size_class(size);
    b->map_len = class_size(b->cls);
    b->ptr = alloc_small(pl, plid, b->cls, flags, err);
  } else {
    b->cls = CLS_LARGE;
    b->map_len = round_pages(size);
    b->ptr = alloc_large(pl, plid, &b->map_len, size, flags, &b->lazy, err);
  }
  if (!b->ptr) {
    rec_free(b);
    goto done;
  }
  if (b->cls == CLS_LARGE) stats.large_bytes += (int64_t)b->map_len;
  out = finish_block(b);
done:
  pthread_mutex_unlock(&lock);
  return out;
}

hm_block *hm_alloc_segments(size_t size, const hm_seg *segs, int nsegs, unsigned flags, hm_err *err) {
  size_t len = round_pages(size);
  if (size == 0 || nsegs < 1) {
    err->code = HM_E_INVAL;
    return NULL;
  }
  hm_seg *copy = malloc(sizeof *copy * (size_t)nsegs);
  if (!copy) {
    set_sys(err, "malloc", -ENOMEM);
    return NULL;
  }
  memcpy(copy, segs, sizeof *copy * (size_t)nsegs);
  pthread_mutex_lock(&lock);
  hm_block *out = NULL;
  void *addr = NULL;
  /* Validate: sorted, page-aligned, contiguous, covering [0, len). */
  size_t at = 0, ps = hm_os_page_size();
  for (int i = 0; i < nsegs; i++) {
    if (copy[i].offset != at || copy[i].length == 0 || copy[i].length % ps || copy[i].placement < 0 ||
        copy[i].placement >= nplacements) {
      err->code = HM_E_INVAL;
      goto fail;
    }
    at += copy[i].length;
  }
  if (at != len) {
    err->code = HM_E_INVAL;
    goto fail;
  }
  /* Capacity check per strict placement, for the bytes it receives. */
  for (int i = 0; i < nsegs; i++) {
    hm_placement *pl = placements[copy[i].placement];
    if (!pl->strict) continue;
    size_t need = 0;
    int first = 1;
    for (int k = 0; k < nsegs; k++) {
      if (copy[k].placement != copy[i].placement) continue;
      if (k < i) first = 0;
      need += copy[k].length;
    }
    if (first && strict_check(pl, need, err) != 0) goto fail;
  }
  if (registry_reserve(err) != 0) goto fail;
  addr = hm_os_map(len);
  if (!addr) {
    set_sys(err, "mmap", -errno);
    goto fail;
  }
  for (int i = 0; i < nsegs; i++) {
    hm_placement *pl = placements[copy[i].placement];
    int r = hm_os_mbind((char *)addr + copy[i].offset, copy[i].length, pl->mode, &pl->mask, 0);
    if (r != 0) {
      set_mbind_err(err, pl, r);
      goto fail;
    }
  }
  if (flags & HM_F_POPULATE) {
    int r = hm_os_populate(addr, len);
    if (r != 0) {
      set_populate_err(err, NULL, r, len);
      goto fail;
    }
  }
  hm_block *b = rec_new();
  if (!b) {
    set_sys(err, "malloc", -ENOMEM);
    goto fail;
  }
  b->ptr = addr;
  b->size = size;
  b->map_len = len;
  b->cls = CLS_SEGMENTS;
  b->pl = copy[0].placement;
  b->segs = copy;
  b->nsegs = nsegs;
  stats.large_bytes += (int64_t)len;
  out = finish_block(b);
  pthread_mutex_unlock(&lock);
  return out;
fail:
  if (addr) hm_os_unmap(addr, len);
  pthread_mutex_unlock(&lock);
  free(copy);
  return NULL;
}

void *hm_block_ptr(const hm_block *b) { return b->ptr; }
size_t hm_block_size(const hm_block *b) { return b->size; }

hm_block *hm_lookup(const void *ptr, size_t size) {
  pthread_mutex_lock(&lock);
  hm_block *b = table_get(ptr);
  if (b && (b->state != ST_LIVE || b->size != size)) b = NULL;
  pthread_mutex_unlock(&lock);
  return b;
}

/* Return b's memory. Lock held; b is live. */
static void release_locked(hm_block *b) {
  assert(b->state == ST_LIVE);
  table_del(b->ptr);
  charge_block(b, -1);
  stats.live_count--;
  hm_placement *pl = placements[b->pl];
  if (b->cls >= 0) {
    *(void **)b->ptr = pl->free_list[b->cls];
    pl->free_list[b->cls] = b->ptr;
  } else {
    stats.large_bytes -= (int64_t)b->map_len;
    if (b->cls == CLS_LARGE && pl->ncache < HM_CACHE_SLOTS && pl->cache_bytes + b->map_len <= HM_CACHE_MAX_BYTES) {
      pl->cache[pl->ncache++] = (hm_cached){b->ptr, b->map_len, b->lazy};
      pl->cache_bytes += b->map_len;
      stats.cached_bytes += (int64_t)b->map_len;
    } else {
      lazy_del(b->lazy);
      hm_os_unmap(b->ptr, b->map_len);
    }
    free(b->segs);
    b->segs = NULL;
  }
  b->lazy = NULL;
  b->ptr = NULL;
  b->state = ST_RELEASED;
}

void hm_release(hm_block *b) {
  pthread_mutex_lock(&lock);
  if (b->state == ST_LIVE) {
    release_locked(b);
    stats.pending_finalizers++;
  }
  pthread_mutex_unlock(&lock);
}

void hm_finalize(hm_block *b) {
  pthread_mutex_lock(&lock);
  if (b->state == ST_LIVE) release_locked(b);
  else stats.pending_finalizers--;
  rec_free(b);
  pthread_mutex_unlock(&lock);
}

int hm_migrate(hm_block *b, int plid, uint64_t *on_target, uint64_t *total, hm_err *err) {
  pthread_mutex_lock(&lock);
  int ret = -1;
  if (b->state != ST_LIVE || plid < 0 || plid >= nplacements) {
    err->code = HM_E_INVAL;
    goto done;
  }
  if (b->cls >= 0) {
    err->code = HM_E_NOTSUP;
    err->errnum = EINVAL;
    err->syscall = "migrate";
    goto done;
  }
  hm_placement *pl = placements[plid];
  /* Under a strict target, resident pages move there and the rest will
   * fault there: the whole mapping must fit. */
  if (pl->strict && strict_check(pl, b->map_len, err) != 0) goto done;
  int r = hm_os_mbind(b->ptr, b->map_len, pl->mode, &pl->mask, HM_MF_MOVE);
  /* EIO: some pages could not be moved (busy, target full); counted below. */
  if (r != 0 && r != -EIO) {
    set_mbind_err(err, pl, r);
    goto done;
  }
  charge_block(b, -1);
  b->pl = plid;
  b->cls = CLS_LARGE;
  free(b->segs);
  b->segs = NULL;
  b->nsegs = 0;
  charge_block(b, +1);
  lazy_del(b->lazy);
  b->lazy = pl->strict ? lazy_add(b->ptr, b->map_len, plid) : NULL;
  uint64_t *counts = calloc(HM_MAX_NODES, sizeof *counts);
  uint64_t absent = 0, other = 0, on = 0, all = 0;
  if (!counts || hm_os_where(b->ptr, b->map_len, counts, &absent, &other) != 0) {
    free(counts);
    set_sys(err, "move_pages", -EFAULT);
    goto done;
  }
  for (int i = 0; i < HM_MAX_NODES; i++) {
    all += counts[i];
    if (hm_mask_isset(&pl->mask, i)) on += counts[i];
  }
  free(counts);
  *on_target = on;
  *total = all;
  ret = 0;
done:
  pthread_mutex_unlock(&lock);
  return ret;
}

void hm_get_stats(hm_stats *out) {
  pthread_mutex_lock(&lock);
  *out = stats;
  pthread_mutex_unlock(&lock);
}

uint64_t hm_trim(void) {
  uint64_t n = 0;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < nplacements; i++) {
    hm_placement *pl = placements[i];
    for (int k = 0; k < pl->ncache; k++) {
      lazy_del(pl->cache[k].lazy);
      hm_os_unmap(pl->cache[k].addr, pl->cache[k].len);
      n += pl->cache[k].len;
    }
    pl->ncache = 0;
    pl->cache_bytes = 0;
  }
  stats.cached_bytes = 0;
  pthread_mutex_unlock(&lock);
  return n;
}
