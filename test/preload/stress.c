/*
 * stress: hammer the allocator interface from many threads, for running
 * under the hmsdk preload library (test/preload.test.ts).
 *
 * Each thread owns a table of slots and performs random operations on it:
 * allocate (malloc, calloc, posix_memalign, aligned_alloc, memalign, valloc,
 * C++-style realloc from NULL) with sizes drawn on both sides of the
 * placement threshold, realloc across the threshold upwards and downwards,
 * free, and hand a block to another thread through a shared mailbox (so
 * blocks are freed by a thread that did not allocate them). Every block
 * carries a pattern: its first and last 64 bytes encode the block's id and
 * the rest is one tag byte; the pattern is verified before every realloc
 * and free, after realloc (preserved prefix) and calloc (zero). Alignment
 * and malloc_usable_size are checked on every allocation.
 *
 * A NULL result is legal only with errno ENOMEM (the overflow=fail mode of
 * the preload returns it on purpose); such results are counted and printed.
 *
 * Usage: stress THREADS OPS_PER_THREAD THRESHOLD [SEED]
 * Prints one line "stress ok ops=N placed_size_ops=N nulls=N xthread_frees=N"
 * and exits 0, or prints the first integrity failure and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 48
#define MAILBOX 256

struct block {
  unsigned char *p;
  size_t size;
  uint64_t id;
  size_t align;
};

static size_t g_threshold;
static long g_ops;
static _Atomic long g_total_ops, g_large_ops, g_nulls, g_xfrees;
static _Atomic int g_failed;

static pthread_mutex_t g_mbox_lock = PTHREAD_MUTEX_INITIALIZER;
static struct block g_mbox[MAILBOX];
static int g_mbox_n;

static void fail(const char *what, const struct block *b) {
  if (atomic_exchange(&g_failed, 1)) return;
  fprintf(stderr, "stress FAILED: %s (block id=%llu size=%zu align=%zu ptr=%p)\n", what,
          (unsigned long long)(b ? b->id : 0), b ? b->size : 0, b ? b->align : 0, b ? (void *)b->p : NULL);
}

static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static unsigned char tag_of(uint64_t id) { return (unsigned char)(1 + id % 251); }

static void edge_bytes(unsigned char *dst, uint64_t id, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = (unsigned char)((id * 131 + i * 7) >> 3);
}

static void fill(struct block *b) {
  size_t n = b->size;
  unsigned char e[64];
  if (n <= 128) {
    memset(b->p, tag_of(b->id), n);
    return;
  }
  edge_bytes(e, b->id, 64);
  memcpy(b->p, e, 64);
  memset(b->p + 64, tag_of(b->id), n - 128);
  memcpy(b->p + n - 64, e, 64);
}

/* Verify the first `n` bytes (n <= size) of a block's pattern. */
static int verify_prefix(const struct block *b, size_t n) {
  size_t size = b->size;
  unsigned char e[64];
  unsigned char t = tag_of(b->id);
  if (size <= 128) {
    for (size_t i = 0; i < n; i++)
      if (b->p[i] != t) return 0;
    return 1;
  }
  edge_bytes(e, b->id, 64);
  if (memcmp(b->p, e, n < 64 ? n : 64)) return 0;
  size_t mid_end = size - 64 < n ? size - 64 : n;
  for (size_t i = 64; i < mid_end; i++)
    if (b->p[i] != t) return 0;
  if (n > size - 64 && memcmp(b->p + size - 64, e, n - (size - 64))) return 0;
  return 1;
}

static size_t pick_size(uint64_t *s) {
  uint64_t r = rnd(s);
  switch (r % 8) {
  case 0: case 1: case 2: return 1 + (r >> 8) % 512;             /* tiny */
  case 3: return 512 + (r >> 8) % (g_threshold / 2);            /* small */
  case 4: return g_threshold - 64 + (r >> 8) % 128;             /* at the edge */
  case 5: case 6: return g_threshold + (r >> 8) % (2 * g_threshold); /* placed */
  default: return g_threshold * 2 + (r >> 8) % (6 * g_threshold);   /* larger */
  }
}

static int check_new(struct block *b, uint64_t *ids) {
  if (!b->p) {
    if (errno != ENOMEM) {
      fail("allocation returned NULL without ENOMEM", b);
      return -1;
    }
    atomic_fetch_add(&g_nulls, 1);
    return 0;
  }
  if ((uintptr_t)b->p % (b->align ? b->align : 16)) {
    fail("misaligned pointer", b);
    return -1;
  }
  if (malloc_usable_size(b->p) < b->size) {
    fail("malloc_usable_size smaller than the request", b);
    return -1;
  }
  b->id = ++*ids;
  return 1;
}

