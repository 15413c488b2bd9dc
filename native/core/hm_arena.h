/*
 * hm_arena: small blocks (<= HM_SMALL_MAX bytes) without a system call.
 *
 * Each placement carves chunks (extents of HM_CHUNK_BYTES, bound once)
 * into spans of HM_SPAN_BYTES; a span serves one size class (16-byte steps
 * to 1 KiB, then 32 classes per power of two up to 32 KiB) and tracks its
 * slots in a bitmap. All of that lives in metadata memory (hm_meta), never
 * inside a block: a write into a freed block (a late native write, a stray
 * pointer) can change only that block's bytes, never the allocator.
 *
 * Chunks of strict placements are populated (and verified) when made, so a
 * small block never faults on a node other processes filled since.
 * Slots are found lowest-first from a hint, so a span's never-used slots
 * sit above a high-water mark and read as zero when the chunk was fresh:
 * zeroing them costs nothing. A span whose slots are all free goes back to
 * its chunk (one empty span per class is kept to avoid thrash); a chunk
 * with no span left goes back to the extent cache, which unmaps it after
 * its decay. Power-of-two classes are aligned to their size up to the page
 * size (spans are page aligned), which is what aligned requests use.
 */
#ifndef HM_ARENA_H
#define HM_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "hm_err.h"

#define HM_SMALL_MAX (32 * 1024)
#define HM_CHUNK_BYTES (2 * 1024 * 1024)
#define HM_SPAN_BYTES (128 * 1024)
#define HM_NCLASSES 224

struct hm_place;
struct hm_chunk;
struct hm_span;

/* Per-placement arena state, guarded by the placement's lock. */
typedef struct hm_arena {
  struct hm_span *partial[HM_NCLASSES]; /* spans with a free slot */
  struct hm_chunk *with_space;          /* chunks with an uncarved span */
} hm_arena;

/* Where a small block lives. */
typedef struct hm_slot {
  struct hm_span *span;
  uint32_t index;
} hm_slot;

/* The class a request of `size` bytes (aligned to `align`, a power of two
 * <= the page size) uses, and that class's slot size. */
int hm_small_class(size_t size, size_t align);
size_t hm_small_class_size(int cls);

/* A slot of class `cls`. NULL on error (err set). */
void *hm_small_alloc(struct hm_place *pl, int cls, unsigned flags, hm_slot *out, hm_err *err);

/* Give a slot back. 0, or -1 when the slot was not handed out (a double
 * free: nothing changes). */
int hm_small_free(struct hm_place *pl, hm_slot slot);

/* Is p a block of an arena? 1 with its placement, slot and slot size; 0
 * when p is in no arena chunk; -1 when it is inside one but not at the
 * start of a handed-out span's slot (an interior or stale pointer).
 * Lock-free; exact for every pointer an arena handed out and that is
 * still live. */
int hm_small_find(const void *p, struct hm_place **pl, hm_slot *slot, size_t *slot_size);

/* The size class of a slot hm_small_find returned. */
int hm_small_slot_class(hm_slot slot);

/* fork(): hold the arena pools' locks across it. */
void hm_arena_fork_lock(void);
void hm_arena_fork_unlock(void);

/* Bytes of chunks held by arenas. */
uint64_t hm_arena_bytes(void);

#endif
