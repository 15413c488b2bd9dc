/*
 * hm_interpose: transparent placement, the interposition layer. An
 * LD_PRELOAD library that puts the allocations of an unmodified program on
 * chosen NUMA nodes (the mmap family is hm_mmap.c).
 * It is thin: what a placed block is and how it is made, reused and
 * accounted lives in the shared core (native/core, via hm_blocks.c);
 * HMSDK_CONF is parsed by hm_conf.c; statistics are hm_report.c.
 *
 * Interposed: malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size (C++
 * new/delete end up here too). A request at or above the threshold (by
 * default every request) is *placed*: up to HM_SMALL_MAX bytes as a slot of
 * the core's arena (hm_small_place; free finds it by the arena's address
 * index), above that behind a 64-byte header that lets free, realloc and
 * malloc_usable_size recognise it later (hm_block_place). A request below
 * the threshold is a size compare and a tail call to glibc's function,
 * found with dlsym(RTLD_NEXT).
 *
 * Bootstrap
 * ---------
 * dlsym itself may call calloc/malloc. While the real functions are being
 * resolved, requests are served from a small static bump buffer (never
 * freed: free() recognises the buffer's address range and ignores it). The
 * configuration is parsed at start-up: the first mmap after libc set up
 * environ (other libraries' constructors, which run before ours, map
 * memory), else the library constructor; until then the threshold is
 * "infinite" and everything passes through.
 *
 * Recognising our blocks ("is it ours")
 * -------------------------------------
 * Two layouts:
 *   STD      mapping = [header 64 B][user ...], the mapping is page aligned,
 *            so the user pointer is at page offset 64 exactly.
 *   ALIGNED  (memalign & co with alignment > 64) mapping = [header page
 *            ending in the header][user ...]: the user pointer is page
 *            aligned (offset 0), header at ptr - 64.
 * free(p) looks at p's page offset:
 *   offset 64: read the 64 bytes at the start of p's page (same page as p,
 *            so it is mapped and readable for any valid pointer) and accept
 *            only if  magic == HM_MAGIC  and  check == mix(header address ^
 *            secret key), where the 64-bit key is drawn from getrandom() at
 *            start-up. A glibc chunk at that offset has, before it, its own
 *            16-byte chunk header and the tail of another chunk's user data.
 *            For it to be misread the program would have to have written,
 *            at exactly that address, our magic followed by a keyed hash of
 *            that address under a key it never sees. A released block's
 *            magic is cleared before its mapping is reused or unmapped. The
 *            header also stores the user pointer, which must equal p.
 *   offset 0: page-aligned pointers are also what glibc's memalign returns,
 *            and the page before one may not be readable, so no header is
 *            read: a lock-free open-addressing registry of our ALIGNED user
 *            pointers gives a definitive answer (probed only while it holds
 *            at least one entry).
 *   anything else: not ours, straight to glibc's free.
 *
 * Errors never end the program: a bad configuration prints one line and
 * disables placement; a failed placement follows the overflow policy.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/hm_arena.h"
#include "../prim/hm_prim.h"
#include "hm_preload.h"

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define HM_REG_SLOTS 16384 /* power of two */
#define HM_REG_TOMB ((uintptr_t)1)
#define HM_BUMP_SIZE (64 * 1024)

hm_conf hm_C;
size_t hm_pagesize = 4096;
/* ------------------------------------------------------- real allocator */

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef void *(*valloc_fn)(size_t);
typedef size_t (*usable_fn)(void *);

/* What the fast paths read, on one cache line. */
static struct {
  size_t threshold; /* SIZE_MAX (everything passes) until configured */
  uintptr_t pagemask; /* 0 until resolved: every free takes the slow path */
  malloc_fn malloc;
  calloc_fn calloc;
  realloc_fn realloc;
  free_fn free;
} H __attribute__((aligned(64))) = {SIZE_MAX, 0, 0, 0, 0, 0};
#define real_malloc H.malloc
#define real_calloc H.calloc
#define real_realloc H.realloc
#define real_free H.free
#define g_threshold H.threshold
#define g_pagemask H.pagemask
static posix_memalign_fn real_posix_memalign;
static memalign_fn real_memalign;
static memalign_fn real_aligned_alloc;
static valloc_fn real_valloc;
static valloc_fn real_pvalloc;
static usable_fn real_usable;

