/*
 * addon.c: the N-API binding, in C. Argument unpacking, ArrayBuffer
 * creation and detach, conversion of core results to JS values; no policy
 * and no system calls (native/core and native/prim own those); argument
 * validation with user-facing messages happens in TypeScript
 * (src/util/validate.ts), so a bad argument reaching here is answered with
 * EINVAL, never trusted.
 *
 * Every napi call is checked. A failing call returns NULL to JS after
 * throwing at most once, and never aborts: while a worker's environment is
 * being torn down (worker.terminate()) napi calls fail and throwing fails
 * too; node-addon-api turns that into a fatal error, plain C just returns.
 *
 * Allocation errors are returned as a negative number (not thrown) so the
 * hot path creates no exception objects; lastError() gives the details of
 * the last failure on this thread.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/hm_arena.h"
#include "../core/hm_core.h"
#include "../core/hm_place.h"
#include "../core/hm_reserve.h"
#include "../core/hm_shm.h"
#include "../core/hm_stripe.h"
#include "../preload/hm_conf.h"

_Static_assert(sizeof(void *) == 8, "finalizer handles are 64-bit");

static _Thread_local hm_err last_err;

#define CHECK(env, call)                    \
  do {                                      \
    if ((call) != napi_ok) return fail(env); \
  } while (0)

/* Throw once if nothing is pending (and throwing still works). */
static napi_value fail(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending)
    napi_throw_error(env, "ESYSCALL", "hmsdk: a Node-API call failed");
  return NULL;
}

static napi_value number(napi_env env, double v) {
  napi_value out;
  return napi_create_double(env, v, &out) == napi_ok ? out : fail(env);
}

static int set_number(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  return napi_create_double(env, v, &n) == napi_ok && napi_set_named_property(env, obj, key, n) == napi_ok ? 0 : -1;
}

static int set_bool(napi_env env, napi_value obj, const char *key, bool v) {
  napi_value n;
  return napi_get_boolean(env, v, &n) == napi_ok && napi_set_named_property(env, obj, key, n) == napi_ok ? 0 : -1;
}

/* A number argument, or NaN when it is not a number. */
static double arg_number(napi_env env, napi_value v) {
  double d;
  return napi_get_value_double(env, v, &d) == napi_ok ? d : __builtin_nan("");
}

static int arg_u64(napi_env env, napi_value v, uint64_t max, uint64_t *out) {
  double d = arg_number(env, v);
  if (!(d >= 0) || d > (double)max || d != (double)(uint64_t)d) return -1;
  *out = (uint64_t)d;
  return 0;
}

/* An array of small non-negative integers (at most `cap`). Count or -1. */
static int arg_ints(napi_env env, napi_value v, uint32_t cap, int64_t max, int64_t *out) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, &n) != napi_ok ||
      n > cap)
    return -1;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    uint64_t x;
    if (napi_get_element(env, v, i, &e) != napi_ok || arg_u64(env, e, (uint64_t)max, &x) != 0) return -1;
    out[i] = (int64_t)x;
  }
  return (int)n;
}

static napi_value error_code(napi_env env, const hm_err *e) {
  last_err = *e;
  return number(env, -(e->code ? e->code : HM_E_INVAL));
}

static napi_value invalid(napi_env env) {
  hm_err e = {.code = HM_E_INVAL, .node = -1};
  return error_code(env, &e);
}

static void finalize_block(napi_env env, void *data, void *hint) { hm_finalize((uint64_t)(uintptr_t)hint); }

static napi_value block_to_arraybuffer(napi_env env, hm_block *b) {
  napi_value ab;
  uint64_t handle = hm_block_handle(b);
  napi_status s = napi_create_external_arraybuffer(env, hm_block_ptr(b), hm_block_size(b), finalize_block,
                                                   (void *)(uintptr_t)handle, &ab);
  if (s != napi_ok) {
    /* Runtimes with a V8 sandbox (Electron) refuse external buffers. */
    hm_free(b);
    for (int i = 0; i < HM_JS_HOLDS; i++) hm_finalize(handle);
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && !pending)
      napi_throw_error(env, "ENOADDON",
                       s == napi_no_external_buffers_allowed ? "this runtime does not allow external ArrayBuffers"
                                                             : "napi_create_external_arraybuffer failed");
    return NULL;
  }
  /* The second hold: the ArrayBuffer object itself, which a pending I/O
   * request keeps alive after a free (see hm_core.h). */
  if (napi_add_finalizer(env, ab, NULL, finalize_block, (void *)(uintptr_t)handle, NULL) != napi_ok)
    hm_finalize(handle);
  return ab;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  napi_value undef;
  if (argc < want && napi_get_undefined(env, &undef) == napi_ok)
    for (size_t i = argc; i < want; i++) argv[i] = undef;
  return 0;
}

