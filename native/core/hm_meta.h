/*
 * hm_meta: the allocator's own metadata memory. Fixed-size object pools on
 * anonymous mappings, so that
 *   - the core never calls malloc (it also runs inside the LD_PRELOAD
 *     library, where malloc is the function being interposed), and
 *   - no allocator record ever lives in memory that JavaScript (or a
 *     program's stray write) can reach: handed-out blocks hold user data
 *     only; free lists, bitmaps and records live here.
 * Pools grow by 64 KiB slabs and keep them (records are reused in place;
 * the working set is the peak number of live objects).
 */
#ifndef HM_META_H
#define HM_META_H

#include <pthread.h>
#include <stddef.h>

/* The core's locks guard short critical sections (list and counter
 * updates, never a system call whose cost grows with state): an adaptive
 * mutex spins briefly before it sleeps, so a thread does not pay a futex
 * round trip for a lock another thread holds for a few hundred ns. */
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#define HM_LOCK_INIT PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#else
#define HM_LOCK_INIT PTHREAD_MUTEX_INITIALIZER
#endif

/* Initialise a lock like HM_LOCK_INIT does. */
void hm_lock_init(pthread_mutex_t *m);

typedef struct hm_pool {
  pthread_mutex_t lock;
  size_t obj_size;
  void *free_list; /* next pointer stored in the free object (our memory) */
  char *bump, *bump_end;
} hm_pool;

#define HM_POOL_INIT(size) {HM_LOCK_INIT, (size), NULL, NULL, NULL}

/* A zeroed object, or NULL when the kernel refuses more memory. */
void *hm_pool_alloc(hm_pool *p);
void hm_pool_free(hm_pool *p, void *obj);

/* fork(): hold a pool's lock across it. */
void hm_pool_lock(hm_pool *p);
void hm_pool_unlock(hm_pool *p);

/* Zeroed memory of `len` bytes straight from the kernel (tables that grow). */
void *hm_meta_map(size_t len);
void hm_meta_unmap(void *p, size_t len);

#endif
