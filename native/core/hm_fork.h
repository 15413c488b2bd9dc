/*
 * hm_fork: the core across fork(). A child starts with one thread; a lock
 * another thread held at the fork would stay held in the child forever, and
 * the state it guarded could be half updated. So the forking thread takes
 * every core lock before fork (in one fixed order, the order the core nests
 * them: the placement table, the placement pool, each placement, the
 * extent and arena pools, capacity) and releases them after, in the parent
 * and in the child: the child sees consistent state and free locks. The
 * preload library registers these with pthread_atfork (programs it runs
 * fork: redis' BGSAVE, shells, servers).
 */
#ifndef HM_FORK_H
#define HM_FORK_H

void hm_fork_prepare(void);
void hm_fork_release(void);

#endif