/* alloc(placementId, size, align, flags) -> ArrayBuffer | negative code */
static napi_value Alloc(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) != 0) return fail(env);
  uint64_t pl, size, align, flags;
  if (arg_u64(env, argv[0], HM_MAX_PLACEMENTS, &pl) || arg_u64(env, argv[1], UINT64_MAX >> 12, &size) ||
      arg_u64(env, argv[2], 1u << 30, &align) || arg_u64(env, argv[3], 3, &flags) || size == 0)
    return invalid(env);
  hm_err e = {.node = -1};
  hm_block *b = hm_alloc((int)pl, (size_t)size, (size_t)align, (unsigned)flags, &e);
  return b ? block_to_arraybuffer(env, b) : error_code(env, &e);
}

/* allocStripe(size, nodes[], weights[], stripeBytes, flags) -> ArrayBuffer | negative code */
static napi_value AllocStripe(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (get_args(env, info, 5, argv) != 0) return fail(env);
  int64_t nodes[HM_STRIPE_MAX_NODES], weights[HM_STRIPE_MAX_NODES];
  uint64_t size, stripe, flags;
  int n = arg_ints(env, argv[1], HM_STRIPE_MAX_NODES, HM_MAX_NODES - 1, nodes);
  int nw = arg_ints(env, argv[2], HM_STRIPE_MAX_NODES, 255, weights);
  if (n < 1 || nw != n || arg_u64(env, argv[0], UINT64_MAX >> 12, &size) || size == 0 ||
      arg_u64(env, argv[3], 1ULL << 40, &stripe) || arg_u64(env, argv[4], 3, &flags))
    return invalid(env);
  int ids[HM_STRIPE_MAX_NODES];
  uint32_t w[HM_STRIPE_MAX_NODES];
  for (int i = 0; i < n; i++) {
    ids[i] = (int)nodes[i];
    w[i] = (uint32_t)weights[i];
  }
  hm_err e = {.node = -1};
  hm_block *b = hm_alloc_stripe((size_t)size, ids, w, n, stripe, (unsigned)flags, &e);
  return b ? block_to_arraybuffer(env, b) : error_code(env, &e);
}

/* free(arrayBuffer) -> 0 freed, 1 already detached, 2 not ours, 3 detach failed */
/* The memory behind an ArrayBuffer a free-like call got: 0 with data/len,
 * 1 already detached, 2 not an ArrayBuffer, -1 a napi call failed. */
static int arraybuffer_memory(napi_env env, napi_value ab, void **data, size_t *len) {
  bool is_ab = false, detached = false;
  if (napi_is_arraybuffer(env, ab, &is_ab) != napi_ok) return -1;
  if (!is_ab) return 2;
  if (napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok) return -1;
  if (detached) return 1;
  *data = NULL;
  *len = 0;
  return napi_get_arraybuffer_info(env, ab, data, len) == napi_ok ? 0 : -1;
}

static napi_value Free(napi_env env, napi_callback_info info) {
  napi_value ab;
  if (get_args(env, info, 1, &ab) != 0) return fail(env);
  void *data;
  size_t len;
  int state = arraybuffer_memory(env, ab, &data, &len);
  if (state < 0) return fail(env);
  if (state > 0) return number(env, state);
  hm_block *b = data ? hm_lookup(data, len) : NULL;
  if (!b) return number(env, 2);
  /* Detach first: every view drops to length 0, so JS can no longer reach
   * the memory; only then give it back. */
  if (napi_detach_arraybuffer(env, ab) != napi_ok) return number(env, 3);
  hm_free(b);
  return number(env, 0);
}

/* placement(mode, nodes[], charge[]) -> id | negative code */
static napi_value Placement(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv) != 0) return fail(env);
  int64_t nodes[64], charge[64];
  uint64_t mode;
  int n = arg_ints(env, argv[1], 64, HM_MAX_NODES - 1, nodes);
  int nc = arg_ints(env, argv[2], 64, UINT32_MAX, charge);
  if (n < 1 || nc != n || arg_u64(env, argv[0], 7, &mode)) return invalid(env);
  int nv[64];
  uint32_t cv[64];
  for (int i = 0; i < n; i++) {
    nv[i] = (int)nodes[i];
    cv[i] = (uint32_t)charge[i];
  }
  hm_err e = {.node = -1};
  int id = hm_place_get((int)mode, nv, cv, n, &e);
  return id < 0 ? error_code(env, &e) : number(env, id);
}

