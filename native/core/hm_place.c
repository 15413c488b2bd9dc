/* hm_place: the placement table. See hm_place.h. */
#include "hm_place.h"

#include <errno.h>
#include <string.h>

#include "hm_meta.h"

static pthread_mutex_t table_lock = HM_LOCK_INIT;
static hm_place *table[HM_MAX_PLACEMENTS];
static int count; /* written under table_lock, read without: ids < count are set */

static hm_pool place_pool = HM_POOL_INIT(sizeof(hm_place));

int hm_place_get(int mode, const int *nodes, const uint32_t *charge, int n, hm_err *err) {
  if (n < 1 || n > HM_PL_MAX_NODES || mode < 0 || mode > 7) {
    err->code = HM_E_INVAL;
    return -HM_E_INVAL;
  }
  for (int i = 0; i < n; i++) {
    if (nodes[i] < 0 || nodes[i] >= HM_MAX_NODES || charge[i] == 0) {
      err->code = HM_E_INVAL;
      return -HM_E_INVAL;
    }
  }
  pthread_mutex_lock(&table_lock);
  int id = -1;
  for (int i = 0; i < count && id < 0; i++) {
    hm_place *p = table[i];
    if (p->mode != mode || p->n != n) continue;
    int same = 1;
    for (int k = 0; k < n && same; k++) same = p->nodes[k] == nodes[k] && p->charge[k] == charge[k];
    if (same) id = i;
  }
  if (id < 0) {
    hm_place *p = count < HM_MAX_PLACEMENTS ? hm_pool_alloc(&place_pool) : NULL;
    if (!p) {
      err->code = count < HM_MAX_PLACEMENTS ? HM_E_NOMEM : HM_E_INVAL;
      id = -err->code;
    } else {
      p->mode = mode;
      p->n = n;
      p->strict = mode == HM_MPOL_BIND;
      for (int k = 0; k < n; k++) {
        p->nodes[k] = nodes[k];
        p->charge[k] = charge[k];
        p->charge_sum += charge[k];
        hm_mask_set(&p->mask, nodes[k]);
      }
      hm_lock_init(&p->lock);
      p->id = count;
      table[count] = p;
      __atomic_store_n(&count, count + 1, __ATOMIC_RELEASE);
      id = p->id;
    }
  }
  pthread_mutex_unlock(&table_lock);
  return id;
}

hm_place *hm_place_at(int id) {
  if (id < 0 || id >= __atomic_load_n(&count, __ATOMIC_ACQUIRE)) return NULL;
  return table[id];
}

int hm_place_count(void) { return __atomic_load_n(&count, __ATOMIC_ACQUIRE); }

uint64_t hm_place_share(const hm_place *pl, int i, uint64_t bytes) {
  if (pl->n == 1) return bytes;
  /* Floor shares by weight; the remainder goes to the first node. */
  uint64_t s = (uint64_t)((unsigned __int128)bytes * pl->charge[i] / pl->charge_sum);
  if (i == 0) {
    uint64_t sum = 0;
    for (int k = 0; k < pl->n; k++) sum += (uint64_t)((unsigned __int128)bytes * pl->charge[k] / pl->charge_sum);
    s += bytes - sum;
  }
  return s;
}

void hm_place_populate_err(hm_err *err, const hm_place *pl, int r, uint64_t bytes) {
  if (r != -ENOMEM) {
    hm_err_sys(err, "madvise", r);
    return;
  }
  err->code = HM_E_NOMEM;
  err->node = pl->n == 1 ? pl->nodes[0] : -1;
  err->requested = bytes;
}

void hm_place_mbind_err(hm_err *err, const hm_place *pl, int r) {
  if (r == -EINVAL && (pl->mode == HM_MPOL_WEIGHTED_INTERLEAVE || pl->mode == HM_MPOL_PREFERRED_MANY) &&
      !hm_mode_supported(pl->mode)) {
    err->code = HM_E_NOTSUP;
    err->errnum = EINVAL;
    err->syscall = "mbind";
    return;
  }
  hm_err_sys(err, "mbind", r);
}

void hm_place_fork_lock(void) {
  pthread_mutex_lock(&table_lock);
  hm_pool_lock(&place_pool);
  for (int i = 0; i < count; i++) pthread_mutex_lock(&table[i]->lock);
}

void hm_place_fork_unlock(void) {
  for (int i = count - 1; i >= 0; i--) pthread_mutex_unlock(&table[i]->lock);
  hm_pool_unlock(&place_pool);
  pthread_mutex_unlock(&table_lock);
}
