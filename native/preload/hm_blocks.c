/*
 * hm_blocks: placing the preload's blocks through the shared core.
 *
 * bind / preferred / interleave: every block is an extent of the target
 * placement (native/core/hm_extent.h), so a freed block's mapping is
 * reused by the next block of its length class (no mmap, mbind or munmap
 * on a churn of large blocks; the cache holds `cache` bytes, 64 MiB by
 * default: at 8 MiB a churn of 64 KiB-4 MiB blocks cost 4.2x glibc's CPU,
 * at 64 MiB 1.0x), cached mappings decay after ~10 s, and a
 * strict (bind) block is charged to its nodes' capacity before any of its
 * pages can fault, lazy or populated: a full node gives ENOMEM here, which
 * becomes the overflow policy, never an OOM kill.
 * weighted: a userspace stripe over the nodes (native/core/hm_stripe.h,
 * the algorithm the addon uses), each range MPOL_PREFERRED to its node, so
 * like the kernel's weighted interleave it falls back when a node is full.
 *
 * Small blocks (<= HM_SMALL_MAX) are slots of the core's arena under the
 * non-strict form of the placement (see small_pl):
 * chunks of 2 MiB bound once, slot bitmaps in metadata, so a program's
 * small mallocs cost no system call and no mapping each. free() finds a
 * slot from its bare pointer with the arena's lock-free address index.
 *
 * `cap` limits the live placed bytes (slot sizes; for the rest the pages a
 * block can use, header included):
 * a compare-and-swap reserves them, release gives them back. A refused
 * block (cap, node full, mbind or populate error) follows the overflow
 * policy: fail (NULL, errno ENOMEM), fallback (glibc), interleave (an
 * extent of the kernel-interleave placement over the fallback nodes,
 * counted apart from the cap).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "../core/hm_arena.h"
#include "../core/hm_capacity.h"
#include "../core/hm_extent.h"
#include "../core/hm_fork.h"
#include "../core/hm_place.h"
#include "../core/hm_stripe.h"
#include "../prim/hm_prim.h"
#include "hm_preload.h"

static hm_place *target, *overflow_pl;
/* Where small blocks go: the target's nodes, non-strict (hm_conf_lenient:
 * bind becomes preferred; weighted, whose stripe needs a mapping per block,
 * the kernel's weighted interleave or plain interleave). A strict arena
 * populates each 2 MiB chunk when it is made, so every span a size class
 * starts is resident at once: a program with a hundred distinct small
 * sizes would carry a hundred mostly empty 128 KiB spans. Lazy chunks cost
 * only the pages slots use, and a full node falls back page by page
 * instead of failing (the exit line counts those pages). Its chunks use
 * base pages: under THP "always" every touched chunk would otherwise be a
 * resident 2 MiB page (sqlite's heap: 1.11x glibc's peak RSS, 1.045x with
 * base pages). */
static hm_place *small_pl;

/* Stripe layouts are computed into one buffer (4096 segments do not fit
 * every thread's stack). */
static hm_stripe_seg segs[HM_STRIPE_MAX_SEGMENTS];
static pthread_mutex_t segs_lock = PTHREAD_MUTEX_INITIALIZER;

static void fork_prepare(void) {
  pthread_mutex_lock(&segs_lock);
  hm_tcache_fork_lock();
  hm_fork_prepare();
}

static void fork_release(void) {
  hm_fork_release();
  hm_tcache_fork_unlock();
  pthread_mutex_unlock(&segs_lock);
}

static size_t round_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

static hm_place *placement(int mode, const int *nodes, int n) {
  uint32_t ones[HM_CONF_MAX_NODES];
  for (int i = 0; i < n; i++) ones[i] = 1;
  hm_err e = {.node = -1};
  int id = hm_place_get(mode, nodes, ones, n, &e);
  return id < 0 ? NULL : hm_place_at(id);
}