static napi_value LastError(napi_env env, napi_callback_info info) {
  static const char *names[] = {"OK", "ENOMEM", "ESYSCALL", "ENOTSUP", "EINVAL"};
  int code = last_err.code >= 0 && last_err.code <= 4 ? last_err.code : 4;
  napi_value o, name, syscall;
  CHECK(env, napi_create_object(env, &o));
  CHECK(env, napi_create_string_utf8(env, names[code], NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_set_named_property(env, o, "code", name));
  CHECK(env, napi_create_string_utf8(env, last_err.syscall ? last_err.syscall : "", NAPI_AUTO_LENGTH, &syscall));
  CHECK(env, napi_set_named_property(env, o, "syscall", syscall));
  if (set_number(env, o, "errno", last_err.errnum) || set_number(env, o, "node", last_err.node) ||
      set_number(env, o, "requested", (double)last_err.requested) ||
      set_number(env, o, "available", (double)last_err.available) ||
      set_number(env, o, "reserve", (double)last_err.reserve) ||
      set_number(env, o, "committed", (double)last_err.committed))
    return fail(env);
  return o;
}

static size_t element_size(napi_typedarray_type t) {
  switch (t) {
  case napi_int8_array:
  case napi_uint8_array:
  case napi_uint8_clamped_array: return 1;
  case napi_int16_array:
  case napi_uint16_array: return 2;
  case napi_int32_array:
  case napi_uint32_array:
  case napi_float32_array: return 4;
  default: return 8;
  }
}

/* The bytes of an ArrayBuffer or of any ArrayBufferView (typed array or
 * DataView). 0, or -1 when v is none of them. */
static int bytes_of(napi_env env, napi_value v, void **data, size_t *len) {
  bool yes = false;
  *data = NULL;
  *len = 0;
  if (napi_is_arraybuffer(env, v, &yes) == napi_ok && yes)
    return napi_get_arraybuffer_info(env, v, data, len) == napi_ok ? 0 : -1;
  if (napi_is_typedarray(env, v, &yes) == napi_ok && yes) {
    napi_typedarray_type t;
    size_t n;
    if (napi_get_typedarray_info(env, v, &t, &n, data, NULL, NULL) != napi_ok) return -1;
    *len = n * element_size(t);
    return 0;
  }
  if (napi_is_dataview(env, v, &yes) == napi_ok && yes)
    return napi_get_dataview_info(env, v, len, data, NULL, NULL) == napi_ok ? 0 : -1;
  return -1;
}

/* where(arrayBuffer | view) -> { nodes: {id: pages}, absent, other, pageSize } | negative errno */
static napi_value Where(napi_env env, napi_callback_info info) {
  napi_value v;
  if (get_args(env, info, 1, &v) != 0) return fail(env);
  void *data;
  size_t len;
  if (bytes_of(env, v, &data, &len) != 0) return number(env, -22);
  if (!data || len == 0) return number(env, 0);
  static _Thread_local uint64_t counts[HM_MAX_NODES];
  memset(counts, 0, sizeof counts);
  uint64_t absent = 0, other = 0;
  int r = hm_where(data, len, counts, &absent, &other);
  if (r != 0) return number(env, r);
  napi_value nodes, o;
  CHECK(env, napi_create_object(env, &nodes));
  for (int i = 0; i < HM_MAX_NODES; i++) {
    if (!counts[i]) continue;
    napi_value c;
    CHECK(env, napi_create_double(env, (double)counts[i], &c));
    CHECK(env, napi_set_element(env, nodes, (uint32_t)i, c));
  }
  CHECK(env, napi_create_object(env, &o));
  CHECK(env, napi_set_named_property(env, o, "nodes", nodes));
  if (set_number(env, o, "absent", (double)absent) || set_number(env, o, "other", (double)other) ||
      set_number(env, o, "pageSize", (double)hm_page_size()))
    return fail(env);
  return o;
}

/* movePages(pid, start, npages, node) -> Int32Array of each page's node
 * (or -errno) after the call; node -1 only asks | negative errno */
static napi_value MovePages(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) != 0) return fail(env);
  uint64_t pid, start, npages;
  double node = arg_number(env, argv[3]);
  if (arg_u64(env, argv[0], INT32_MAX, &pid) || arg_u64(env, argv[1], (1ULL << 53) - 1, &start) ||
      arg_u64(env, argv[2], 1ULL << 28, &npages) || !(node >= -1 && node < HM_MAX_NODES) || node != (double)(int)node)
    return number(env, -22);
  void *data = NULL;
  napi_value ab, out;
  CHECK(env, napi_create_arraybuffer(env, npages * sizeof(int), &data, &ab));
  int r = npages ? hm_move_pages((int)pid, (uintptr_t)start, (size_t)npages, (int)node, data) : 0;
  if (r != 0) return number(env, r);
  CHECK(env, napi_create_typedarray(env, napi_int32_array, npages, ab, 0, &out));
  return out;
}

