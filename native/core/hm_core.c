/*
 * hm_core: blocks, the registry, the quarantine, statistics. The design is
 * in hm_core.h.
 *
 * Accounting: used[node] is the sum of the sizes of live blocks, charged to
 * their placement's nodes (split by the charge weights) or, for stripes, by
 * the bytes each node's ranges hold. It changes at allocation and at free,
 * never at finalizer time for a block JS already freed, so it is exact at
 * every instant JS can observe.
 */
#include "hm_core.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hm_capacity.h"
#include "hm_meta.h"
#include "hm_place.h"
#include "hm_stripe.h"

enum { REC_FREE = 0, REC_LIVE, REC_QUARANTINED, REC_RELEASING };
enum { KIND_SMALL = 1, KIND_LARGE, KIND_STRIPE };

typedef struct stripe_charge {
  int n;
  int nodes[HM_STRIPE_MAX_NODES];
  uint64_t bytes[HM_STRIPE_MAX_NODES];
} stripe_charge;

struct hm_block {
  char *ptr;
  size_t size;
  size_t footprint; /* bytes the block holds (slot, extent or mapping) */
  uint32_t index;
  /* generation << 32 | JS holds not yet finalized (the backing store and the
   * ArrayBuffer object): one atomic word, so a finalizer that is not the
   * last one, or arrives for a recycled record, needs no lock. */
  uint64_t tag;
  int state, kind;
  hm_place *pl;                  /* small and large */
  hm_slot slot;                  /* small */
  hm_extent *ext;                /* large */
  char *map;                     /* stripe mapping */
  size_t map_len;                /* stripe mapping length */
  stripe_charge *sc;             /* stripe per-node bytes */
  struct hm_block *q_prev, *q_next;
  uint32_t next_free;
};

static pthread_mutex_t reg_lock = HM_LOCK_INIT;

/* ---- statistics (atomics: read without the lock) ------------------------ */

static int64_t st_used[HM_MAX_NODES];
static int64_t st_live, st_large, st_quarantined, st_pending;

static void add(int64_t *v, int64_t d) { __atomic_fetch_add(v, d, __ATOMIC_RELAXED); }

static void charge(const hm_block *b, int sign) {
  if (b->kind == KIND_STRIPE) {
    for (int i = 0; i < b->sc->n; i++) add(&st_used[b->sc->nodes[i]], sign * (int64_t)b->sc->bytes[i]);
  } else {
    for (int i = 0; i < b->pl->n; i++) add(&st_used[b->pl->nodes[i]], sign * (int64_t)hm_place_share(b->pl, i, b->size));
  }
  add(&st_live, sign);
  if (b->kind == KIND_LARGE) add(&st_large, sign * (int64_t)b->ext->len);
  if (b->kind == KIND_STRIPE) add(&st_large, sign * (int64_t)b->map_len);
}

/* ---- records: index + generation ------------------------------------- */

static uint32_t tag_gen(uint64_t tag) { return (uint32_t)(tag >> 32); }
static uint32_t tag_holds(uint64_t tag) { return (uint32_t)tag; }

#define REC_CHUNK 4096
#define REC_CHUNKS 16384
static hm_block *rec_chunks[REC_CHUNKS];
static uint32_t rec_count, rec_free_head = UINT32_MAX;

static hm_block *rec_at(uint32_t index) {
  uint32_t c = index / REC_CHUNK;
  hm_block *chunk = c < REC_CHUNKS ? __atomic_load_n(&rec_chunks[c], __ATOMIC_ACQUIRE) : NULL;
  return chunk ? &chunk[index % REC_CHUNK] : NULL;
}

/* Lock held. */
static hm_block *rec_new(void) {
  hm_block *b;
  if (rec_free_head != UINT32_MAX) {
    b = rec_at(rec_free_head);
    rec_free_head = b->next_free;
  } else {
    uint32_t c = rec_count / REC_CHUNK;
    if (c >= REC_CHUNKS) return NULL;
    if (!rec_chunks[c]) {
      hm_block *chunk = hm_meta_map(sizeof(hm_block) * REC_CHUNK);
      if (!chunk) return NULL;
      __atomic_store_n(&rec_chunks[c], chunk, __ATOMIC_RELEASE);
    }
    b = &rec_chunks[c][rec_count % REC_CHUNK];
    b->index = rec_count++;
  }
  uint32_t index = b->index, gen = tag_gen(b->tag) + 1;
  memset(b, 0, sizeof *b);
  b->index = index;
  b->tag = (uint64_t)(gen ? gen : 1) << 32;
  return b;
}

