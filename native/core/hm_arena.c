/* hm_arena: small blocks from spans of placed chunks. See hm_arena.h. */
#include "hm_arena.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "../prim/hm_prim.h"
#include "hm_meta.h"
#include "hm_place.h"

#define SPANS_PER_CHUNK (HM_CHUNK_BYTES / HM_SPAN_BYTES)
#define MAX_SLOTS (HM_SPAN_BYTES / 16)
#define BITMAP_WORDS (MAX_SLOTS / 64)

typedef struct hm_chunk {
  char *base;        /* ext->addr, and */
  struct hm_place *pl; /* ext->pl, one load closer for hm_small_find */
  hm_extent *ext;
  struct hm_span *spans[SPANS_PER_CHUNK]; /* carved spans, for hm_small_find */
  uint32_t uncarved; /* bit k: span k not in use */
  uint32_t clean;    /* bit k: span k's memory was never handed out */
  int live_spans;
  struct hm_chunk *prev, *next; /* arena's with_space list */
  int on_list;
} hm_chunk;

typedef struct hm_span {
  hm_chunk *chunk;
  char *base;
  int cls;
  uint32_t slot_size, nslots, nfree, hint, clean_from;
  uint32_t slot_recip; /* ceil(2^32 / slot_size): offset -> index without a division */
  struct hm_span *prev, *next; /* class's partial list */
  int on_list;
  uint64_t used[BITMAP_WORDS]; /* 1 = handed out */
} hm_span;

/* ---- address index ------------------------------------------------------
 * Which chunk holds an address, for callers that get bare pointers back
 * (the preload's free). Keyed by the 2 MiB granule a chunk *starts* in: a
 * chunk is 2 MiB long, so no two start in one granule, and an address lies
 * in the chunk that starts in its own granule or in the one before. Two
 * levels over 47-bit addresses (13 + 13 bits of granule number); second
 * levels are made on first use and kept. Readers take no lock: an entry is
 * written under the placement's lock before any of the chunk's blocks is
 * handed out and cleared after the last one came back. */
#define IDX_SHIFT 21
#define IDX_BITS 13
#define IDX_SIZE (1u << IDX_BITS)
_Static_assert(HM_CHUNK_BYTES == 1u << IDX_SHIFT, "one chunk per index granule");
static hm_chunk **idx_top[IDX_SIZE];