/* A Float64Array argument: its elements and count. 0, or -1 for anything else. */
static int float64s_of(napi_env env, napi_value v, double **data, size_t *n) {
  bool yes = false;
  napi_typedarray_type t;
  void *p = NULL;
  if (napi_is_typedarray(env, v, &yes) != napi_ok || !yes) return -1;
  if (napi_get_typedarray_info(env, v, &t, n, &p, NULL, NULL) != napi_ok || t != napi_float64_array) return -1;
  *data = p;
  return 0;
}

/* madviseCold(pid, starts: Float64Array, lengths: Float64Array) -> 0 | negative errno */
static napi_value MadviseCold(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv) != 0) return fail(env);
  uint64_t pid;
  if (arg_u64(env, argv[0], INT32_MAX, &pid)) return number(env, -22);
  double *starts, *lens;
  size_t ns, nl;
  if (float64s_of(env, argv[1], &starts, &ns) || float64s_of(env, argv[2], &lens, &nl) || ns != nl) return number(env, -22);
  uintptr_t *s = ns ? malloc(ns * sizeof *s) : NULL;
  size_t *l = ns ? malloc(ns * sizeof *l) : NULL;
  if (ns && (!s || !l)) {
    free(s);
    free(l);
    return number(env, -12);
  }
  int r = 0;
  for (size_t i = 0; i < ns && r == 0; i++) {
    if (!(starts[i] >= 0 && starts[i] < 9007199254740992.0 && lens[i] >= 0 && lens[i] < 9007199254740992.0)) r = -22;
    s[i] = (uintptr_t)starts[i];
    l[i] = (size_t)lens[i];
  }
  if (r == 0) r = hm_madvise_cold((int)pid, s, l, ns);
  free(s);
  free(l);
  return number(env, r);
}

/* migrate(arrayBuffer, placementId) -> { onTarget, resident, moved, neighbourMoved } | negative code */
static napi_value Migrate(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) != 0) return fail(env);
  bool is_ab = false;
  uint64_t pl;
  if (napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab || arg_u64(env, argv[1], HM_MAX_PLACEMENTS, &pl))
    return invalid(env);
  void *data = NULL;
  size_t len = 0;
  CHECK(env, napi_get_arraybuffer_info(env, argv[0], &data, &len));
  hm_block *b = data ? hm_lookup(data, len) : NULL;
  if (!b) return invalid(env);
  hm_err e = {.node = -1};
  hm_migrate_result m;
  if (hm_migrate(b, (int)pl, &m, &e) != 0) return error_code(env, &e);
  napi_value o;
  CHECK(env, napi_create_object(env, &o));
  if (set_number(env, o, "onTarget", (double)m.on_target) || set_number(env, o, "resident", (double)m.total) ||
      set_number(env, o, "moved", (double)m.moved) || set_number(env, o, "neighbourMoved", (double)m.neighbour_moved))
    return fail(env);
  return o;
}

static napi_value Stats(napi_env env, napi_callback_info info) {
  static _Thread_local hm_stats s;
  hm_get_stats(&s);
  napi_value used, o;
  CHECK(env, napi_create_object(env, &used));
  for (int i = 0; i < HM_MAX_NODES; i++) {
    if (!s.used[i]) continue;
    napi_value c;
    CHECK(env, napi_create_double(env, (double)s.used[i], &c));
    CHECK(env, napi_set_element(env, used, (uint32_t)i, c));
  }
  CHECK(env, napi_create_object(env, &o));
  CHECK(env, napi_set_named_property(env, o, "used", used));
  if (set_number(env, o, "liveCount", (double)s.live_count) || set_number(env, o, "arenaBytes", (double)s.arena_bytes) ||
      set_number(env, o, "largeBytes", (double)s.large_bytes) ||
      set_number(env, o, "cachedBytes", (double)s.cached_bytes) ||
      set_number(env, o, "quarantinedBytes", (double)s.quarantined_bytes) ||
      set_number(env, o, "pendingFinalizers", (double)s.pending_finalizers))
    return fail(env);
  return o;
}

static napi_value Trim(napi_env env, napi_callback_info info) { return number(env, (double)hm_trim()); }