static void do_alloc(struct block *b, uint64_t *s, uint64_t *ids) {
  size_t n = pick_size(s);
  if (n >= g_threshold) atomic_fetch_add(&g_large_ops, 1);
  b->size = n;
  b->align = 0;
  errno = 0;
  int how = (int)(rnd(s) % 7);
  static const size_t aligns[] = {32, 64, 128, 256, 4096, 65536, 2u << 20};
  switch (how) {
  case 0: b->p = malloc(n); break;
  case 1: {
    size_t k = 1 + rnd(s) % 8;
    size_t m = (n + k - 1) / k;
    b->size = m * k;
    b->p = calloc(k, m);
    if (b->p) {
      for (size_t i = 0; i < b->size; i += 509)
        if (b->p[i]) { fail("calloc memory not zero", b); return; }
      if (b->p[b->size - 1]) { fail("calloc memory not zero (last byte)", b); return; }
    }
    break;
  }
  case 2: {
    b->align = aligns[rnd(s) % 7];
    void *p = NULL;
    int r = posix_memalign(&p, b->align, n);
    if (r != 0 && r != ENOMEM) { fail("posix_memalign error other than ENOMEM", b); return; }
    errno = r;
    b->p = r == 0 ? p : NULL;
    break;
  }
  case 3:
    b->align = aligns[rnd(s) % 7];
    b->size = (n + b->align - 1) / b->align * b->align; /* C11: size multiple of alignment */
    b->p = aligned_alloc(b->align, b->size);
    break;
  case 4:
    b->align = aligns[rnd(s) % 7];
    b->p = memalign(b->align, n);
    break;
  case 5:
    b->align = (size_t)sysconf(_SC_PAGESIZE);
    b->p = valloc(n);
    break;
  default: b->p = realloc(NULL, n); break;
  }
  int r = check_new(b, ids);
  if (r == 1) fill(b);
  else b->p = NULL;
}

static void do_free(struct block *b) {
  if (!verify_prefix(b, b->size)) fail("pattern corrupted before free", b);
  free(b->p);
  b->p = NULL;
}

static void do_realloc(struct block *b, uint64_t *s) {
  if (!verify_prefix(b, b->size)) { fail("pattern corrupted before realloc", b); return; }
  /* cross the threshold in the direction away from the current size */
  size_t n;
  uint64_t r = rnd(s);
  if (b->size >= g_threshold) n = r % 3 == 0 ? b->size + 1 + r % 4096 : 16 + r % (g_threshold / 2);
  else n = g_threshold + r % (3 * g_threshold);
  if (n >= g_threshold) atomic_fetch_add(&g_large_ops, 1);
  errno = 0;
  unsigned char *q = realloc(b->p, n);
  if (!q) {
    if (errno != ENOMEM) { fail("realloc returned NULL without ENOMEM", b); return; }
    atomic_fetch_add(&g_nulls, 1);
    /* old block untouched and still ours */
    if (!verify_prefix(b, b->size)) fail("pattern corrupted after failed realloc", b);
    return;
  }
  size_t keep = n < b->size ? n : b->size;
  struct block old = *b;
  old.p = q;
  if (!verify_prefix(&old, keep)) { fail("realloc did not preserve the contents", &old); return; }
  if (malloc_usable_size(q) < n) { fail("usable size after realloc smaller than request", &old); return; }
  b->p = q;
  b->size = n;
  b->align = 0;
  fill(b);
}

static void *worker(void *arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 12345;
  uint64_t ids = ((uint64_t)(uintptr_t)arg) << 40;
  struct block slots[SLOTS];
  memset(slots, 0, sizeof slots);
  for (long op = 0; op < g_ops && !atomic_load(&g_failed); op++) {
    struct block *b = &slots[rnd(&seed) % SLOTS];
    int choice = (int)(rnd(&seed) % 10);
    if (!b->p) {
      do_alloc(b, &seed, &ids);
    } else if (choice < 3) {
      do_realloc(b, &seed);
    } else if (choice < 5) {
      /* hand over to another thread, or free one that was handed over */
      pthread_mutex_lock(&g_mbox_lock);
      if (g_mbox_n < MAILBOX) {
        g_mbox[g_mbox_n++] = *b;
        b->p = NULL;
      }
      pthread_mutex_unlock(&g_mbox_lock);
      struct block got = {0};
      pthread_mutex_lock(&g_mbox_lock);
      if (g_mbox_n > 0 && rnd(&seed) % 2) got = g_mbox[--g_mbox_n];
      pthread_mutex_unlock(&g_mbox_lock);
      if (got.p) {
        do_free(&got);
        atomic_fetch_add(&g_xfrees, 1);
      }
    } else {
      do_free(b);
    }
    atomic_fetch_add_explicit(&g_total_ops, 1, memory_order_relaxed);
  }
  for (int i = 0; i < SLOTS; i++)
    if (slots[i].p) do_free(&slots[i]);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: stress THREADS OPS_PER_THREAD THRESHOLD\n");
    return 2;
  }
  int threads = atoi(argv[1]);
  g_ops = atol(argv[2]);
  g_threshold = (size_t)atol(argv[3]);
  if (threads < 1 || threads > 256 || g_ops < 1 || g_threshold < 4096) {
    fprintf(stderr, "stress: bad arguments\n");
    return 2;
  }
  pthread_t t[256];
  for (int i = 0; i < threads; i++)
    if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) != 0) {
      fprintf(stderr, "stress: pthread_create failed\n");
      return 2;
    }
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < g_mbox_n; i++) do_free(&g_mbox[i]);
  if (atomic_load(&g_failed)) return 1;
  printf("stress ok ops=%ld large_ops=%ld nulls=%ld xthread_frees=%ld\n", atomic_load(&g_total_ops),
         atomic_load(&g_large_ops), atomic_load(&g_nulls), atomic_load(&g_xfrees));
  return 0;
}