static hm_chunk **idx_slot(uintptr_t granule, int make) {
  if (granule >> (2 * IDX_BITS)) return NULL;
  hm_chunk **leaf = __atomic_load_n(&idx_top[granule >> IDX_BITS], __ATOMIC_ACQUIRE);
  if (!leaf && make) {
    hm_chunk **fresh = hm_meta_map(IDX_SIZE * sizeof(hm_chunk *));
    if (!fresh) return NULL;
    if (__atomic_compare_exchange_n(&idx_top[granule >> IDX_BITS], &leaf, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) leaf = fresh;
    else hm_meta_unmap(fresh, IDX_SIZE * sizeof(hm_chunk *));
  }
  return leaf ? &leaf[granule & (IDX_SIZE - 1)] : NULL;
}

static int idx_set(hm_chunk *c, hm_chunk *value) {
  hm_chunk **slot = idx_slot((uintptr_t)c->base >> IDX_SHIFT, 1);
  if (!slot) return -1;
  __atomic_store_n(slot, value, __ATOMIC_RELEASE);
  return 0;
}

static hm_chunk *idx_find(uintptr_t a) {
  for (uintptr_t g = a >> IDX_SHIFT, k = 0; k < 2 && g >= k; k++) {
    hm_chunk **slot = idx_slot(g - k, 0);
    hm_chunk *c = slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : NULL;
    if (c && a - (uintptr_t)c->base < HM_CHUNK_BYTES) return c;
  }
  return NULL;
}

static hm_pool chunk_pool = HM_POOL_INIT(sizeof(hm_chunk));
static hm_pool span_pool = HM_POOL_INIT(sizeof(hm_span));
static uint64_t arena_total; /* atomic */

uint64_t hm_arena_bytes(void) { return __atomic_load_n(&arena_total, __ATOMIC_RELAXED); }

/* ---- classes ---------------------------------------------------------- */

/* 16-byte steps to 1 KiB, then 32 classes per power of two: a block
 * wastes at most 1/32 of its slot above 1 KiB (a 4 KiB database page with
 * its header, 4368 B, takes 4480 B). Every power of two is a class. */
static int size_class(size_t size) {
  if (size <= 1024) return size == 0 ? 0 : (int)((size + 15) / 16) - 1;
  size_t s = size - 1;
  int p = 63 - __builtin_clzll(s); /* size in (2^p, 2^(p+1)] */
  return 64 + (p - 10) * 32 + (int)((s - ((size_t)1 << p)) >> (p - 5));
}

size_t hm_small_class_size(int cls) {
  if (cls < 64) return (size_t)(cls + 1) * 16;
  int k = cls - 64, p = 10 + k / 32;
  return ((size_t)1 << p) + (size_t)((k % 32) + 1) * ((size_t)1 << (p - 5));
}

int hm_small_class(size_t size, size_t align) {
  if (align > 16) {
    /* A power-of-two class is aligned to its size: use the first one that
     * holds both the size and the alignment. */
    size_t need = size > align ? size : align;
    size_t p2 = (size_t)1 << (64 - __builtin_clzll(need - 1));
    size = p2;
  }
  if (size > HM_SMALL_MAX) return -1;
  return size_class(size);
}

/* ---- lists (placement lock held) -------------------------------------- */

static void span_link(hm_arena *a, hm_span *s) {
  if (s->on_list) return;
  s->prev = NULL;
  s->next = a->partial[s->cls];
  if (s->next) s->next->prev = s;
  a->partial[s->cls] = s;
  s->on_list = 1;
}

static void span_unlink(hm_arena *a, hm_span *s) {
  if (!s->on_list) return;
  if (s->prev) s->prev->next = s->next;
  else a->partial[s->cls] = s->next;
  if (s->next) s->next->prev = s->prev;
  s->prev = s->next = NULL;
  s->on_list = 0;
}

static void chunk_link(hm_arena *a, hm_chunk *c) {
  if (c->on_list) return;
  c->prev = NULL;
  c->next = a->with_space;
  if (c->next) c->next->prev = c;
  a->with_space = c;
  c->on_list = 1;
}

static void chunk_unlink(hm_arena *a, hm_chunk *c) {
  if (!c->on_list) return;
  if (c->prev) c->prev->next = c->next;
  else a->with_space = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  c->on_list = 0;
}

/* Carve a span of class cls from a chunk with space. Lock held. */
static hm_span *carve(hm_arena *a, hm_chunk *c, hm_span *s, int cls) {
  int k = __builtin_ctz(c->uncarved);
  c->uncarved &= ~(1u << k);
  c->live_spans++;
  if (!c->uncarved) chunk_unlink(a, c);
  s->chunk = c;
  c->spans[k] = s;
  s->base = c->ext->addr + (size_t)k * HM_SPAN_BYTES;
  s->cls = cls;
  s->slot_size = (uint32_t)hm_small_class_size(cls);
  s->slot_recip = (uint32_t)((((uint64_t)1 << 32) + s->slot_size - 1) / s->slot_size);
  s->nslots = HM_SPAN_BYTES / s->slot_size;
  s->nfree = s->nslots;
  s->clean_from = (c->clean >> k) & 1u ? 0 : s->nslots;
  c->clean &= ~(1u << k);
  span_link(a, s);
  return s;
}

/* The lowest free slot. Every slot below the hint is in use (taking moves
 * the hint to the slot taken, freeing below it moves it down), so the scan
 * starts there and never passes the span's last slot. The span has one. */
static uint32_t take_slot(hm_span *s) {
  uint32_t last = (s->nslots - 1) / 64;
  for (uint32_t w = s->hint / 64; w <= last; w++) {
    uint64_t freebits = ~s->used[w];
    if (w == last && s->nslots % 64) freebits &= (1ULL << (s->nslots % 64)) - 1;
    if (freebits) {
      uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(freebits);
      s->used[w] |= 1ULL << (i % 64);
      s->hint = i;
      return i;
    }
  }
  assert(!"a span with a free slot had none at or after its hint");
  return 0;
}

void *hm_small_alloc(hm_place *pl, int cls, unsigned flags, hm_slot *out, hm_err *err) {
  hm_arena *a = &pl->arena;
  hm_span *fresh_span = NULL;
  pthread_mutex_lock(&pl->lock);
  hm_span *s = a->partial[cls];
  while (!s) {
    if (a->with_space) {
      if (!fresh_span) {
        pthread_mutex_unlock(&pl->lock);
        fresh_span = hm_pool_alloc(&span_pool);
        pthread_mutex_lock(&pl->lock);
        if (!fresh_span) break;
        s = a->partial[cls]; /* another thread may have made one meanwhile */
        continue;
      }
      s = carve(a, a->with_space, fresh_span, cls);
      fresh_span = NULL;
      break;
    }
    /* A new chunk: no lock held across the mapping. */
    pthread_mutex_unlock(&pl->lock);
    /* A strict chunk is populated (verified, see hm_extent.c) when it is
     * made: its blocks then never fault, so a node that other processes
     * filled later cannot turn a small block's first write into an OOM
     * kill. A lazy promise would cover only our own allocations. */
    hm_chunk *c = hm_pool_alloc(&chunk_pool);
    hm_extent *e = c ? hm_extent_get(pl, HM_CHUNK_BYTES, HM_F_EXACT | (pl->strict ? HM_F_POPULATE : 0), err) : NULL;
    if (!e) {
      if (!c) hm_err_sys(err, "mmap", -ENOMEM);
      hm_pool_free(&chunk_pool, c);
      hm_pool_free(&span_pool, fresh_span);
      return NULL;
    }
    c->ext = e;
    c->base = e->addr;
    c->pl = pl;
    /* With THP "always", the first touch of a chunk faults a whole 2 MiB
     * page: a placement that asked for base pages keeps a sparsely used
     * chunk at the pages its slots use. */
    if (pl->no_thp) (void)hm_nohugepage(e->addr, e->len);
    if (idx_set(c, c) != 0) {
      hm_extent_put(e);
      hm_pool_free(&chunk_pool, c);
      hm_pool_free(&span_pool, fresh_span);
      hm_err_sys(err, "mmap", -ENOMEM);
      return NULL;
    }
    c->uncarved = (1u << SPANS_PER_CHUNK) - 1;
    c->clean = e->zeroed ? c->uncarved : 0;
    __atomic_fetch_add(&arena_total, e->len, __ATOMIC_RELAXED);
    pthread_mutex_lock(&pl->lock);
    chunk_link(a, c);
    s = a->partial[cls];
  }
  if (!s) {
    pthread_mutex_unlock(&pl->lock);
    hm_err_sys(err, "mmap", -ENOMEM);
    return NULL;
  }
  uint32_t i = take_slot(s);
  if (--s->nfree == 0) span_unlink(a, s);
  int dirty = i < s->clean_from;
  if (!dirty) s->clean_from = i + 1;
  char *p = s->base + (size_t)i * s->slot_size;
  size_t slot_size = s->slot_size;
  pthread_mutex_unlock(&pl->lock);
  if (fresh_span) hm_pool_free(&span_pool, fresh_span);
  if ((flags & HM_F_ZERO) && dirty) memset(p, 0, slot_size);
  if (flags & HM_F_POPULATE) {
    size_t ps = hm_page_size();
    uintptr_t from = (uintptr_t)p & ~(uintptr_t)(ps - 1);
    uintptr_t to = ((uintptr_t)p + slot_size + ps - 1) & ~(uintptr_t)(ps - 1);
    int r = hm_populate((void *)from, to - from);
    if (r != 0) {
      hm_small_free(pl, (hm_slot){s, i});
      hm_place_populate_err(err, pl, r, slot_size);
      return NULL;
    }
  }
  out->span = s;
  out->index = i;
  return p;
}

int hm_small_free(hm_place *pl, hm_slot slot) {
  hm_arena *a = &pl->arena;
  hm_span *s = slot.span;
  hm_chunk *empty_chunk = NULL;
  hm_span *empty_span = NULL;
  pthread_mutex_lock(&pl->lock);
  uint64_t bit = 1ULL << (slot.index % 64);
  if (!(s->used[slot.index / 64] & bit)) {
    pthread_mutex_unlock(&pl->lock);
    return -1; /* not handed out: a double free */
  }
  s->used[slot.index / 64] &= ~bit;
  if (slot.index < s->hint) s->hint = slot.index;
  s->nfree++;
  span_link(a, s);
  /* An empty span goes back to its chunk unless it is its class's only one. */
  if (s->nfree == s->nslots && (a->partial[s->cls] != s || s->next)) {
    span_unlink(a, s);
    hm_chunk *c = s->chunk;
    size_t k = (size_t)(s->base - c->ext->addr) / HM_SPAN_BYTES;
    c->uncarved |= 1u << k;
    c->spans[k] = NULL;
    empty_span = s;
    if (--c->live_spans == 0) {
      chunk_unlink(a, c);
      empty_chunk = c;
    } else {
      chunk_link(a, c);
    }
  }
  pthread_mutex_unlock(&pl->lock);
  hm_pool_free(&span_pool, empty_span);
  if (empty_chunk) {
    idx_set(empty_chunk, NULL); /* its granule's leaf exists: cannot fail */
    __atomic_fetch_sub(&arena_total, empty_chunk->ext->len, __ATOMIC_RELAXED);
    /* An idle chunk keeps no resident pages while it waits in the cache
     * (a strict one is populated and verified again when reused). */
    hm_extent_discard(empty_chunk->ext);
    hm_extent_put(empty_chunk->ext);
    hm_pool_free(&chunk_pool, empty_chunk);
  }
  return 0;
}

int hm_small_find(const void *p, hm_place **pl, hm_slot *slot, size_t *slot_size) {
  uintptr_t a = (uintptr_t)p;
  hm_chunk *c = idx_find(a);
  if (!c) return 0;
  hm_span *s = c->spans[(a - (uintptr_t)c->base) / HM_SPAN_BYTES];
  if (!s) return -1;
  /* index = off / slot_size by the reciprocal: exact for multiples of the
   * slot size below 2^17 (off * the rounding error stays below 2^32); a
   * pointer that is not a slot start fails the check. */
  uint64_t off = a - (uintptr_t)s->base;
  uint32_t index = (uint32_t)((off * s->slot_recip) >> 32);
  if ((uint64_t)index * s->slot_size != off || index >= s->nslots) return -1;
  *pl = c->pl;
  slot->span = s;
  slot->index = index;
  *slot_size = s->slot_size;
  return 1;
}

int hm_small_slot_class(hm_slot slot) { return slot.span->cls; }

void hm_arena_fork_lock(void) {
  hm_pool_lock(&chunk_pool);
  hm_pool_lock(&span_pool);
}

void hm_arena_fork_unlock(void) {
  hm_pool_unlock(&span_pool);
  hm_pool_unlock(&chunk_pool);
}