int hm_blocks_init(void) {
  /* Nodes must exist and have memory. */
  hm_nodemask has_memory;
  if (hm_read_nodelist("/sys/devices/system/node/has_memory", &has_memory) != 0) {
    hm_say("cannot read /sys/devices/system/node/has_memory (kernel without NUMA?) in HMSDK_CONF; memory placement disabled");
    return -1;
  }
  char num[24];
  for (int i = 0; i < hm_C.nnodes; i++)
    if (!hm_mask_isset(&has_memory, hm_C.nodes[i])) {
      hm_u64_str((uint64_t)hm_C.nodes[i], num, sizeof num);
      hm_say("node ", num, " has no memory or does not exist in HMSDK_CONF; memory placement disabled");
      return -1;
    }
  for (int i = 0; i < hm_C.nfb; i++)
    if (!hm_mask_isset(&has_memory, hm_C.fb_nodes[i])) {
      hm_u64_str((uint64_t)hm_C.fb_nodes[i], num, sizeof num);
      hm_say("fallback node ", num, " has no memory or does not exist in HMSDK_CONF; memory placement disabled");
      return -1;
    }
  if (hm_C.nfb == 0)
    for (int i = 0; i < HM_MAX_NODES && hm_C.nfb < HM_CONF_MAX_NODES; i++)
      if (hm_mask_isset(&has_memory, i)) hm_C.fb_nodes[hm_C.nfb++] = i;
  if (hm_C.reserve_set) hm_cap_set_reserve(hm_C.reserve);

  int mode = HM_MPOL_BIND;
  switch (hm_C.policy) {
  case HM_POL_INTERLEAVE: mode = HM_MPOL_INTERLEAVE; break;
  case HM_POL_PREFERRED:
    if (hm_C.nnodes == 1) {
      mode = HM_MPOL_PREFERRED;
    } else if (hm_mode_supported(HM_MPOL_PREFERRED_MANY)) {
      mode = HM_MPOL_PREFERRED_MANY;
    } else {
      /* plain preferred takes one node: the first listed */
      mode = HM_MPOL_PREFERRED;
      hm_C.nnodes = 1;
      hm_say("policy=preferred with several nodes: kernel lacks MPOL_PREFERRED_MANY, preferring the first");
    }
    break;
  case HM_POL_WEIGHTED: mode = HM_MPOL_PREFERRED; break;
  default: break;
  }
  if (!hm_mode_supported(mode)) {
    hm_say("mbind is not usable here (", strerror(errno), "); memory placement disabled");
    return -1;
  }
  if (hm_C.policy != HM_POL_WEIGHTED && !(target = placement(mode, hm_C.nodes, hm_C.nnodes))) {
    hm_say("too many placements; memory placement disabled");
    return -1;
  }
  /* Small blocks: the non-strict form of the policy (see small_pl). */
  int snodes[HM_CONF_MAX_NODES], sn;
  int smode = hm_conf_lenient(&hm_C, snodes, &sn);
  if (!(small_pl = placement(smode, snodes, sn))) {
    hm_say("too many placements; memory placement disabled");
    return -1;
  }
  small_pl->no_thp = 1;
  /* Overflow interleave spreads over the fallback and the configured nodes,
   * listed once each in id order (a mask's order). */
  hm_nodemask m;
  hm_mask_clear(&m);
  for (int i = 0; i < hm_C.nfb; i++) hm_mask_set(&m, hm_C.fb_nodes[i]);
  for (int i = 0; i < hm_C.nnodes; i++) hm_mask_set(&m, hm_C.nodes[i]);
  int ovf[HM_CONF_MAX_NODES], novf = 0;
  for (int i = 0; i < HM_MAX_NODES && novf < HM_CONF_MAX_NODES; i++)
    if (hm_mask_isset(&m, i)) ovf[novf++] = i;
  if (hm_C.overflow == HM_OVF_INTERLEAVE && !(overflow_pl = placement(HM_MPOL_INTERLEAVE, ovf, novf))) {
    hm_say("too many placements; memory placement disabled");
    return -1;
  }
  hm_tcache_init();
  hm_mbind_split(hm_C.granule);
  hm_place *pls[] = {target, small_pl, overflow_pl};
  for (size_t i = 0; i < sizeof pls / sizeof pls[0]; i++)
    if (pls[i]) hm_extent_cache_limit(pls[i], hm_C.cache);
  pthread_atfork(fork_prepare, fork_release, fork_release);
  return 0;
}

