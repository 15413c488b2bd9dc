/* hm_capacity: strict-placement capacity. The algorithm is in hm_capacity.h. */
#include "hm_capacity.h"

#include <errno.h>
#include <pthread.h>

#include "hm_meta.h"
#include "hm_place.h"
#include "hm_reserve.h"

typedef struct cap_node {
  int known;
  uint64_t reserve;
  int64_t headroom;       /* MemFree - reserve - lazy_unfaulted, kept incrementally */
  int64_t lazy_unfaulted; /* this node's share of the lazy extents' unfaulted bytes */
  uint64_t read_ns;
  uint64_t sys_free_at_read;
  int64_t faulted_since; /* bytes we know we faulted since the reading */
  int64_t given_since;   /* bytes we unmapped since the reading */
} cap_node;

static pthread_mutex_t cap_lock = HM_LOCK_INIT;
static int reserve_fixed;
static uint64_t reserve_bytes;

void hm_cap_set_reserve(uint64_t bytes) {
  pthread_mutex_lock(&cap_lock);
  reserve_fixed = 1;
  reserve_bytes = bytes;
  pthread_mutex_unlock(&cap_lock);
}
static cap_node nodes_[HM_MAX_NODES];
static hm_extent *lazy_head;

static void lazy_link(hm_extent *e) {
  if (e->on_lazy_list) return;
  e->lazy_prev = NULL;
  e->lazy_next = lazy_head;
  if (lazy_head) lazy_head->lazy_prev = e;
  lazy_head = e;
  e->on_lazy_list = 1;
}

static void lazy_unlink(hm_extent *e) {
  if (!e->on_lazy_list) return;
  if (e->lazy_prev) e->lazy_prev->lazy_next = e->lazy_next;
  else lazy_head = e->lazy_next;
  if (e->lazy_next) e->lazy_next->lazy_prev = e->lazy_prev;
  e->lazy_prev = e->lazy_next = NULL;
  e->on_lazy_list = 0;
}

/* Change e's unfaulted bytes to u. Lock held. Headroom is unchanged: a
 * promise that became a fault (or a discard that became a promise again)
 * moves bytes between MemFree and the promises. */
static void set_unfaulted_locked(hm_extent *e, uint64_t u, int faulted_now) {
  const hm_place *pl = e->pl;
  for (int i = 0; i < pl->n; i++) {
    cap_node *c = &nodes_[pl->nodes[i]];
    int64_t before = (int64_t)hm_place_share(pl, i, e->unfaulted), after = (int64_t)hm_place_share(pl, i, u);
    c->lazy_unfaulted += after - before;
    if (after < before && faulted_now) c->faulted_since += before - after;
  }
  e->unfaulted = u;
  if (u) lazy_link(e);
  else lazy_unlink(e);
}

static int refresh(int node, hm_err *err) {
  uint64_t total, free_b;
  int r = hm_node_meminfo(node, &total, &free_b);
  if (r != 0) {
    hm_err_sys(err, "read meminfo", r);
    err->node = node;
    return -1;
  }
  cap_node *c = &nodes_[node];
  c->known = 1;
  c->reserve = reserve_fixed ? reserve_bytes : hm_node_reserve(total);
  c->headroom = (int64_t)free_b - (int64_t)c->reserve - c->lazy_unfaulted;
  c->read_ns = hm_now_ns();
  c->sys_free_at_read = hm_system_free();
  c->faulted_since = 0;
  c->given_since = 0;
  return 0;
}

/* Count the resident pages of the lazy extents on pl's nodes: promises
 * that were kept become used memory (headroom grows by them). */