/* Lock held. The generation changes, so an old handle no longer matches. */
static void rec_free(hm_block *b) {
  b->state = REC_FREE;
  __atomic_store_n(&b->tag, (uint64_t)(tag_gen(b->tag) + 1) << 32, __ATOMIC_RELEASE);
  b->next_free = rec_free_head;
  rec_free_head = b->index;
}

/* ---- registry: address -> live block; open addressing, linear probing -- */

static hm_block **table;
static size_t table_cap, table_len;

static size_t slot_of(const void *p) {
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ULL;
  return (size_t)(h >> 17) & (table_cap - 1);
}

static int table_grow(void) {
  size_t ncap = table_cap ? table_cap * 2 : 4096;
  hm_block **nt = hm_meta_map(ncap * sizeof *nt);
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
  if (old) hm_meta_unmap(old, ocap * sizeof *old);
  return 0;
}

static void table_put(hm_block *b) {
  size_t j = slot_of(b->ptr);
  while (table[j]) j = (j + 1) & (table_cap - 1);
  table[j] = b;
  table_len++;
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
    size_t home = slot_of(table[k]->ptr);
    int in_range = (j <= k) ? (home > j && home <= k) : (home > j || home <= k);
    if (!in_range) {
      table[j] = table[k];
      table[k] = NULL;
      j = k;
    }
  }
}

/* ---- quarantine: FIFOs of freed blocks (lock held) ------------------------
 * Two, so that a burst of large frees cannot push the small blocks out early
 * and a synchronous loop of small frees stays within its own bound. */

typedef struct quarantine {
  hm_block *oldest, *newest;
  uint64_t bytes, count, max_bytes, max_count;
} quarantine;

static quarantine q_small = {NULL, NULL, 0, 0, HM_QUARANTINE_SMALL_BYTES, HM_QUARANTINE_SMALL_BLOCKS};
static quarantine q_large = {NULL, NULL, 0, 0, HM_QUARANTINE_LARGE_BYTES, HM_QUARANTINE_LARGE_BLOCKS};

static quarantine *q_of(const hm_block *b) { return b->kind == KIND_SMALL ? &q_small : &q_large; }

static void q_push(hm_block *b) {
  quarantine *q = q_of(b);
  b->q_next = NULL;
  b->q_prev = q->newest;
  if (q->newest) q->newest->q_next = b;
  else q->oldest = b;
  q->newest = b;
  q->bytes += b->footprint;
  q->count++;
  add(&st_quarantined, (int64_t)b->footprint);
  add(&st_pending, 1);
}

static void q_unlink(hm_block *b) {
  quarantine *q = q_of(b);
  if (b->q_prev) b->q_prev->q_next = b->q_next;
  else q->oldest = b->q_next;
  if (b->q_next) b->q_next->q_prev = b->q_prev;
  else q->newest = b->q_prev;
  b->q_prev = b->q_next = NULL;
  q->bytes -= b->footprint;
  q->count--;
  add(&st_quarantined, -(int64_t)b->footprint);
  add(&st_pending, -1);
}

/* JS holds still outstanding on blocks recycled early (their finalizers
 * will find a new generation). */
static int64_t stale_holds, stale_peak; /* atomic */

/* Move b from the quarantine onto a release chain. Its outstanding holds
 * become stale at once (a finalizer that comes later finds no hold left). */
static void q_release(hm_block *b, hm_block ***tail) {
  uint64_t t = __atomic_exchange_n(&b->tag, (uint64_t)tag_gen(b->tag) << 32, __ATOMIC_ACQ_REL);
  int64_t stale = __atomic_add_fetch(&stale_holds, tag_holds(t), __ATOMIC_RELAXED);
  if (stale > __atomic_load_n(&stale_peak, __ATOMIC_RELAXED)) __atomic_store_n(&stale_peak, stale, __ATOMIC_RELAXED);
  q_unlink(b);
  b->state = REC_RELEASING;
  **tail = b;
  *tail = &b->q_next;
}