/* ---- cap ------------------------------------------------------------------ */

static int cap_take(size_t len) {
  uint64_t cur = atomic_load_explicit(&hm_st_live, memory_order_relaxed);
  for (;;) {
    if (hm_C.cap && (cur > hm_C.cap || len > hm_C.cap - cur)) return 0;
    if (atomic_compare_exchange_weak_explicit(&hm_st_live, &cur, cur + len, memory_order_relaxed, memory_order_relaxed)) {
      hm_peak_max(&hm_st_peak, cur + len);
      return 1;
    }
  }
}

static void cap_give(size_t len) { atomic_fetch_sub_explicit(&hm_st_live, len, memory_order_relaxed); }

/* ---- per-node statistics ---------------------------------------------------- */

/* The stripe layout of a mapping of len bytes. segs_lock held. */
static int stripe_layout(size_t len, hm_stripe_seg *out) {
  uint64_t unit = hm_stripe_unit(len, hm_C.weights, hm_C.nnodes, hm_C.stripe, hm_pagesize, HM_STRIPE_MAX_SEGMENTS);
  return unit ? hm_stripe_layout(len, hm_C.weights, hm_C.nnodes, unit, out, HM_STRIPE_MAX_SEGMENTS) : -1;
}

static void charge_place(const hm_place *pl, uint64_t bytes, int sign) {
  for (int i = 0; i < pl->n; i++) {
    uint64_t b = hm_place_share(pl, i, bytes);
    if (sign > 0) hm_node_add(pl->nodes[i], b);
    else hm_node_sub(pl->nodes[i], b);
  }
}

static void charge_nodes(const struct hm_hdr *h, int sign) {
  if (h->extent) {
    charge_place(((const hm_extent *)h->extent)->pl, (uint64_t)h->charge_pages * hm_pagesize, sign);
    return;
  }
  /* A stripe: recompute its layout (deterministic in the length). */
  pthread_mutex_lock(&segs_lock);
  int n = stripe_layout(h->maplen, segs);
  for (int k = 0; k < n; k++) {
    if (sign > 0) hm_node_add(hm_C.nodes[segs[k].node_index], segs[k].length);
    else hm_node_sub(hm_C.nodes[segs[k].node_index], segs[k].length);
  }
  pthread_mutex_unlock(&segs_lock);
}

/* ---- mapping a block -------------------------------------------------------- */

/* A weighted stripe mapping of len bytes. NULL with *why set (and its
 * counter bumped). */
static char *map_stripe(size_t len, const char **why) {
  char *base = hm_map(len);
  if (!base) {
    *why = "mmap";
    return NULL;
  }
  pthread_mutex_lock(&segs_lock);
  int n = stripe_layout(len, segs), r = n < 0 ? -EINVAL : 0;
  for (int k = 0; k < n && r == 0; k++) {
    hm_nodemask m;
    hm_mask_clear(&m);
    hm_mask_set(&m, hm_C.nodes[segs[k].node_index]);
    r = hm_mbind(base + segs[k].offset, (size_t)segs[k].length, HM_MPOL_PREFERRED, &m, 0);
  }
  pthread_mutex_unlock(&segs_lock);
  if (r != 0) {
    hm_unmap(base, len);
    *why = "mbind error";
    atomic_fetch_add(&hm_st_mbind_err, 1);
    return NULL;
  }
  if (hm_C.populate && hm_populate(base, len) != 0) {
    hm_unmap(base, len);
    *why = "populate error";
    atomic_fetch_add(&hm_st_populate_err, 1);
    return NULL;
  }
  return base;
}

/* Why a placement failed, counted. */
static const char *refusal(const hm_err *e) {
  if (e->code == HM_E_NOMEM) {
    atomic_fetch_add(&hm_st_nodefull, 1);
    return "node full";
  }
  if (e->syscall && !strcmp(e->syscall, "madvise")) {
    atomic_fetch_add(&hm_st_populate_err, 1);
    return "populate error";
  }
  atomic_fetch_add(&hm_st_mbind_err, 1);
  return "mbind error";
}