static napi_value Info(napi_env env, napi_callback_info info) {
  napi_value o;
  CHECK(env, napi_create_object(env, &o));
  if (set_number(env, o, "pageSize", (double)hm_page_size()) || set_number(env, o, "smallMax", HM_SMALL_MAX) ||
      set_number(env, o, "quarantineSmallBytes", (double)HM_QUARANTINE_SMALL_BYTES) ||
      set_number(env, o, "quarantineLargeBytes", (double)HM_QUARANTINE_LARGE_BYTES) ||
      set_bool(env, o, "preferredMany", hm_mode_supported(HM_MPOL_PREFERRED_MANY)) ||
      set_bool(env, o, "weightedInterleave", hm_mode_supported(HM_MPOL_WEIGHTED_INTERLEAVE)))
    return fail(env);
  return o;
}

/* reserveFor(memTotal) -> bytes: the core's reserve rule (contract tests). */
static napi_value ReserveFor(napi_env env, napi_callback_info info) {
  napi_value v;
  uint64_t total;
  if (get_args(env, info, 1, &v) != 0) return fail(env);
  if (arg_u64(env, v, 1ULL << 53, &total)) return invalid(env);
  return number(env, (double)hm_node_reserve(total));
}

/* stripeLayout(size, weights[], stripeBytes, pageSize) -> Float64Array
 * [unit, (offset, length, nodeIndex)*] | negative code (contract tests). */
static napi_value StripeLayout(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) != 0) return fail(env);
  int64_t weights[HM_STRIPE_MAX_NODES];
  uint64_t size, stripe, ps;
  int n = arg_ints(env, argv[1], HM_STRIPE_MAX_NODES, 255, weights);
  if (n < 1 || arg_u64(env, argv[0], 1ULL << 53, &size) || arg_u64(env, argv[2], 1ULL << 40, &stripe) ||
      arg_u64(env, argv[3], 1u << 30, &ps))
    return invalid(env);
  uint32_t w[HM_STRIPE_MAX_NODES];
  for (int i = 0; i < n; i++) w[i] = (uint32_t)weights[i];
  uint64_t unit = hm_stripe_unit(size, w, n, stripe, ps, HM_STRIPE_MAX_SEGMENTS);
  static _Thread_local hm_stripe_seg segs[HM_STRIPE_MAX_SEGMENTS];
  int count = unit ? hm_stripe_layout(size, w, n, unit, segs, HM_STRIPE_MAX_SEGMENTS) : -1;
  if (count < 0) return invalid(env);
  napi_value ab, out;
  double *d;
  CHECK(env, napi_create_arraybuffer(env, sizeof(double) * (1 + 3 * (size_t)count), (void **)&d, &ab));
  d[0] = (double)unit;
  for (int k = 0; k < count; k++) {
    d[1 + 3 * k] = (double)segs[k].offset;
    d[2 + 3 * k] = (double)segs[k].length;
    d[3 + 3 * k] = segs[k].node_index;
  }
  CHECK(env, napi_create_typedarray(env, napi_float64_array, 1 + 3 * (size_t)count, ab, 0, &out));
  return out;
}

/* Parse a JS string with the preload's parser into *c: 0, 1 with the
 * parser's message in err, -1 when v is not a string. */
static int parse_conf_arg(napi_env env, napi_value v, hm_conf *c, char *err, size_t cap) {
  static _Thread_local char text[HM_CONF_MAX_TEXT + 2];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok) return -1;
  if (len > HM_CONF_MAX_TEXT) {
    snprintf(err, cap, "HMSDK_CONF is longer than %d bytes", HM_CONF_MAX_TEXT);
    return 1;
  }
  return hm_conf_parse(text, c, err, cap) == 0 ? 0 : 1;
}

/* confCheck(text) -> null | message: the preload's own parser (hm_conf.c),
 * so `hmsdk run` refuses exactly what the library would. */
