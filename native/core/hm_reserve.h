/*
 * The one reserve rule: bytes a strict allocation leaves free on a node.
 *
 *     reserve(node) = max(64 MiB, MemTotal / 50)
 *
 * The kernel's watermarks, page cache and other processes need headroom:
 * filling a node to its watermark triggers reclaim on it (slow) and, for a
 * bound mapping, an OOM kill instead of a fallback. 2 % is the order of the
 * high watermark plus lowmem reserve on large nodes; the 64 MiB floor covers
 * small (VM) nodes. The addon, the preload library and the TypeScript policy
 * engine (src/policy/capacity.ts) use this rule; test/contract.test.ts holds
 * them together.
 */
#ifndef HM_RESERVE_H
#define HM_RESERVE_H

#include <stdint.h>

#define HM_RESERVE_MIN_BYTES (64ULL * 1024 * 1024)
#define HM_RESERVE_DIVISOR 50

static inline uint64_t hm_node_reserve(uint64_t mem_total) {
  uint64_t share = mem_total / HM_RESERVE_DIVISOR;
  return share > HM_RESERVE_MIN_BYTES ? share : HM_RESERVE_MIN_BYTES;
}

#endif
