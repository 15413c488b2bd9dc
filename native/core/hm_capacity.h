/*
 * hm_capacity: may a strict placement fault more pages on its nodes?
 *
 * A bound (MPOL_BIND) mapping whose node runs out does not fail the fault:
 * the kernel reclaims, then OOM-kills some process. So every strict extent
 * is charged before its first page faults, against
 *
 *     headroom(node) = MemFree - reserve - unfaulted promises
 *
 * where the promises are the bytes of our lazy (not yet populated) strict
 * extents that may still fault. The rule, kept incrementally:
 *   - taking an extent of L bytes: headroom -= L (its pages are promised);
 *   - giving one back (munmap): headroom += L (its resident pages are freed
 *     and its promise ends: together exactly L);
 *   - a fault of a promised page moves a byte from "promised" to "used":
 *     headroom is unchanged, so nothing has to watch the faults.
 * Between readings only other processes (and our own non-strict memory)
 * change the truth. Readings of nodeN/meminfo (~30 us) therefore happen
 * only when the cheap estimate is within a reserve of the limit, when it
 * is older than HM_CAP_STALE_NS, or when the system's free memory
 * (sysinfo, one constant-cost syscall) dropped by more than our own known
 * faults since the reading: that drop may all have been on this node.
 * Only when a fresh reading still says no are the lazy extents' resident
 * pages counted (mincore), which turns promises that were kept into used
 * memory; extents found fully resident leave the lazy list for good. So no
 * steady-state allocation reads sysfs or walks the extents, and the walk
 * happens only near the limit.
 *
 * Multi-node strict placements are charged in equal shares per node and
 * fit when the sum of their nodes' headroom holds them.
 *
 * What is not covered: another process taking the memory between the
 * check and a lazy page's first touch (populate closes that: strict
 * populate faults under MPOL_PREFERRED and verifies with move_pages), and
 * swapped-out pages coming back.
 */
#ifndef HM_CAPACITY_H
#define HM_CAPACITY_H

#include "hm_err.h"
#include "hm_extent.h"

struct hm_place;

#define HM_CAP_STALE_NS (1000ULL * 1000 * 1000)

/* Charge e (a fresh strict extent, e->len bytes, nothing faulted) to its
 * placement's nodes. 0, or -1 with err = ENOMEM / a meminfo error. */
int hm_cap_take(hm_extent *e, hm_err *err);

/* Can every promise on e's nodes (e's own included) be kept now? Called
 * before a cached lazy extent is handed out again. 0 or -1 (err set). */
int hm_cap_check(const hm_extent *e, hm_err *err);

/* e now has at most `unfaulted` bytes that may still fault. */
void hm_cap_set_unfaulted(hm_extent *e, uint64_t unfaulted);

/* e is being unmapped: give its bytes back. */
void hm_cap_give(hm_extent *e);

/* May `bytes` that the caller faults at once (a shared store object,
 * hm_shm) go on pl's nodes now? The same rule and readings as
 * hm_cap_take; nothing is charged: the pages are populated and verified
 * right after, and their owner is the object, not this process. 0 or -1. */
int hm_cap_probe(struct hm_place *pl, uint64_t bytes, hm_err *err);



/* Use `bytes` as every node's reserve instead of the rule (hm_reserve.h):
 * the preload's `reserve=` key. */
void hm_cap_set_reserve(uint64_t bytes);

/* fork(): hold the capacity lock across it. */
void hm_cap_fork_lock(void);
void hm_cap_fork_unlock(void);

/* Move e's charge to placement `to` (migration). A strict target must
 * hold what the move will need there (pages that may still fault, and
 * resident pages now on other nodes), against a fresh reading; pages
 * already on the target need nothing, so moving a buffer to its own node
 * never counts it twice. On failure nothing changes. 0 or -1. */
int hm_cap_rebind(hm_extent *e, struct hm_place *to, hm_err *err);
#endif