static void count_resident(const hm_place *pl) {
  size_t ps = hm_page_size();
  for (hm_extent *e = lazy_head, *next; e; e = next) {
    next = e->lazy_next;
    int shares = 0;
    for (int i = 0; i < e->pl->n && !shares; i++) shares = hm_mask_isset(&pl->mask, e->pl->nodes[i]);
    if (!shares) continue;
    int64_t res = hm_resident_pages(e->addr, e->len);
    if (res < 0) continue;
    uint64_t resident = (uint64_t)res * ps;
    uint64_t u = resident >= e->len ? 0 : e->len - resident;
    if (u >= e->unfaulted) continue;
    for (int i = 0; i < e->pl->n; i++)
      nodes_[e->pl->nodes[i]].headroom += (int64_t)(hm_place_share(e->pl, i, e->unfaulted) - hm_place_share(e->pl, i, u));
    /* These faults happened before the reading: not "since". */
    set_unfaulted_locked(e, u, 0);
  }
}

static int64_t headroom_sum(const hm_place *pl) {
  int64_t sum = 0;
  for (int i = 0; i < pl->n; i++) sum += nodes_[pl->nodes[i]].headroom;
  return sum;
}

/* Does pl have room for `need` more bytes? Lock held. */
static int fits(const hm_place *pl, uint64_t need, hm_err *err) {
  uint64_t now = hm_now_ns(), sys_free = hm_system_free();
  int64_t estimate = 0, cushion = 0;
  int fresh = 1;
  for (int i = 0; i < pl->n && fresh; i++) {
    cap_node *c = &nodes_[pl->nodes[i]];
    if (!c->known || now - c->read_ns > HM_CAP_STALE_NS) {
      fresh = 0;
      break;
    }
    /* System free memory that vanished beyond our own faults may all have
     * gone from this node. */
    int64_t drift = (int64_t)c->sys_free_at_read + c->given_since - (int64_t)sys_free - c->faulted_since;
    estimate += c->headroom - (drift > 0 ? drift : 0);
    cushion += (int64_t)c->reserve;
  }
  if (fresh && estimate - (int64_t)need >= cushion) return 0;
  for (int i = 0; i < pl->n; i++)
    if (refresh(pl->nodes[i], err) != 0) return -1;
  if (headroom_sum(pl) >= (int64_t)need) return 0;
  count_resident(pl);
  int64_t sum = headroom_sum(pl);
  if (sum >= (int64_t)need) return 0;
  uint64_t reserve = 0, committed = 0;
  for (int i = 0; i < pl->n; i++) {
    reserve += nodes_[pl->nodes[i]].reserve;
    committed += (uint64_t)nodes_[pl->nodes[i]].lazy_unfaulted;
  }
  err->code = HM_E_NOMEM;
  err->node = pl->n == 1 ? pl->nodes[0] : -1;
  err->requested = need;
  err->available = sum > 0 ? (uint64_t)sum : 0;
  err->reserve = reserve;
  err->committed = committed;
  return -1;
}

int hm_cap_take(hm_extent *e, hm_err *err) {
  pthread_mutex_lock(&cap_lock);
  int r = fits(e->pl, e->len, err);
  if (r == 0) {
    for (int i = 0; i < e->pl->n; i++) nodes_[e->pl->nodes[i]].headroom -= (int64_t)hm_place_share(e->pl, i, e->len);
    e->unfaulted = 0;
    set_unfaulted_locked(e, e->len, 1);
    e->charged = 1;
  }
  pthread_mutex_unlock(&cap_lock);
  return r;
}

int hm_cap_check(const hm_extent *e, hm_err *err) {
  if (!e->charged || e->unfaulted == 0) return 0;
  pthread_mutex_lock(&cap_lock);
  int r = fits(e->pl, 0, err);
  pthread_mutex_unlock(&cap_lock);
  if (r != 0 && err->code == HM_E_NOMEM) err->requested = e->unfaulted;
  return r;
}

void hm_cap_set_unfaulted(hm_extent *e, uint64_t unfaulted) {
  if (!e->charged || e->unfaulted == unfaulted) return;
  pthread_mutex_lock(&cap_lock);
  set_unfaulted_locked(e, unfaulted, 1);
  pthread_mutex_unlock(&cap_lock);
}