static _Atomic int g_resolve_state; /* 0 not yet, 1 in progress, 2 done */

/* Bootstrap bump buffer: serves dlsym's own allocations. Each block has a
 * 16-byte prefix holding its size (for realloc / malloc_usable_size). */
static char g_bump[HM_BUMP_SIZE] __attribute__((aligned(64)));
static _Atomic size_t g_bump_used;

static int in_bump(const void *p) {
  return (const char *)p >= g_bump && (const char *)p < g_bump + HM_BUMP_SIZE;
}

static void *bump_alloc(size_t n, size_t align) {
  if (align < 16) align = 16;
  if (n > HM_BUMP_SIZE || align > 4096) return NULL;
  size_t need = (n + 15) & ~(size_t)15;
  size_t cur = atomic_load(&g_bump_used);
  for (;;) {
    size_t start = (cur + 16 + align - 1) & ~(align - 1);
    size_t end = start + need;
    if (end > HM_BUMP_SIZE) return NULL;
    if (atomic_compare_exchange_weak(&g_bump_used, &cur, end)) {
      *(size_t *)(g_bump + start - sizeof(size_t)) = n;
      return g_bump + start; /* static storage: already zero */
    }
  }
}

static size_t bump_size(const void *p) { return *(const size_t *)((const char *)p - sizeof(size_t)); }

/* Resolve glibc's functions. Returns 1 when resolved; 0 while another call
 * (possibly on this very thread, from inside dlsym) is resolving: the
 * caller then uses the bump buffer. */
static int resolve(void) {
  int s = atomic_load_explicit(&g_resolve_state, memory_order_acquire);
  if (LIKELY(s == 2)) return 1;
  int expected = 0;
  if (s == 0 && atomic_compare_exchange_strong(&g_resolve_state, &expected, 1)) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0) hm_pagesize = (size_t)ps;
    real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
    real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
    real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
    real_free = (free_fn)dlsym(RTLD_NEXT, "free");
    real_posix_memalign = (posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
    real_memalign = (memalign_fn)dlsym(RTLD_NEXT, "memalign");
    real_aligned_alloc = (memalign_fn)dlsym(RTLD_NEXT, "aligned_alloc");
    real_valloc = (valloc_fn)dlsym(RTLD_NEXT, "valloc");
    real_pvalloc = (valloc_fn)dlsym(RTLD_NEXT, "pvalloc");
    real_usable = (usable_fn)dlsym(RTLD_NEXT, "malloc_usable_size");
    g_pagemask = hm_pagesize - 1;
    atomic_store_explicit(&g_resolve_state, 2, memory_order_release);
    return 1;
  }
  return atomic_load_explicit(&g_resolve_state, memory_order_acquire) == 2;
}

static int g_active; /* placement configured and valid */
static void start(void);
/* Arena slots may exist (placement active and small blocks in range): free
 * asks the arena's index first. */
static int g_small_live;
static uint64_t g_key;

/* ------------------------------------------------------------- registry */

static _Atomic uintptr_t g_reg[HM_REG_SLOTS];
static _Atomic long g_reg_count;

static inline size_t reg_hash(uintptr_t a) {
  return (size_t)(((a >> 12) * 0x9E3779B97F4A7C15ULL) >> (64 - 14)) & (HM_REG_SLOTS - 1);
}

static int reg_insert(uintptr_t a) {
  size_t h = reg_hash(a);
  for (size_t i = 0; i < HM_REG_SLOTS; i++) {
    _Atomic uintptr_t *s = &g_reg[(h + i) & (HM_REG_SLOTS - 1)];
    uintptr_t v = atomic_load(s);
    while (v == 0 || v == HM_REG_TOMB) {
      if (atomic_compare_exchange_weak(s, &v, a)) {
        atomic_fetch_add(&g_reg_count, 1);
        return 1;
      }
    }
  }
  return 0;
}

static _Atomic uintptr_t *reg_find(uintptr_t a) {
  size_t h = reg_hash(a);
  for (size_t i = 0; i < HM_REG_SLOTS; i++) {
    _Atomic uintptr_t *s = &g_reg[(h + i) & (HM_REG_SLOTS - 1)];
    uintptr_t v = atomic_load_explicit(s, memory_order_acquire);
    if (v == a) return s;
    if (v == 0) return NULL;
  }
  return NULL;
}

static inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* The header of p if p is one of our blocks, else NULL. See the file
 * comment for why a foreign pointer cannot pass. */
static inline struct hm_hdr *owned(const void *p) {
  uintptr_t a = (uintptr_t)p;
  uintptr_t off = a & g_pagemask;
  if (off == HM_HDR_OFF) {
    struct hm_hdr *h = (struct hm_hdr *)(a - HM_HDR_OFF);
    if (h->magic == HM_MAGIC && h->check == mix64((uintptr_t)h ^ g_key) && h->user == a) return h;
    return NULL;
  }
  if (off == 0 && a && atomic_load_explicit(&g_reg_count, memory_order_relaxed) > 0 && reg_find(a))
    return (struct hm_hdr *)(a - HM_HDR_OFF);
  return NULL;
}

void hm_header_seal(struct hm_hdr *h) {
  h->check = mix64((uintptr_t)h ^ g_key);
  atomic_store_explicit((_Atomic uint64_t *)&h->magic, HM_MAGIC, memory_order_release);
}

static void *place(size_t size, size_t align, int zero, int *fallback) {
  void *p = hm_block_place(size, align, zero, fallback);
  if (p && align > HM_HDR_OFF && !reg_insert((uintptr_t)p)) {
    /* The registry is full: this block could not be recognised later. */
    hm_block_release((struct hm_hdr *)((uintptr_t)p - HM_HDR_OFF));
    atomic_fetch_add(&hm_st_reg_full, 1);
    atomic_fetch_add(&hm_st_fallback, 1);
    *fallback = 1;
    return NULL;
  }
  return p;
}

static void release(struct hm_hdr *h) {
  if (h->layout == HM_LAYOUT_ALIGNED) {
    _Atomic uintptr_t *s = reg_find(h->user);
    if (s) {
      atomic_store(s, HM_REG_TOMB);
      atomic_fetch_sub(&g_reg_count, 1);
    }
  }
  hm_block_release(h);
}

/* ------------------------------------------------------------ lifecycle */

/* Start-up, once: from the library's constructor, or earlier from the
 * first mmap once libc has set up environ. The constructors of an
 * LD_PRELOAD library run after those of the program's own libraries, and
 * those (jemalloc's, for one) already map memory. */
static _Atomic int g_start_state; /* 0 not yet, 1 running, 2 done */

void hm_preload_start(void) {
  int expected = 0;
  if (!environ || !atomic_compare_exchange_strong(&g_start_state, &expected, 1)) return;
  start();
  atomic_store(&g_start_state, 2);
}

__attribute__((constructor)) static void hm_init(void) { hm_preload_start(); }

static void start(void) {
  resolve();
  const char *env = getenv("HMSDK_CONF");
  if (!env) return;
  char err[512];
  if (hm_conf_parse(env, &hm_C, err, sizeof err) != 0) {
    hm_say(err);
    memset(&hm_C, 0, sizeof hm_C);
    return;
  }
  /* Secret key for header checks. */
  uint64_t key = 0;
  if (syscall(SYS_getrandom, &key, sizeof key, 1 /* GRND_NONBLOCK */) != (long)sizeof key) {
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    if (r) memcpy(&key, r + 8, sizeof key);
    key ^= mix64((uint64_t)(uintptr_t)&key ^ hm_now_ns());
  }
  g_key = key | 1;
  if (hm_blocks_init() != 0) {
    memset(&hm_C, 0, sizeof hm_C);
    return;
  }
  if (hm_mmap_init() != 0) hm_say("mbind of anonymous mappings is not usable here; the program's own mappings stay unplaced");
  hm_report_init();
  if (hm_C.verbose) {
    char t[24];
    hm_u64_str(hm_C.threshold, t, sizeof t);
    static const char *names[] = {"bind", "preferred", "interleave", "weighted"};
    hm_say("active: policy=", names[hm_C.policy], " threshold=", t, hm_C.cap ? " (capped)" : "");
  }
  g_active = 1;
  g_small_live = hm_C.threshold <= HM_SMALL_MAX;
  atomic_thread_fence(memory_order_seq_cst);
  g_threshold = hm_C.threshold;
}