static napi_value ConfCheck(napi_env env, napi_callback_info info) {
  napi_value v, out;
  if (get_args(env, info, 1, &v) != 0) return fail(env);
  static _Thread_local hm_conf c;
  char err[512];
  int r = parse_conf_arg(env, v, &c, err, sizeof err);
  if (r < 0) return invalid(env);
  if (r == 0) {
    CHECK(env, napi_get_null(env, &out));
    return out;
  }
  CHECK(env, napi_create_string_utf8(env, err, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* confLenient(text) -> { mode, nodes } | message: the non-strict form of a
 * configuration's policy (hm_conf_lenient), the one the preload gives the
 * program's own mappings, for the launcher's task policy. */
static napi_value ConfLenient(napi_env env, napi_callback_info info) {
  napi_value v, out, arr;
  if (get_args(env, info, 1, &v) != 0) return fail(env);
  static _Thread_local hm_conf c;
  char err[512];
  int r = parse_conf_arg(env, v, &c, err, sizeof err);
  if (r < 0) return invalid(env);
  if (r > 0) {
    CHECK(env, napi_create_string_utf8(env, err, NAPI_AUTO_LENGTH, &out));
    return out;
  }
  int nodes[HM_CONF_MAX_NODES], n;
  int mode = hm_conf_lenient(&c, nodes, &n);
  CHECK(env, napi_create_object(env, &out));
  if (set_number(env, out, "mode", mode)) return fail(env);
  CHECK(env, napi_create_array_with_length(env, (size_t)n, &arr));
  for (int i = 0; i < n; i++) {
    napi_value id;
    CHECK(env, napi_create_int32(env, nodes[i], &id));
    CHECK(env, napi_set_element(env, arr, (uint32_t)i, id));
  }
  CHECK(env, napi_set_named_property(env, out, "nodes", arr));
  return out;
}

/* confKeys() -> [{ name, expect }]: the key table. */
static napi_value ConfKeys(napi_env env, napi_callback_info info) {
  napi_value arr;
  CHECK(env, napi_create_array(env, &arr));
  for (int i = 0; i < hm_conf_key_count(); i++) {
    napi_value o, name, expect;
    CHECK(env, napi_create_object(env, &o));
    CHECK(env, napi_create_string_utf8(env, hm_conf_key_name(i), NAPI_AUTO_LENGTH, &name));
    CHECK(env, napi_create_string_utf8(env, hm_conf_key_expect(i), NAPI_AUTO_LENGTH, &expect));
    CHECK(env, napi_set_named_property(env, o, "name", name));
    CHECK(env, napi_set_named_property(env, o, "expect", expect));
    CHECK(env, napi_set_element(env, arr, (uint32_t)i, o));
  }
  return arr;
}

/* A JS array of strings as a NULL-terminated char* vector in one malloc'd
 * block (the process is about to be replaced: it is freed only when execve
 * fails). NULL when v is not an array of at most `cap` strings. */
static char **string_vector(napi_env env, napi_value v, uint32_t cap) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, &n) != napi_ok || n > cap)
    return NULL;
  size_t bytes = (n + 1) * sizeof(char *);
  for (uint32_t pass = 0; pass < 2; pass++) {
    char **vec = pass ? malloc(bytes) : NULL;
    if (pass && !vec) return NULL;
    char *text = pass ? (char *)(vec + n + 1) : NULL;
    for (uint32_t i = 0; i < n; i++) {
      napi_value e;
      napi_valuetype t;
      size_t len = 0;
      if (napi_get_element(env, v, i, &e) != napi_ok || napi_typeof(env, e, &t) != napi_ok || t != napi_string ||
          napi_get_value_string_utf8(env, e, NULL, 0, &len) != napi_ok) {
        free(vec);
        return NULL;
      }
      if (!pass) {
        bytes += len + 1;
        continue;
      }
      if (napi_get_value_string_utf8(env, e, text, len + 1, &len) != napi_ok || strlen(text) != len) {
        free(vec); /* a NUL inside a string: execve would cut it */
        return NULL;
      }
      vec[i] = text;
      text += len + 1;
    }
    if (pass) {
      vec[n] = NULL;
      return vec;
    }
  }
  return NULL;
}

/* exec(path, argv, env, mode, nodes): become the program (hm_exec). Returns
 * -errno when execve failed; on success it does not return. */
static napi_value Exec(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (get_args(env, info, 5, argv) != 0) return fail(env);
  int64_t nodes[64];
  uint64_t mode;
  int n = arg_ints(env, argv[4], 64, HM_MAX_NODES - 1, nodes);
  char **path = string_vector(env, argv[0], 1);
  char **args = path ? string_vector(env, argv[1], 1u << 16) : NULL;
  char **envp = args ? string_vector(env, argv[2], 1u << 16) : NULL;
  if (!envp || !path[0] || !args[0] || n < 0 || arg_u64(env, argv[3], 7, &mode) || (mode != HM_MPOL_DEFAULT && n < 1)) {
    free(path);
    free(args);
    free(envp);
    return invalid(env);
  }
  hm_nodemask mask;
  hm_mask_clear(&mask);
  for (int i = 0; i < n; i++) hm_mask_set(&mask, (int)nodes[i]);
  int r = hm_exec(path[0], args, envp, (int)mode, &mask);
  free(path);
  free(args);
  free(envp);
  return number(env, r);
}