/* ---- memory release (no lock held) ------------------------------------ */

static void release_memory(hm_block *b) {
  switch (b->kind) {
  case KIND_SMALL: hm_small_free(b->pl, b->slot); break;
  case KIND_LARGE: hm_extent_put(b->ext); break;
  default: hm_unmap(b->map, b->map_len); break;
  }
}

static hm_pool stripe_pool = HM_POOL_INIT(sizeof(stripe_charge));

/* Release a chain (linked by q_next) of RELEASING blocks and recycle their records. */
static void release_chain(hm_block *b) {
  while (b) {
    hm_block *next = b->q_next;
    release_memory(b);
    hm_pool_free(&stripe_pool, b->sc);
    pthread_mutex_lock(&reg_lock);
    rec_free(b);
    pthread_mutex_unlock(&reg_lock);
    b = next;
  }
}

/* ---- public ---------------------------------------------------------- */

int hm_init(void) {
  pthread_mutex_lock(&reg_lock);
  int r = table_cap ? 0 : table_grow();
  pthread_mutex_unlock(&reg_lock);
  (void)hm_page_size();
  return r;
}

/* Register a block that holds memory; on failure the caller releases it. */
static hm_block *publish(hm_block *proto, hm_err *err) {
  pthread_mutex_lock(&reg_lock);
  hm_block *b = NULL;
  if ((table_len + 1) * 2 > table_cap && table_grow() != 0) goto out;
  if (!(b = rec_new())) goto out;
  uint32_t index = b->index;
  uint64_t tag = b->tag;
  *b = *proto;
  b->index = index;
  b->state = REC_LIVE;
  __atomic_store_n(&b->tag, tag | HM_JS_HOLDS, __ATOMIC_RELEASE);
  table_put(b);
  charge(b, +1);
out:
  pthread_mutex_unlock(&reg_lock);
  if (!b) hm_err_sys(err, "mmap", -ENOMEM);
  return b;
}

/* A strict placement ran out: the quarantine yields first. Its blocks of
 * this placement become reusable (or are unmapped) now. Returns how many. */
static int flush_quarantine(const hm_place *pl) {
  hm_block *chain = NULL, **tail = &chain;
  int n = 0;
  pthread_mutex_lock(&reg_lock);
  quarantine *qs[2] = {&q_small, &q_large};
  for (int k = 0; k < 2; k++)
    for (hm_block *b = qs[k]->oldest, *next; b; b = next) {
      next = b->q_next;
      if (b->pl == pl) {
        q_release(b, &tail);
        n++;
      }
    }
  pthread_mutex_unlock(&reg_lock);
  release_chain(chain);
  return n;
}

static hm_block *alloc_once(hm_place *pl, size_t size, size_t align, unsigned flags, hm_err *err);

hm_block *hm_alloc(int plid, size_t size, size_t align, unsigned flags, hm_err *err) {
  hm_place *pl = hm_place_at(plid);
  size_t ps = hm_page_size();
  if (!pl || size == 0 || (align & (align - 1)) || align > ps) {
    err->code = HM_E_INVAL;
    return NULL;
  }
  hm_block *b = alloc_once(pl, size, align, flags, err);
  if (!b && err->code == HM_E_NOMEM && pl->strict && flush_quarantine(pl) > 0) {
    hm_err retry = {.node = -1};
    b = alloc_once(pl, size, align, flags, &retry);
    if (!b) *err = retry;
  }
  return b;
}

static hm_block *alloc_once(hm_place *pl, size_t size, size_t align, unsigned flags, hm_err *err) {
  hm_block proto;
  memset(&proto, 0, sizeof proto);
  proto.size = size;
  proto.pl = pl;
  int cls = hm_small_class(size, align);
  if (cls >= 0) {
    proto.kind = KIND_SMALL;
    proto.ptr = hm_small_alloc(pl, cls, flags, &proto.slot, err);
    if (!proto.ptr) return NULL;
    proto.footprint = hm_small_class_size(cls);
  } else {
    proto.kind = KIND_LARGE;
    proto.ext = hm_extent_get(pl, size, flags, err);
    if (!proto.ext) return NULL;
    proto.ptr = proto.ext->addr;
    proto.footprint = proto.ext->len;
  }
  hm_block *b = publish(&proto, err);
  if (!b) release_memory(&proto);
  return b;
}