static void log_place(const char *what, size_t size, size_t len) {
  char a[24], b[24];
  hm_u64_str(size, a, sizeof a);
  hm_u64_str(len, b, sizeof b);
  hm_say(what, " size=", a, " mapped=", b);
}

/* A refused block (why) under overflow=fail: counted, errno ENOMEM, 1. Else
 * 0: the caller goes on to the overflow placement or glibc. */
static int refused_fails(const char *why, size_t size, size_t len) {
  if (hm_C.verbose >= 2) log_place(why, size, len);
  if (hm_C.overflow != HM_OVF_FAIL) return 0;
  atomic_fetch_add(&hm_st_fail, 1);
  errno = ENOMEM;
  return 1;
}

void *hm_block_place(size_t size, size_t align, int zero, int *fallback) {
  size_t ps = hm_pagesize;
  *fallback = 0;
  int layout = align <= HM_HDR_OFF ? HM_LAYOUT_STD : HM_LAYOUT_ALIGNED;
  if (size > ((size_t)1 << 43) || align > ((size_t)1 << 30)) { /* charge_pages fits 32 bits */
    atomic_fetch_add(&hm_st_fail, 1);
    errno = ENOMEM;
    return NULL;
  }
  /* ALIGNED: [header page][user...]; alignments above a page get room to
   * move the user pointer up within the mapping. */
  size_t need = layout == HM_LAYOUT_STD ? HM_HDR_OFF + size : ps + round_up(size ? size : 1, ps) + (align > ps ? align : 0);
  unsigned flags = (zero ? HM_F_ZERO : 0) | (hm_C.populate ? HM_F_POPULATE : 0);
  int kind = HM_KIND_TARGET;
  hm_extent *ext = NULL;
  char *base = NULL;
  /* A block charges (to the cap and the per-node counts) the pages it can
   * use, not its mapping's length class: a reused extent may be longer,
   * but the program never touches past its request. */
  size_t charge = hm_round_pages(need), len = charge;
  const char *why = NULL;
  if (!cap_take(charge)) {
    why = "cap";
    atomic_fetch_add(&hm_st_capfull, 1);
  } else if (hm_C.policy == HM_POL_WEIGHTED) {
    if (!(base = map_stripe(len, &why))) cap_give(charge);
  } else {
    hm_err e = {.node = -1};
    ext = hm_extent_get(target, need, flags, &e);
    if (!ext) {
      cap_give(charge);
      why = refusal(&e);
    } else {
      base = ext->addr;
    }
  }
  if (!base) {
    if (refused_fails(why, size, len)) return NULL;
    hm_err e = {.node = -1};
    if (hm_C.overflow == HM_OVF_FALLBACK || !(ext = hm_extent_get(overflow_pl, need, flags, &e))) {
      if (hm_C.overflow != HM_OVF_FALLBACK) atomic_fetch_add(&hm_st_mbind_err, 1);
      atomic_fetch_add(&hm_st_fallback, 1);
      *fallback = 1;
      return NULL;
    }
    base = ext->addr;
    kind = HM_KIND_OVERFLOW;
  }
  if (ext) len = ext->len;
  uintptr_t user = (uintptr_t)base + (layout == HM_LAYOUT_STD ? HM_HDR_OFF : ps);
  if (layout == HM_LAYOUT_ALIGNED) user = round_up(user, align);
  struct hm_hdr *h = (struct hm_hdr *)(user - HM_HDR_OFF);
  h->base = (uintptr_t)base;
  h->maplen = len;
  h->usable = len - (user - (uintptr_t)base);
  h->user = user;
  h->kind = (uint16_t)kind;
  h->layout = (uint16_t)layout;
  h->charge_pages = (uint32_t)(charge / ps);
  h->extent = ext;
  hm_header_seal(h);
  atomic_fetch_add_explicit(&hm_st_count, 1, memory_order_relaxed);
  if (kind == HM_KIND_OVERFLOW) {
    uint64_t v = atomic_fetch_add(&hm_st_ovf_live, charge) + charge;
    hm_peak_max(&hm_st_ovf_peak, v);
    atomic_fetch_add(&hm_st_ovf_count, 1);
  }
  charge_nodes(h, +1);
  hm_coverage_note(charge);
  if (hm_C.verbose >= 2) log_place(kind == HM_KIND_TARGET ? "placed" : "overflow interleave", size, len);
  return (void *)user;
}

