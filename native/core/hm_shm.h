/*
 * hm_shm: the memory of shared store objects (src/store). An object is a
 * memfd sized to whole pages; its placement is the memfd's shared policy:
 * mbind on a MAP_SHARED mapping of shmem sets the policy of the object
 * itself, which every mapper's faults use, so the creator places it once
 * and every process that maps it reads the same pages on the same node.
 *
 * Creation (the creator's process): the core's capacity rule first
 * (hm_cap_probe: MemFree - reserve on the placement's nodes), then, for a
 * strict placement, the pages are faulted under MPOL_PREFERRED (which falls
 * back instead of OOM-killing), counted with move_pages and the object goes
 * to MPOL_BIND only when every page landed on its nodes; otherwise ENOMEM
 * and nothing is left behind. The creator's view is a shared writable
 * mapping until seal.
 *
 * Readers map the object MAP_PRIVATE (copy-on-write) from a read-only fd:
 * a write through a reader's view copies that page into the reader only,
 * never crashes it and never changes the object for anyone else.
 *
 * A mapping handed to JS as an external ArrayBuffer has two holds (the
 * backing store's finalizer and the ArrayBuffer object's, as hm_core's
 * blocks do): release swaps the range for an anonymous placeholder at once
 * (the object's pages are no longer referenced by this process, while a
 * native write still in flight lands in memory nobody reads), and the
 * placeholder is unmapped when both holds were finalized.
 *
 * Used by the addon only (not the preload): records come from malloc.
 */
#ifndef HM_SHM_H
#define HM_SHM_H

#include <stddef.h>
#include <stdint.h>

#include "hm_err.h"

typedef struct hm_shm_map hm_shm_map;

/* A new object of `size` bytes under placement pl, mapped shared
 * read/write; *fd_out is its memfd (the caller owns it). populate: fault
 * (and verify) every page now. NULL on error (err set). */
hm_shm_map *hm_shm_create(int pl, size_t size, int populate, int *fd_out, hm_err *err);

/* A private copy-on-write mapping of `size` bytes of the object behind fd
 * (a memfd sealed against shrinking, else HM_E_INVAL); prefault: map its resident pages now (MADV_POPULATE_READ, no copy).
 * NULL on error (err set). */
hm_shm_map *hm_shm_map_private(int fd, size_t size, int prefault, hm_err *err);

void *hm_shm_addr(const hm_shm_map *m);
size_t hm_shm_size(const hm_shm_map *m);

/* The live (not released) mapping whose view starts at addr with size
 * bytes, or NULL. */
hm_shm_map *hm_shm_lookup(const void *addr, size_t size);

/* JS detached the view: let go of the object's pages now (placeholder).
 * 0 or -errno. */
int hm_shm_release(hm_shm_map *m);

/* One JS hold was finalized; the last one unmaps and frees the record. */
void hm_shm_unhold(hm_shm_map *m);

/* JS holds of a mapping handed out as an ArrayBuffer. */
#define HM_SHM_HOLDS 2

#endif