void hm_cap_give(hm_extent *e) {
  if (!e->charged) return;
  pthread_mutex_lock(&cap_lock);
  for (int i = 0; i < e->pl->n; i++) {
    cap_node *c = &nodes_[e->pl->nodes[i]];
    uint64_t share = hm_place_share(e->pl, i, e->len);
    c->headroom += (int64_t)share;
    c->given_since += (int64_t)share;
    c->lazy_unfaulted -= (int64_t)hm_place_share(e->pl, i, e->unfaulted);
  }
  e->unfaulted = 0;
  lazy_unlink(e);
  e->charged = 0;
  pthread_mutex_unlock(&cap_lock);
}

int hm_cap_probe(hm_place *pl, uint64_t bytes, hm_err *err) {
  pthread_mutex_lock(&cap_lock);
  int r = fits(pl, bytes, err);
  pthread_mutex_unlock(&cap_lock);
  return r;
}

/* Add sign * share(bytes) to every node of pl's promises. Lock held. */
static void promise(const hm_place *pl, uint64_t bytes, int sign) {
  for (int i = 0; i < pl->n; i++) nodes_[pl->nodes[i]].lazy_unfaulted += sign * (int64_t)hm_place_share(pl, i, bytes);
}

int hm_cap_rebind(hm_extent *e, hm_place *to, hm_err *err) {
  hm_place *from = e->pl;
  /* What the move will need on the target: pages that may still fault
   * there, and resident pages that live elsewhere now. Pages already on
   * the target need nothing (moving a buffer to its own node is free). */
  size_t ps = hm_page_size();
  int64_t resident = hm_resident_pages(e->addr, e->len), on_target = hm_pages_on(e->addr, e->len, &to->mask);
  uint64_t res_b = resident > 0 ? (uint64_t)resident * ps : 0, on_b = on_target > 0 ? (uint64_t)on_target * ps : 0;
  if (res_b > e->len) res_b = e->len;
  if (on_b > res_b) on_b = res_b;
  uint64_t unfaulted = e->len - res_b, need = unfaulted + (res_b - on_b);
  pthread_mutex_lock(&cap_lock);
  /* e's old promise ends here (a fresh reading must not count it). */
  if (e->charged) {
    promise(from, e->unfaulted, -1);
    lazy_unlink(e);
  }
  if (to->strict) {
    int r = 0;
    for (int i = 0; i < to->n && r == 0; i++) r = refresh(to->nodes[i], err);
    if (r == 0 && headroom_sum(to) < (int64_t)need) {
      count_resident(to);
      if (headroom_sum(to) < (int64_t)need) {
        err->code = HM_E_NOMEM;
        err->node = to->n == 1 ? to->nodes[0] : -1;
        err->requested = need;
        int64_t sum = headroom_sum(to);
        err->available = sum > 0 ? (uint64_t)sum : 0;
        r = -1;
      }
    }
    if (r != 0) {
      if (e->charged) {
        promise(from, e->unfaulted, +1);
        if (e->unfaulted) lazy_link(e);
      }
      pthread_mutex_unlock(&cap_lock);
      return -1;
    }
  }
  if (e->charged) {
    /* The source's truth changes as pages move away: read it again next time. */
    for (int i = 0; i < from->n; i++)
      if (!hm_mask_isset(&to->mask, from->nodes[i])) nodes_[from->nodes[i]].known = 0;
  }
  e->pl = to;
  e->unfaulted = unfaulted;
  e->charged = to->strict;
  if (to->strict) {
    promise(to, unfaulted, +1);
    for (int i = 0; i < to->n; i++) nodes_[to->nodes[i]].headroom -= (int64_t)hm_place_share(to, i, need);
    if (unfaulted) lazy_link(e);
  }
  pthread_mutex_unlock(&cap_lock);
  return 0;
}

void hm_cap_fork_lock(void) { pthread_mutex_lock(&cap_lock); }
void hm_cap_fork_unlock(void) { pthread_mutex_unlock(&cap_lock); }