hm_block *hm_alloc_stripe(size_t size, const int *nodes, const uint32_t *weights, int n, uint64_t stripe_bytes,
                          unsigned flags, hm_err *err) {
  size_t ps = hm_page_size();
  uint64_t unit = hm_stripe_unit(size, weights, n, stripe_bytes, ps, HM_STRIPE_MAX_SEGMENTS);
  if (!unit) {
    err->code = HM_E_INVAL;
    return NULL;
  }
  int ids[HM_STRIPE_MAX_NODES];
  for (int i = 0; i < n; i++) {
    uint32_t one = 1;
    ids[i] = hm_place_get(HM_MPOL_PREFERRED, &nodes[i], &one, 1, err);
    if (ids[i] < 0) return NULL;
  }
  size_t seg_bytes = sizeof(hm_stripe_seg) * HM_STRIPE_MAX_SEGMENTS;
  hm_stripe_seg *segs = hm_meta_map(seg_bytes);
  stripe_charge *sc = hm_pool_alloc(&stripe_pool);
  size_t len = hm_round_pages(size);
  char *map = segs && sc ? hm_extent_map(len) : NULL;
  if (!map) {
    hm_err_sys(err, "mmap", -ENOMEM);
    goto fail;
  }
  int count = hm_stripe_layout(size, weights, n, unit, segs, HM_STRIPE_MAX_SEGMENTS);
  if (count < 0) {
    err->code = HM_E_INVAL;
    goto fail;
  }
  sc->n = n;
  for (int i = 0; i < n; i++) sc->nodes[i] = nodes[i];
  for (int k = 0; k < count; k++) {
    hm_place *pl = hm_place_at(ids[segs[k].node_index]);
    int r = hm_mbind(map + segs[k].offset, (size_t)segs[k].length, pl->mode, &pl->mask, 0);
    if (r != 0) {
      hm_place_mbind_err(err, pl, r);
      goto fail;
    }
    sc->bytes[segs[k].node_index] += segs[k].length;
  }
  if (flags & HM_F_POPULATE) {
    int r = hm_populate(map, len);
    if (r != 0) {
      hm_err_sys(err, "madvise", r);
      goto fail;
    }
  }
  hm_meta_unmap(segs, seg_bytes);
  segs = NULL;
  hm_block proto;
  memset(&proto, 0, sizeof proto);
  proto.kind = KIND_STRIPE;
  proto.ptr = map;
  proto.size = size;
  proto.map = map;
  proto.map_len = len;
  proto.footprint = len;
  proto.sc = sc;
  hm_block *b = publish(&proto, err);
  if (b) return b;
fail:
  if (segs) hm_meta_unmap(segs, seg_bytes);
  hm_pool_free(&stripe_pool, sc);
  hm_unmap(map, len);
  return NULL;
}

void *hm_block_ptr(const hm_block *b) { return b->ptr; }
size_t hm_block_size(const hm_block *b) { return b->size; }
uint64_t hm_block_handle(const hm_block *b) { return ((uint64_t)tag_gen(b->tag) << 32) | b->index; }

hm_block *hm_lookup(const void *ptr, size_t size) {
  pthread_mutex_lock(&reg_lock);
  hm_block *b = table_get(ptr);
  if (b && (b->state != REC_LIVE || b->size != size)) b = NULL;
  pthread_mutex_unlock(&reg_lock);
  return b;
}

void hm_free(hm_block *b) {
  hm_block *chain = NULL, **tail = &chain;
  pthread_mutex_lock(&reg_lock);
  if (b->state == REC_LIVE) {
    table_del(b->ptr);
    charge(b, -1);
    b->state = REC_QUARANTINED;
    q_push(b);
    /* Over the bound: the oldest quarantined blocks become reusable now. */
    quarantine *q = q_of(b);
    while (q->oldest && (q->bytes > q->max_bytes || q->count > q->max_count)) q_release(q->oldest, &tail);
  }
  pthread_mutex_unlock(&reg_lock);
  release_chain(chain);
}