/* ---- shared store objects (native/core/hm_shm.h; src/store) ---------- */

static void finalize_shm(napi_env env, void *data, void *hint) { hm_shm_unhold(hint); }

/* The mapping as an external ArrayBuffer with both holds (as blocks have). */
static napi_value shm_to_arraybuffer(napi_env env, hm_shm_map *m) {
  napi_value ab;
  if (napi_create_external_arraybuffer(env, hm_shm_addr(m), hm_shm_size(m), finalize_shm, m, &ab) != napi_ok) {
    (void)hm_shm_release(m);
    for (int i = 0; i < HM_SHM_HOLDS; i++) hm_shm_unhold(m);
    return fail(env);
  }
  if (napi_add_finalizer(env, ab, NULL, finalize_shm, m, NULL) != napi_ok) hm_shm_unhold(m);
  return ab;
}

static int arg_fd(napi_env env, napi_value v, int *fd) {
  uint64_t x;
  if (arg_u64(env, v, INT32_MAX, &x)) return -1;
  *fd = (int)x;
  return 0;
}

/* shmCreate(placementId, size, populate) -> { buffer, fd } | negative code */
static napi_value ShmCreate(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv) != 0) return fail(env);
  uint64_t pl, size;
  bool populate = false;
  if (arg_u64(env, argv[0], HM_MAX_PLACEMENTS, &pl) || arg_u64(env, argv[1], UINT64_MAX >> 12, &size) || size == 0 ||
      napi_get_value_bool(env, argv[2], &populate) != napi_ok)
    return invalid(env);
  hm_err e = {.node = -1};
  int fd = -1;
  hm_shm_map *m = hm_shm_create((int)pl, (size_t)size, populate, &fd, &e);
  if (!m) return error_code(env, &e);
  napi_value ab = shm_to_arraybuffer(env, m), o;
  if (!ab || napi_create_object(env, &o) != napi_ok || napi_set_named_property(env, o, "buffer", ab) != napi_ok ||
      set_number(env, o, "fd", fd)) {
    hm_close(fd);
    return fail(env);
  }
  return o;
}

/* shmMap(fd, size, prefault) -> ArrayBuffer (private copy-on-write) | negative code */
static napi_value ShmMap(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv) != 0) return fail(env);
  int fd;
  uint64_t size;
  bool prefault = false;
  if (arg_fd(env, argv[0], &fd) || arg_u64(env, argv[1], UINT64_MAX >> 12, &size) || size == 0 ||
      napi_get_value_bool(env, argv[2], &prefault) != napi_ok)
    return invalid(env);
  hm_err e = {.node = -1};
  hm_shm_map *m = hm_shm_map_private(fd, (size_t)size, prefault, &e);
  return m ? shm_to_arraybuffer(env, m) : error_code(env, &e);
}

/* shmOpen(path) -> fd (read-only) | negative errno */
static napi_value ShmOpen(napi_env env, napi_callback_info info) {
  napi_value v;
  if (get_args(env, info, 1, &v) != 0) return fail(env);
  char path[4096];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, path, sizeof path, &len) != napi_ok || len == 0 || len >= sizeof path - 1)
    return number(env, -22);
  return number(env, hm_open_ro(path));
}

/* shmIdent(fd) -> { ino, dev, size, seals } | negative errno (seals -1: no memfd) */
static napi_value ShmIdent(napi_env env, napi_callback_info info) {
  napi_value v, o;
  int fd;
  if (get_args(env, info, 1, &v) != 0) return fail(env);
  if (arg_fd(env, v, &fd)) return number(env, -22);
  uint64_t ino, dev, size;
  int seals;
  int r = hm_fd_ident(fd, &ino, &dev, &size, &seals);
  if (r != 0) return number(env, r);
  CHECK(env, napi_create_object(env, &o));
  if (set_number(env, o, "ino", (double)ino) || set_number(env, o, "dev", (double)dev) ||
      set_number(env, o, "size", (double)size) || set_number(env, o, "seals", seals))
    return fail(env);
  return o;
}

/* shmSeal(fd) -> 0 | negative errno */
static napi_value ShmSeal(napi_env env, napi_callback_info info) {
  napi_value v;
  int fd;
  if (get_args(env, info, 1, &v) != 0) return fail(env);
  if (arg_fd(env, v, &fd)) return number(env, -22);
  return number(env, hm_memfd_seal(fd));
}

