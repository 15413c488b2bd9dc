/*
 * hm_stripe: the userspace weighted stripe, the one implementation used by
 * the addon (per-buffer weights the kernel cannot express, or kernels
 * without MPOL_WEIGHTED_INTERLEAVE) and the preload library (`weights=`).
 * The TypeScript policy engine has the same algorithm for planning
 * (src/policy/stripe.ts: its header explains the layout and the choice of
 * unit); test/contract.test.ts checks both give the same segments.
 *
 * Layout: stripes of `unit` bytes dealt out in weight order (w_A stripes
 * to node A, then w_B to node B, ...), adjacent stripes of one node merged;
 * the last segment ends at `size`. Unit: the given one rounded up to pages,
 * else the largest power of two from 2 MiB down to the page size whose
 * realized shares are within 0.1 percentage points of the weights (the
 * page size when none is); then doubled until the layout has at most
 * `max_segments` segments (each is a VMA).
 */
#ifndef HM_STRIPE_H
#define HM_STRIPE_H

#include <stddef.h>
#include <stdint.h>

#define HM_STRIPE_MAX_NODES 64
#define HM_STRIPE_MAX_SEGMENTS 4096
#define HM_STRIPE_DEFAULT_MAX_UNIT (2u * 1024 * 1024)

typedef struct hm_stripe_seg {
  uint64_t offset;
  uint64_t length;
  int node_index; /* index into the nodes/weights arrays */
} hm_stripe_seg;

/* The unit for these arguments (stripe_bytes 0 = adaptive). 0 when an
 * argument is out of range (n outside 1..64, a weight outside 1..255,
 * size 0, page size not a power of two). */
uint64_t hm_stripe_unit(uint64_t size, const uint32_t *weights, int n, uint64_t stripe_bytes, uint64_t page_size,
                        int max_segments);

/* Write the segments (at most max_segments) into out; returns their
 * number, or -1 for bad arguments. */
int hm_stripe_layout(uint64_t size, const uint32_t *weights, int n, uint64_t unit, hm_stripe_seg *out, int max_segments);

#endif
