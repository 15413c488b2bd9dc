/*
 * hm_place: placements. A placement is a kernel memory policy (mode + node
 * mask) plus the split used to charge bytes to its nodes; identical
 * placements are one object with one id. Each placement owns the state of
 * the memory made under it, guarded by its own lock: the extent reuse cache
 * (hm_extent) and the small-block arena (hm_arena). Placements are never
 * destroyed (there are few: one per distinct option set).
 */
#ifndef HM_PLACE_H
#define HM_PLACE_H

#include <pthread.h>
#include <stdint.h>

#include "../prim/hm_prim.h"
#include "hm_arena.h"
#include "hm_err.h"
#include "hm_extent.h"

#define HM_PL_MAX_NODES 64
#define HM_MAX_PLACEMENTS 4096

typedef struct hm_place {
  int id;
  int mode;
  int n;
  int strict; /* MPOL_BIND: capacity-checked */
  int no_thp; /* arena chunks without transparent huge pages (hm_arena.c) */
  int nodes[HM_PL_MAX_NODES];
  uint32_t charge[HM_PL_MAX_NODES]; /* per-node weights of the byte accounting */
  uint64_t charge_sum;
  hm_nodemask mask;
  pthread_mutex_t lock;
  hm_cache cache;
  hm_arena arena;
} hm_place;

/* Register (or find) a placement. Returns its id, or -HM_E_* (err set). */
int hm_place_get(int mode, const int *nodes, const uint32_t *charge, int n, hm_err *err);

/* The placement with this id, or NULL. */
hm_place *hm_place_at(int id);

/* Number of placements registered. */
int hm_place_count(void);

/* Bytes of `bytes` charged to node index i of pl (the shares sum to bytes). */
uint64_t hm_place_share(const hm_place *pl, int i, uint64_t bytes);

/* fork(): take every placement lock (and the table's) before, release
 * them after, in the parent and the child (see hm_fork.h). */
void hm_place_fork_lock(void);
void hm_place_fork_unlock(void);

/* Error for a failed mbind under pl: ENOTSUP when the mode is unknown to
 * this kernel, else ESYSCALL. */
void hm_place_mbind_err(hm_err *err, const hm_place *pl, int r);

/* Error for a failed populate of `bytes` under pl: ENOMEM when the nodes
 * could not supply the pages, else ESYSCALL (madvise). */
void hm_place_populate_err(hm_err *err, const hm_place *pl, int r, uint64_t bytes);

#endif