__attribute__((destructor)) static void hm_fini(void) {
  if (!g_active) return;
  hm_tcache_flush(); /* the exiting thread's cache: what is live is the program's */
  if (hm_C.stats & HM_STATS_EXIT) hm_report_dump("exit");
  hm_coverage_check();
}

/* ------------------------------------------------------------ interface */

/* Routing. Every request of `threshold` bytes or more is placed: up to
 * HM_SMALL_MAX as an arena slot (hm_small_place), above it as a block
 * behind a header (place). Smaller requests, and everything before the
 * constructor configured the library (threshold is SIZE_MAX until then),
 * are glibc's: a compare and a tail call. */

static void bad_free(void) {
  if (atomic_fetch_add(&hm_st_bad_free, 1) == 0)
    hm_say("free() of a pointer inside hmsdk's memory that is not a live block (double or interior free): ignored");
}

/* A new block of n bytes, zeroed when zero, by the routing above: NULL with
 * errno ENOMEM when the overflow policy is fail. */
static void *block_new(size_t n, int zero) {
  if (!resolve()) return bump_alloc(n, 16); /* static storage: already zero */
  if (n >= g_threshold) {
    int fb;
    void *p = n <= HM_SMALL_MAX ? hm_small_place(n, 16, zero, &fb) : place(n, 16, zero, &fb);
    if (p || !fb) return p;
  }
  return zero ? real_calloc(1, n) : real_malloc(n);
}

static __attribute__((noinline)) void *malloc_slow(size_t n) { return block_new(n, 0); }

EXPORT void *malloc(size_t n) {
  malloc_fn f = real_malloc;
  if (LIKELY(n < g_threshold && f != NULL)) return f(n);
  return malloc_slow(n);
}

static __attribute__((noinline)) void *calloc_slow(size_t a, size_t b) {
  size_t n;
  if (__builtin_mul_overflow(a, b, &n)) {
    errno = ENOMEM;
    return NULL;
  }
  return block_new(n, 1);
}

EXPORT void *calloc(size_t a, size_t b) {
  size_t n;
  calloc_fn f = real_calloc;
  if (LIKELY(!__builtin_mul_overflow(a, b, &n) && n < g_threshold && f != NULL)) return f(a, b);
  return calloc_slow(a, b);
}

static __attribute__((noinline)) void free_slow(void *p) {
  if (g_active) {
    struct hm_hdr *h = owned(p);
    if (h) {
      release(h);
      return;
    }
  }
  if (!p || in_bump(p)) return;
  if (real_free == NULL && !resolve()) return; /* nothing but bump blocks can be live yet */
  real_free(p);
}

/* An arena slot is found by the arena's address index (two loads when the
 * pointer is not in one); blocks behind a header sit at page offset 64
 * (header) or 0 (registry); so do bump blocks only by chance, hence the
 * range test. Before resolve() the page mask is 0, so every pointer takes
 * the slow path. */
EXPORT void free(void *p) {
  if (g_small_live) {
    int r = hm_small_release(p);
    if (r) {
      if (r < 0) bad_free();
      return;
    }
  }
  uintptr_t off = (uintptr_t)p & g_pagemask;
  free_fn f = real_free;
  if (LIKELY(off != HM_HDR_OFF && off != 0 && (uintptr_t)p - (uintptr_t)g_bump >= HM_BUMP_SIZE)) {
    f(p);
    return;
  }
  free_slow(p);
}

