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

typedef struct hm_pool {
  pthread_mutex_t lock;
  size_t obj_size;
  void *free_list; /* next pointer stored in the free object (our memory) */
  char *bump, *bump_end;
} hm_pool;

#define HM_POOL_INIT(size) {PTHREAD_MUTEX_INITIALIZER, (size), NULL, NULL, NULL}

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
