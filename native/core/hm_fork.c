/* hm_fork: every core lock held across fork(). See hm_fork.h. */
#include "hm_fork.h"

#include "hm_arena.h"
#include "hm_capacity.h"
#include "hm_extent.h"
#include "hm_place.h"

void hm_fork_prepare(void) {
  hm_place_fork_lock();
  hm_extent_fork_lock();
  hm_arena_fork_lock();
  hm_cap_fork_lock();
}

void hm_fork_release(void) {
  hm_cap_fork_unlock();
  hm_arena_fork_unlock();
  hm_extent_fork_unlock();
  hm_place_fork_unlock();
}