void hm_block_release(struct hm_hdr *h) {
  struct hm_hdr copy = *h;
  h->magic = 0;
  charge_nodes(&copy, -1);
  uint64_t charge = (uint64_t)copy.charge_pages * hm_pagesize;
  if (copy.kind == HM_KIND_TARGET) cap_give(charge);
  else atomic_fetch_sub(&hm_st_ovf_live, charge);
  atomic_fetch_add_explicit(&hm_st_frees, 1, memory_order_relaxed);
  if (copy.extent) hm_extent_put(copy.extent);
  else hm_unmap((void *)copy.base, copy.maplen);
}

/* ---- small blocks ----------------------------------------------------------- */

void *hm_small_place(size_t size, size_t align, int zero, int *fallback) {
  *fallback = 0;
  int cls = hm_small_class(size ? size : 1, align);
  void *cached = hm_tcache_take(cls);
  if (cached) {
    if (zero) memset(cached, 0, size);
    return cached;
  }
  size_t slot_size = hm_small_class_size(cls);
  unsigned flags = (zero ? HM_F_ZERO : 0) | (hm_C.populate ? HM_F_POPULATE : 0);
  hm_slot slot;
  hm_err e = {.node = -1};
  hm_place *pl = small_pl;
  void *p = NULL;
  const char *why = NULL;
  if (!cap_take(slot_size)) {
    why = "cap";
    atomic_fetch_add(&hm_st_capfull, 1);
  } else if (!(p = hm_small_alloc(pl, cls, flags, &slot, &e))) {
    cap_give(slot_size);
    why = refusal(&e);
  }
  if (!p) {
    if (refused_fails(why, size, slot_size)) return NULL;
    e = (hm_err){.node = -1};
    if (hm_C.overflow == HM_OVF_FALLBACK || !(p = hm_small_alloc(overflow_pl, cls, flags, &slot, &e))) {
      atomic_fetch_add(&hm_st_fallback, 1);
      *fallback = 1;
      return NULL;
    }
    pl = overflow_pl;
    uint64_t v = atomic_fetch_add(&hm_st_ovf_live, slot_size) + slot_size;
    hm_peak_max(&hm_st_ovf_peak, v);
    atomic_fetch_add(&hm_st_ovf_count, 1);
  }
  atomic_fetch_add_explicit(&hm_st_small_count, 1, memory_order_relaxed);
  charge_place(pl, slot_size, +1);
  return p;
}

/* Give a live small block back to its arena, with its charges. 1, or -1
 * when p is not a live block. */
int hm_small_to_arena(void *p) {
  hm_place *pl;
  hm_slot slot;
  size_t slot_size;
  if (hm_small_find(p, &pl, &slot, &slot_size) != 1 || hm_small_free(pl, slot) != 0) return -1;
  charge_place(pl, slot_size, -1);
  if (pl == small_pl) cap_give(slot_size);
  else atomic_fetch_sub(&hm_st_ovf_live, slot_size);
  atomic_fetch_add_explicit(&hm_st_small_frees, 1, memory_order_relaxed);
  return 1;
}

int hm_small_release(void *p) {
  hm_place *pl;
  hm_slot slot;
  size_t slot_size;
  int r = hm_small_find(p, &pl, &slot, &slot_size);
  if (r <= 0) return r;
  if (pl == small_pl) {
    int c = hm_tcache_put(p, hm_small_slot_class(slot)); /* the thread's cache first */
    if (c != 0) return c;
  }
  return hm_small_to_arena(p);
}

size_t hm_small_usable(const void *p) {
  hm_place *pl;
  hm_slot slot;
  size_t slot_size;
  return hm_small_find(p, &pl, &slot, &slot_size) == 1 ? slot_size : 0;
}