#ifdef __GLIBC__
#include <malloc.h>
#endif

/* After a burst of frees whose finalizers were pending (a synchronous
 * loop), Node's per-buffer finalizer records were freed into the C heap in
 * bulk: hand that memory back to the kernel once the backlog is gone. */
#define TRIM_AFTER_STALE 65536

static void backlog_done(void) {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

/* A hold of a recycled record (or of one recycled early) was finalized. */
static void stale_done(void) {
  if (__atomic_sub_fetch(&stale_holds, 1, __ATOMIC_RELAXED) == 0 &&
      __atomic_exchange_n(&stale_peak, 0, __ATOMIC_RELAXED) >= TRIM_AFTER_STALE)
    backlog_done();
}

void hm_finalize(uint64_t handle) {
  uint32_t index = (uint32_t)handle, gen = (uint32_t)(handle >> 32);
  hm_block *b = rec_at(index);
  if (!b) return;
  /* Not the last hold: one compare-and-swap, no lock. */
  uint64_t t = __atomic_load_n(&b->tag, __ATOMIC_ACQUIRE);
  for (;;) {
    if (tag_gen(t) != gen || tag_holds(t) == 0) {
      /* Freed by JS and recycled early (the quarantine overflowed or
       * yielded to a strict allocation): a new generation, or no hold left. */
      stale_done();
      return;
    }
    if (tag_holds(t) == 1) break;
    if (__atomic_compare_exchange_n(&b->tag, &t, t - 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
  }
  hm_block *release = NULL;
  int stale = 0;
  pthread_mutex_lock(&reg_lock);
  t = __atomic_load_n(&b->tag, __ATOMIC_ACQUIRE);
  if (tag_gen(t) != gen || tag_holds(t) == 0) {
    stale = 1; /* recycled between the look and the lock */
  } else {
    /* The last hold (holds only fall, and a new generation means a new block). */
    __atomic_store_n(&b->tag, t - 1, __ATOMIC_RELEASE);
    if (b->state == REC_LIVE) {
      /* Garbage collected without a free. */
      table_del(b->ptr);
      charge(b, -1);
      b->state = REC_RELEASING;
      release = b;
    } else if (b->state == REC_QUARANTINED) {
      hm_block **tail = &release;
      q_release(b, &tail);
    }
  }
  pthread_mutex_unlock(&reg_lock);
  if (stale) stale_done();
  if (release) {
    release->q_next = NULL;
    release_chain(release);
  }
}

/* The pages around [addr, addr+len) that could share a huge page with it:
 * up to 2 MiB - 1 page on each side, cut at the 2 MiB boundaries. */
typedef struct flanks {
  char *head, *tail;
  size_t head_pages, tail_pages;
  int before[2 * HM_FLANK_PAGES], after[2 * HM_FLANK_PAGES];
} flanks;

static void flanks_init(flanks *f, char *addr, size_t len) {
  size_t ps = hm_page_size();
  uintptr_t a = (uintptr_t)addr, end = a + len, huge = HM_HUGE_BYTES;
  f->head = (char *)(a & ~(huge - 1));
  f->head_pages = (a - (uintptr_t)f->head) / ps;
  f->tail = (char *)end;
  f->tail_pages = (((end + huge - 1) & ~(huge - 1)) - end) / ps;
}

/* Node of every flank page into `into` (head first). 0 or -errno. */
static int flanks_read(const flanks *f, int *into) {
  int r = f->head_pages ? hm_move_pages(0, (uintptr_t)f->head, f->head_pages, -1, into) : 0;
  if (r == 0 && f->tail_pages) r = hm_move_pages(0, (uintptr_t)f->tail, f->tail_pages, -1, into + f->head_pages);
  return r;
}

int hm_migrate(hm_block *b, int plid, hm_migrate_result *res, hm_err *err) {
  hm_place *to = hm_place_at(plid);
  if (!to || b->state != REC_LIVE) {
    err->code = HM_E_INVAL;
    return -1;
  }
  if (b->kind == KIND_SMALL) {
    err->code = HM_E_NOTSUP;
    err->errnum = EINVAL;
    err->syscall = "migrate";
    return -1;
  }
  hm_extent *e = b->ext;
  if (b->kind == KIND_STRIPE) {
    /* A stripe's ranges are soft (preferred): wrap it as an uncharged extent. */
    uint32_t one = 1;
    int soft = hm_place_get(HM_MPOL_PREFERRED, &b->sc->nodes[0], &one, 1, err);
    if (soft < 0) return -1;
    if (!(e = hm_extent_wrap(hm_place_at(soft), b->map, b->map_len))) {
      hm_err_sys(err, "mmap", -ENOMEM);
      return -1;
    }
  }
  hm_place *from = e->pl;
  /* A strict target must hold the whole mapping: resident pages move there
   * and the rest will fault there. */
  if (hm_cap_rebind(e, to, err) != 0) {
    if (b->kind == KIND_STRIPE) hm_extent_unwrap(e);
    return -1;
  }
  /* Before: which pages are on the target already, and where the pages
   * that could share a huge page with the buffer are. */
  static _Thread_local flanks fl;
  flanks_init(&fl, e->addr, e->len);
  int64_t on_before = hm_pages_on(e->addr, e->len, &to->mask);
  int fr = flanks_read(&fl, fl.before);
  int r = hm_mbind(e->addr, e->len, to->mode, &to->mask, HM_MF_MOVE);
  /* EIO: some pages could not be moved (busy, target full); counted below. */
  if (r != 0 && r != -EIO) {
    hm_place_mbind_err(err, to, r);
    hm_err scratch;
    if (b->kind == KIND_STRIPE) hm_extent_unwrap(e);
    else hm_cap_rebind(e, from, &scratch);
    return -1;
  }
  pthread_mutex_lock(&reg_lock);
  charge(b, -1);
  if (b->kind == KIND_STRIPE) {
    hm_pool_free(&stripe_pool, b->sc);
    b->sc = NULL;
    b->kind = KIND_LARGE;
    b->ext = e;
  }
  b->pl = to;
  charge(b, +1);
  pthread_mutex_unlock(&reg_lock);
  uint64_t counts[HM_MAX_NODES];
  uint64_t absent = 0, other = 0, on = 0, all = 0;
  memset(counts, 0, sizeof counts);
  if ((r = hm_where(e->addr, e->len, counts, &absent, &other)) != 0) {
    hm_err_sys(err, "move_pages", r);
    return -1;
  }
  for (int i = 0; i < HM_MAX_NODES; i++) {
    all += counts[i];
    if (hm_mask_isset(&to->mask, i)) on += counts[i];
  }
  res->on_target = on;
  res->total = all;
  res->moved = on_before >= 0 && on > (uint64_t)on_before ? on - (uint64_t)on_before : 0;
  res->neighbour_moved = 0;
  if (fr == 0 && flanks_read(&fl, fl.after) == 0) {
    for (size_t i = 0; i < fl.head_pages + fl.tail_pages; i++)
      if (fl.before[i] >= 0 && fl.after[i] >= 0 && fl.before[i] != fl.after[i]) res->neighbour_moved++;
  }
  return 0;
}

void hm_get_stats(hm_stats *out) {
  for (int i = 0; i < HM_MAX_NODES; i++) out->used[i] = __atomic_load_n(&st_used[i], __ATOMIC_RELAXED);
  out->live_count = __atomic_load_n(&st_live, __ATOMIC_RELAXED);
  out->large_bytes = __atomic_load_n(&st_large, __ATOMIC_RELAXED);
  out->quarantined_bytes = __atomic_load_n(&st_quarantined, __ATOMIC_RELAXED);
  out->pending_finalizers = __atomic_load_n(&st_pending, __ATOMIC_RELAXED);
  out->arena_bytes = (int64_t)hm_arena_bytes();
  out->cached_bytes = (int64_t)hm_extent_cached_bytes();
}

uint64_t hm_trim(void) {
  uint64_t n = 0;
  for (int i = 0; i < hm_place_count(); i++) n += hm_extent_trim(hm_place_at(i));
  return n;
}