/* shmRelease(arrayBuffer) -> 0 released, 1 already detached, 2 not a store view, 3 detach failed */
static napi_value ShmRelease(napi_env env, napi_callback_info info) {
  napi_value ab;
  if (get_args(env, info, 1, &ab) != 0) return fail(env);
  void *data;
  size_t len;
  int state = arraybuffer_memory(env, ab, &data, &len);
  if (state < 0) return fail(env);
  if (state > 0) return number(env, state);
  hm_shm_map *m = data ? hm_shm_lookup(data, len) : NULL;
  if (!m) return number(env, 2);
  if (napi_detach_arraybuffer(env, ab) != napi_ok) return number(env, 3);
  (void)hm_shm_release(m); /* on failure the pages go with the finalizers */
  return number(env, 0);
}

/* closeFd(fd) */
static napi_value CloseFd(napi_env env, napi_callback_info info) {
  napi_value v;
  int fd;
  if (get_args(env, info, 1, &v) != 0) return fail(env);
  if (!arg_fd(env, v, &fd)) hm_close(fd);
  return number(env, 0);
}

/* Lock files are closed by an environment cleanup hook too: a worker that
 * served a store and was terminated must not keep the lock. */
typedef struct lock_rec {
  napi_env env;
  int fd;
  struct lock_rec *next;
} lock_rec;

static pthread_mutex_t locks_lock = PTHREAD_MUTEX_INITIALIZER;
static lock_rec *locks;

static lock_rec *unlink_lock(int fd) {
  pthread_mutex_lock(&locks_lock);
  lock_rec **at = &locks;
  while (*at && (*at)->fd != fd) at = &(*at)->next;
  lock_rec *r = *at;
  if (r) *at = r->next;
  pthread_mutex_unlock(&locks_lock);
  return r;
}

static void lock_cleanup(void *arg) {
  lock_rec *r = unlink_lock(((lock_rec *)arg)->fd);
  if (!r) return;
  hm_close(r->fd);
  free(r);
}

/* lockFile(path) -> fd | negative errno (-EWOULDBLOCK: held elsewhere) */
static napi_value LockFile(napi_env env, napi_callback_info info) {
  napi_value v;
  if (get_args(env, info, 1, &v) != 0) return fail(env);
  char path[4096];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, path, sizeof path, &len) != napi_ok || len == 0 || len >= sizeof path - 1)
    return number(env, -22);
  lock_rec *r = malloc(sizeof *r);
  if (!r) return number(env, -12);
  int fd = hm_lock_file(path);
  if (fd < 0) {
    free(r);
    return number(env, fd);
  }
  r->env = env;
  r->fd = fd;
  pthread_mutex_lock(&locks_lock);
  r->next = locks;
  locks = r;
  pthread_mutex_unlock(&locks_lock);
  if (napi_add_env_cleanup_hook(env, lock_cleanup, r) != napi_ok) {
    lock_cleanup(r);
    return fail(env);
  }
  return number(env, fd);
}

/* unlockFile(fd): close a lock taken by lockFile. */
static napi_value UnlockFile(napi_env env, napi_callback_info info) {
  napi_value v;
  int fd;
  if (get_args(env, info, 1, &v) != 0) return fail(env);
  if (arg_fd(env, v, &fd)) return number(env, -22);
  lock_rec *r = unlink_lock(fd);
  if (!r) return number(env, -9);
  (void)napi_remove_env_cleanup_hook(r->env, lock_cleanup, r);
  hm_close(r->fd);
  free(r);
  return number(env, 0);
}

static napi_value Init(napi_env env, napi_value exports) {
  if (hm_init() != 0) {
    napi_throw_error(env, "ENOADDON", "hmsdk: native init failed");
    return NULL;
  }
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"alloc", Alloc},         {"allocStripe", AllocStripe}, {"free", Free},
             {"placement", Placement}, {"lastError", LastError},     {"where", Where},
             {"migrate", Migrate},     {"stats", Stats},             {"trim", Trim},
             {"info", Info},           {"reserveFor", ReserveFor},   {"stripeLayout", StripeLayout},
             {"confCheck", ConfCheck}, {"confKeys", ConfKeys},         {"exec", Exec},
             {"confLenient", ConfLenient}, {"movePages", MovePages},
             {"madviseCold", MadviseCold},
             {"shmCreate", ShmCreate}, {"shmMap", ShmMap},             {"shmOpen", ShmOpen},
             {"shmIdent", ShmIdent},   {"shmSeal", ShmSeal},           {"shmRelease", ShmRelease},
             {"closeFd", CloseFd},     {"lockFile", LockFile},         {"unlockFile", UnlockFile}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    CHECK(env, napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn));
    CHECK(env, napi_set_named_property(env, exports, fns[i].name, fn));
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
