/* hm_stripe: weighted stripe layout. See hm_stripe.h and src/policy/stripe.ts. */
#include "hm_stripe.h"


/* Segment count and bytes per node of a layout, in O(n). */
static int layout_stats(uint64_t size, const uint32_t *w, int n, uint64_t unit, uint64_t *bytes, uint64_t *segments) {
  uint64_t wsum = 0;
  for (int i = 0; i < n; i++) wsum += w[i];
  uint64_t stripes = (size + unit - 1) / unit;
  uint64_t full = stripes / wsum, rem = stripes - full * wsum, prefix = 0, partial_runs = 0;
  int last = -1;
  for (int i = 0; i < n; i++) {
    uint64_t in_partial = rem > prefix ? rem - prefix : 0;
    if (in_partial > w[i]) in_partial = w[i];
    if (in_partial > 0) partial_runs++;
    if (prefix < rem) last = i;
    bytes[i] = (full * w[i] + in_partial) * unit;
    prefix += w[i];
  }
  if (rem == 0) last = n - 1;
  bytes[last] -= stripes * unit - size; /* the last stripe is cut at size */
  *segments = n == 1 ? 1 : full * (uint64_t)n + partial_runs;
  return 0;
}

static int args_ok(uint64_t size, const uint32_t *weights, int n) {
  if (size == 0 || n < 1 || n > HM_STRIPE_MAX_NODES) return 0;
  for (int i = 0; i < n; i++)
    if (weights[i] < 1 || weights[i] > 255) return 0;
  return 1;
}

uint64_t hm_stripe_unit(uint64_t size, const uint32_t *w, int n, uint64_t stripe_bytes, uint64_t ps, int max_segments) {
  if (!args_ok(size, w, n) || ps == 0 || (ps & (ps - 1)) || max_segments < 1) return 0;
  uint64_t bytes[HM_STRIPE_MAX_NODES], segments, unit = ps;
  uint64_t wsum = 0;
  for (int i = 0; i < n; i++) wsum += w[i];
  if (stripe_bytes) {
    if (stripe_bytes > (UINT64_MAX >> 2)) return 0;
    unit = (stripe_bytes + ps - 1) / ps * ps;
  } else {
    for (uint64_t u = ps > HM_STRIPE_DEFAULT_MAX_UNIT ? ps : HM_STRIPE_DEFAULT_MAX_UNIT; u >= ps; u /= 2) {
      layout_stats(size, w, n, u, bytes, &segments);
      double err = 0;
      for (int i = 0; i < n; i++) {
        double e = __builtin_fabs((double)bytes[i] / (double)size - (double)w[i] / (double)wsum);
        if (e > err) err = e;
      }
      /* Same expression as the TypeScript engine, so both pick one unit. */
      if (err * 100 <= 0.1) {
        unit = u;
        break;
      }
    }
  }
  for (;;) {
    layout_stats(size, w, n, unit, bytes, &segments);
    if (segments <= (uint64_t)max_segments || unit > size) break;
    unit *= 2;
  }
  return unit;
}

int hm_stripe_layout(uint64_t size, const uint32_t *w, int n, uint64_t unit, hm_stripe_seg *out, int max_segments) {
  if (!args_ok(size, w, n) || unit == 0) return -1;
  uint64_t wsum = 0;
  for (int i = 0; i < n; i++) wsum += w[i];
  uint64_t cycle = wsum * unit;
  int count = 0;
  for (uint64_t start = 0; start < size; start += cycle) {
    uint64_t offset = start;
    for (int i = 0; i < n && offset < size; i++) {
      uint64_t length = (uint64_t)w[i] * unit;
      if (length > size - offset) length = size - offset;
      hm_stripe_seg *last = count ? &out[count - 1] : 0;
      if (last && last->node_index == i && last->offset + last->length == offset) {
        last->length += length;
      } else {
        if (count == max_segments) return -1;
        out[count++] = (hm_stripe_seg){offset, length, i};
      }
      offset += length;
    }
  }
  return count;
}
