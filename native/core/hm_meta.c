/* hm_meta: metadata pools. See hm_meta.h. */
#include "hm_meta.h"

#include <string.h>

#include "../prim/hm_prim.h"

#define SLAB_BYTES (64 * 1024)

void hm_lock_init(pthread_mutex_t *m) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
  pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
}

void *hm_pool_alloc(hm_pool *p) {
  pthread_mutex_lock(&p->lock);
  void *obj = p->free_list;
  if (obj) {
    p->free_list = *(void **)obj;
  } else {
    if (!p->bump || p->bump + p->obj_size > p->bump_end) {
      char *slab = hm_map(SLAB_BYTES);
      if (!slab) {
        pthread_mutex_unlock(&p->lock);
        return NULL;
      }
      p->bump = slab;
      p->bump_end = slab + SLAB_BYTES;
    }
    obj = p->bump;
    p->bump += p->obj_size;
  }
  pthread_mutex_unlock(&p->lock);
  memset(obj, 0, p->obj_size);
  return obj;
}

void hm_pool_free(hm_pool *p, void *obj) {
  if (!obj) return;
  pthread_mutex_lock(&p->lock);
  *(void **)obj = p->free_list;
  p->free_list = obj;
  pthread_mutex_unlock(&p->lock);
}

void *hm_meta_map(size_t len) { return hm_map(hm_round_pages(len)); }

void hm_meta_unmap(void *p, size_t len) { hm_unmap(p, hm_round_pages(len)); }

void hm_pool_lock(hm_pool *p) { pthread_mutex_lock(&p->lock); }
void hm_pool_unlock(hm_pool *p) { pthread_mutex_unlock(&p->lock); }
