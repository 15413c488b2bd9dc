/*
 * hm_tcache: per-thread caches of freed small blocks.
 *
 * A program's small mallocs and frees mostly pair up (a string built and
 * dropped, a node allocated and released). Going to the arena for each
 * costs the placement's lock and the counters' atomics both ways, ~10x
 * glibc's tcache. So each thread keeps, per size class, up to TC_SLOTS
 * freed slots of the small-block placement and hands them out again with
 * no lock and no atomic. A full class sends its older half back to the
 * arena in one go; a thread's cache goes back when the thread exits.
 *
 * The cache is an array of pointers in metadata memory (hm_meta), never a
 * list threaded through the freed blocks: a write into a freed block still
 * reaches only that block. A block sitting in a cache stays charged to the
 * cap and the node counts (it is the allocator's, and resident), which
 * bounds the difference to TC_SLOTS slots per class and thread. A free of a
 * pointer already in this thread's cache is caught (a double free).
 *
 * TLS uses the initial-exec model: the library is loaded at start-up, and
 * the general-dynamic model's __tls_get_addr may call malloc.
 */
#include <pthread.h>
#include <string.h>

#include "../core/hm_arena.h"
#include "../core/hm_meta.h"
#include "hm_preload.h"

#define TC_SLOTS 8
#define TLS_IE __attribute__((tls_model("initial-exec")))

typedef struct hm_tcache {
  uint8_t count[HM_NCLASSES];
  void *slot[HM_NCLASSES][TC_SLOTS];
} hm_tcache;

static __thread hm_tcache *tc TLS_IE;
static __thread int tc_gone TLS_IE; /* this thread's cache was flushed at its exit */
static hm_pool tc_pool = HM_POOL_INIT(sizeof(hm_tcache));
static pthread_key_t tc_key;
static int tc_key_ok;

static void tc_flush_class(hm_tcache *t, int cls, int n) {
  for (int i = 0; i < n; i++) hm_small_to_arena(t->slot[cls][i]);
  memmove(t->slot[cls], t->slot[cls] + n, (size_t)(t->count[cls] - n) * sizeof(void *));
  t->count[cls] = (uint8_t)(t->count[cls] - n);
}

static void tc_destroy(void *arg) {
  hm_tcache *t = arg;
  tc = NULL;
  tc_gone = 1;
  for (int cls = 0; cls < HM_NCLASSES; cls++) tc_flush_class(t, cls, t->count[cls]);
  hm_pool_free(&tc_pool, t);
}

void hm_tcache_flush(void) {
  hm_tcache *t = tc;
  if (t)
    for (int cls = 0; cls < HM_NCLASSES; cls++) tc_flush_class(t, cls, t->count[cls]);
}

void hm_tcache_init(void) { tc_key_ok = pthread_key_create(&tc_key, tc_destroy) == 0; }

void *hm_tcache_take(int cls) {
  hm_tcache *t = tc;
  if (!t || !t->count[cls]) return NULL;
  return t->slot[cls][--t->count[cls]];
}

int hm_tcache_put(void *p, int cls) {
  hm_tcache *t = tc;
  if (!t) {
    if (tc_gone || !tc_key_ok || !(t = hm_pool_alloc(&tc_pool))) return 0;
    if (pthread_setspecific(tc_key, t) != 0) {
      hm_pool_free(&tc_pool, t);
      tc_key_ok = 0;
      return 0;
    }
    tc = t;
  }
  for (int i = 0; i < t->count[cls]; i++)
    if (t->slot[cls][i] == p) return -1;
  if (t->count[cls] == TC_SLOTS) tc_flush_class(t, cls, TC_SLOTS / 2);
  t->slot[cls][t->count[cls]++] = p;
  return 1;
}

void hm_tcache_fork_lock(void) { hm_pool_lock(&tc_pool); }
void hm_tcache_fork_unlock(void) { hm_pool_unlock(&tc_pool); }