EXPORT void *realloc(void *p, size_t n) {
  if (!p) return malloc(n);
  if (UNLIKELY(in_bump(p))) {
    void *q = malloc(n);
    if (q) {
      size_t old = bump_size(p);
      memcpy(q, p, old < n ? old : n);
    }
    return q;
  }
  size_t slot = g_small_live ? hm_small_usable(p) : 0;
  if (slot) {
    if (n == 0) {
      free(p);
      return NULL;
    }
    /* In place while the request still fits its class and would not sit in
     * a much smaller one. */
    if (n <= slot && n >= g_threshold && (n > slot / 2 || slot <= 64)) return p;
    void *q = malloc(n);
    if (!q) return NULL; /* old block stays valid */
    memcpy(q, p, slot < n ? slot : n);
    free(p);
    return q;
  }
  struct hm_hdr *h = g_active ? owned(p) : NULL;
  if (LIKELY(!h)) {
    if (LIKELY(n < g_threshold) || !g_active) {
      if (UNLIKELY(real_realloc == NULL) && !resolve()) return NULL;
      return real_realloc(p, n);
    }
    /* A glibc block growing into the placed range: place it. */
    void *q = block_new(n, 0);
    if (!q) return NULL;
    size_t old = real_usable(p);
    memcpy(q, p, old < n ? old : n);
    real_free(p);
    atomic_fetch_add(&hm_st_realloc_move, 1);
    return q;
  }
  if (n == 0) {
    release(h);
    return NULL;
  }
  if (n <= h->usable && n > HM_SMALL_MAX && n >= h->usable / 2) {
    atomic_fetch_add(&hm_st_realloc_inplace, 1);
    return p;
  }
  void *q = block_new(n, 0);
  if (!q) return NULL; /* old block stays valid, errno ENOMEM */
  memcpy(q, p, h->usable < n ? h->usable : n);
  release(h);
  atomic_fetch_add(&hm_st_realloc_move, 1);
  return q;
}

EXPORT void *reallocarray(void *p, size_t a, size_t b) {
  size_t n;
  if (__builtin_mul_overflow(a, b, &n)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(p, n);
}

static int pow2(size_t a) { return a && !(a & (a - 1)); }

/* An aligned block by the routing: small when it fits a class aligned to
 * its size (alignments up to the page size), else behind a header. */
static void *place_aligned(size_t n, size_t align, int *fb) {
  if (align <= hm_pagesize && n <= HM_SMALL_MAX && align <= HM_SMALL_MAX) return hm_small_place(n, align, 0, fb);
  return place(n, align, 0, fb);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n) {
  if (!pow2(align) || align % sizeof(void *)) return EINVAL;
  if (n >= g_threshold && g_active && align <= ((size_t)1 << 30)) {
    int fb;
    void *p = place_aligned(n, align, &fb);
    if (p) {
      *out = p;
      return 0;
    }
    if (!fb) return ENOMEM;
  }
  if (!resolve()) {
    void *p = bump_alloc(n, align);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
  }
  return real_posix_memalign(out, align, n);
}

EXPORT void *memalign(size_t align, size_t n) {
  if (pow2(align) && n >= g_threshold && g_active && align <= ((size_t)1 << 30)) {
    int fb;
    void *p = place_aligned(n, align, &fb);
    if (p || !fb) return p;
  }
  if (!resolve()) return bump_alloc(n, align);
  return real_memalign(align, n);
}

EXPORT void *aligned_alloc(size_t align, size_t n) {
  if (pow2(align) && n >= g_threshold && g_active && align <= ((size_t)1 << 30)) {
    int fb;
    void *p = place_aligned(n, align, &fb);
    if (p || !fb) return p;
  }
  if (!resolve()) return bump_alloc(n, align);
  return real_aligned_alloc(align, n);
}

EXPORT void *valloc(size_t n) {
  if (!resolve()) return bump_alloc(n, 4096);
  if (n >= g_threshold && g_active) {
    int fb;
    void *p = place_aligned(n, hm_pagesize, &fb);
    if (p || !fb) return p;
  }
  return real_valloc(n);
}

EXPORT void *pvalloc(size_t n) {
  if (!resolve()) return bump_alloc(n, 4096);
  size_t r = ((n ? n : 1) + hm_pagesize - 1) & ~(hm_pagesize - 1);
  if (r >= g_threshold && g_active) {
    int fb;
    void *p = place_aligned(r, hm_pagesize, &fb);
    if (p || !fb) return p;
  }
  return real_pvalloc(n);
}

EXPORT size_t malloc_usable_size(void *p) {
  if (!p) return 0;
  if (in_bump(p)) return bump_size(p);
  size_t slot = g_small_live ? hm_small_usable(p) : 0;
  if (slot) return slot;
  if (g_active) {
    struct hm_hdr *h = owned(p);
    if (h) return h->usable;
  }
  if (!resolve()) return 0;
  return real_usable(p);
}
