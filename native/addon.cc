// addon.cc: the N-API binding. Deliberately thin: argument unpacking,
// ArrayBuffer creation/detach, and conversion of hm_core results to JS
// values. No policy and no system calls here (hm_core / hm_os own those);
// argument validation with user-facing messages happens in TypeScript.
//
// Errors from allocation are returned as a negative number (not thrown) so
// the hot path allocates no exception objects; the details of the last
// failure on this thread are read with lastError().

#define NAPI_VERSION 8
#include <napi.h>

#include <unordered_map>
#include <vector>

#include "hm_core.h"

namespace {

thread_local hm_err last_err;

// The finalize hint is the block record; hm_core keeps it alive until here.
void FinalizeBlock(napi_env, void*, void* hint) { hm_finalize(static_cast<hm_block*>(hint)); }

napi_value BlockToArrayBuffer(napi_env env, hm_block* b) {
  napi_value ab;
  napi_status s = napi_create_external_arraybuffer(env, hm_block_ptr(b), hm_block_size(b), FinalizeBlock, b, &ab);
  if (s != napi_ok) {
    // Runtimes with a V8 sandbox (Electron) refuse external buffers.
    hm_release(b);
    hm_finalize(b);
    napi_throw_error(env, "ENOADDON",
                     s == napi_no_external_buffers_allowed ? "this runtime does not allow external ArrayBuffers"
                                                           : "napi_create_external_arraybuffer failed");
    return nullptr;
  }
  return ab;
}

napi_value ErrorCode(napi_env env, const hm_err& e) {
  last_err = e;
  napi_value v;
  napi_create_int32(env, -(e.code ? e.code : HM_E_INVAL), &v);
  return v;
}

// alloc(placementId, size, flags) -> ArrayBuffer | negative code
napi_value Alloc(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t pl = -1;
  double size = 0;
  uint32_t flags = 0;
  napi_get_value_int32(env, argv[0], &pl);
  napi_get_value_double(env, argv[1], &size);
  napi_get_value_uint32(env, argv[2], &flags);
  hm_err e = {};
  e.node = -1;
  hm_block* b = hm_alloc(pl, static_cast<size_t>(size), flags, &e);
  if (!b) return ErrorCode(env, e);
  return BlockToArrayBuffer(env, b);
}

// allocSegments(size, Float64Array [offset, length, placement]*, flags)
napi_value AllocSegments(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  double size = 0;
  uint32_t flags = 0;
  napi_get_value_double(env, argv[0], &size);
  napi_get_value_uint32(env, argv[2], &flags);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr);
  hm_err e = {};
  e.node = -1;
  if (type != napi_float64_array || length % 3 != 0 || length == 0) {
    e.code = HM_E_INVAL;
    return ErrorCode(env, e);
  }
  const double* d = static_cast<const double*>(data);
  size_t n = length / 3;
  std::vector<hm_seg> segs(n);
  for (size_t i = 0; i < n; i++) {
    segs[i].offset = static_cast<size_t>(d[3 * i]);
    segs[i].length = static_cast<size_t>(d[3 * i + 1]);
    segs[i].placement = static_cast<int>(d[3 * i + 2]);
  }
  hm_block* b = hm_alloc_segments(static_cast<size_t>(size), segs.data(), static_cast<int>(n), flags, &e);
  if (!b) return ErrorCode(env, e);
  return BlockToArrayBuffer(env, b);
}

// free(arrayBuffer) -> 0 freed, 1 already detached, 2 not ours
napi_value Free(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value ab;
  napi_get_cb_info(env, info, &argc, &ab, nullptr, nullptr);
  napi_value out;
  bool detached = false;
  napi_is_detached_arraybuffer(env, ab, &detached);
  if (detached) return napi_create_int32(env, 1, &out), out;
  void* data = nullptr;
  size_t len = 0;
  napi_get_arraybuffer_info(env, ab, &data, &len);
  hm_block* b = data ? hm_lookup(data, len) : nullptr;
  if (!b) return napi_create_int32(env, 2, &out), out;
  // Detach first: every view drops to length 0, so JS can no longer reach
  // the memory; only then give the pages back.
  if (napi_detach_arraybuffer(env, ab) != napi_ok) return napi_create_int32(env, 3, &out), out;
  hm_release(b);
  return napi_create_int32(env, 0, &out), out;
}

Napi::Value Placement(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int mode = info[0].As<Napi::Number>().Int32Value();
  Napi::Array nodes = info[1].As<Napi::Array>();
  Napi::Array charge = info[2].As<Napi::Array>();
  uint32_t n = nodes.Length();
  std::vector<int> nv(n);
  std::vector<uint32_t> cv(n);
  for (uint32_t i = 0; i < n; i++) {
    nv[i] = nodes.Get(i).As<Napi::Number>().Int32Value();
    cv[i] = charge.Get(i).As<Napi::Number>().Uint32Value();
  }
  hm_err e = {};
  int id = hm_placement_get(mode, nv.data(), cv.data(), static_cast<int>(n), &e);
  return Napi::Number::New(env, id);
}

Napi::Value LastError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  static const char* names[] = {"OK", "ENOMEM", "ESYSCALL", "ENOTSUP", "EINVAL"};
  int code = last_err.code >= 0 && last_err.code <= 4 ? last_err.code : 4;
  o.Set("code", names[code]);
  o.Set("errno", last_err.errnum);
  o.Set("syscall", last_err.syscall ? last_err.syscall : "");
  o.Set("node", last_err.node);
  o.Set("requested", static_cast<double>(last_err.requested));
  o.Set("available", static_cast<double>(last_err.available));
  o.Set("reserve", static_cast<double>(last_err.reserve));
  o.Set("committed", static_cast<double>(last_err.committed));
  return o;
}

// where(arrayBuffer | view) -> { nodes: {id: pages}, absent, other, pageSize } | negative errno
Napi::Value Where(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* data = nullptr;
  size_t len = 0;
  if (info[0].IsArrayBuffer()) {
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    data = ab.Data();
    len = ab.ByteLength();
  } else {
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    Napi::ArrayBuffer ab = ta.ArrayBuffer();
    data = static_cast<char*>(ab.Data()) + ta.ByteOffset();
    len = ta.ByteLength();
  }
  if (!data || len == 0) return Napi::Number::New(env, 0);
  std::vector<uint64_t> counts(HM_MAX_NODES, 0);
  uint64_t absent = 0, other = 0;
  int r = hm_os_where(data, len, counts.data(), &absent, &other);
  if (r != 0) return Napi::Number::New(env, r);
  Napi::Object nodes = Napi::Object::New(env);
  for (int i = 0; i < HM_MAX_NODES; i++)
    if (counts[i]) nodes.Set(static_cast<uint32_t>(i), static_cast<double>(counts[i]));
  Napi::Object o = Napi::Object::New(env);
  o.Set("nodes", nodes);
  o.Set("absent", static_cast<double>(absent));
  o.Set("other", static_cast<double>(other));
  o.Set("pageSize", static_cast<double>(hm_os_page_size()));
  return o;
}

// migrate(arrayBuffer, placementId) -> { onTarget, resident } | negative code
Napi::Value Migrate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  int pl = info[1].As<Napi::Number>().Int32Value();
  hm_err e = {};
  e.node = -1;
  hm_block* b = ab.Data() ? hm_lookup(ab.Data(), ab.ByteLength()) : nullptr;
  if (!b) {
    e.code = HM_E_INVAL;
    return Napi::Value(env, ErrorCode(env, e));
  }
  uint64_t on = 0, total = 0;
  if (hm_migrate(b, pl, &on, &total, &e) != 0) return Napi::Value(env, ErrorCode(env, e));
  Napi::Object o = Napi::Object::New(env);
  o.Set("onTarget", static_cast<double>(on));
  o.Set("resident", static_cast<double>(total));
  return o;
}

// Benchmark baseline, not used by the SDK: the naive placed allocation,
// one mmap + mbind(MPOL_BIND) per allocation with its own external
// ArrayBuffer, and one munmap per free. `npm run bench` compares s_malloc
// with it in the same process.
struct NaiveBlock {
  void* ptr;
  size_t len;
  bool released;
};
std::unordered_map<void*, NaiveBlock*> naive_live;

void FinalizeNaive(napi_env, void*, void* hint) {
  NaiveBlock* nb = static_cast<NaiveBlock*>(hint);
  if (!nb->released) {
    naive_live.erase(nb->ptr);
    hm_os_unmap(nb->ptr, nb->len);
  }
  delete nb;
}

Napi::Value NaiveAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t size = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
  int node = info[1].As<Napi::Number>().Int32Value();
  size_t ps = hm_os_page_size();
  size_t len = (size + ps - 1) & ~(ps - 1);
  void* p = hm_os_map(len);
  if (!p) return Napi::Number::New(env, -1);
  hm_nodemask m;
  hm_mask_clear(&m);
  hm_mask_set(&m, node);
  if (hm_os_mbind(p, len, HM_MPOL_BIND, &m, 0) != 0) {
    hm_os_unmap(p, len);
    return Napi::Number::New(env, -2);
  }
  NaiveBlock* nb = new NaiveBlock{p, len, false};
  naive_live[p] = nb;
  napi_value ab;
  napi_create_external_arraybuffer(env, p, size, FinalizeNaive, nb, &ab);
  return Napi::Value(env, ab);
}

Napi::Value NaiveFree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  auto it = naive_live.find(ab.Data());
  if (it == naive_live.end()) return Napi::Number::New(env, -1);
  NaiveBlock* nb = it->second;
  naive_live.erase(it);
  napi_detach_arraybuffer(env, ab);
  hm_os_unmap(nb->ptr, nb->len);
  nb->released = true;
  return Napi::Number::New(env, 0);
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  hm_stats s;
  hm_get_stats(&s);
  Napi::Object used = Napi::Object::New(env);
  for (int i = 0; i < HM_MAX_NODES; i++)
    if (s.used[i]) used.Set(static_cast<uint32_t>(i), static_cast<double>(s.used[i]));
  Napi::Object o = Napi::Object::New(env);
  o.Set("used", used);
  o.Set("liveCount", static_cast<double>(s.live_count));
  o.Set("arenaBytes", static_cast<double>(s.arena_bytes));
  o.Set("largeBytes", static_cast<double>(s.large_bytes));
  o.Set("cachedBytes", static_cast<double>(s.cached_bytes));
  o.Set("pendingFinalizers", static_cast<double>(s.pending_finalizers));
  return o;
}

Napi::Value Trim(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(hm_trim())); }

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("pageSize", static_cast<double>(hm_os_page_size()));
  o.Set("smallMax", static_cast<double>(HM_SMALL_MAX));
  o.Set("chunkSize", static_cast<double>(HM_CHUNK_SIZE));
  o.Set("cacheMaxBytes", static_cast<double>(HM_CACHE_MAX_BYTES));
  o.Set("reserveMin", static_cast<double>(HM_RESERVE_MIN));
  o.Set("reserveDiv", HM_RESERVE_DIV);
  o.Set("maxNodes", HM_MAX_NODES);
  o.Set("preferredMany", hm_os_mode_supported(HM_MPOL_PREFERRED_MANY) != 0);
  o.Set("weightedInterleave", hm_os_mode_supported(HM_MPOL_WEIGHTED_INTERLEAVE) != 0);
  return o;
}

void Set(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
  napi_set_named_property(env, exports, name, fn);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (hm_init() != 0) {
    Napi::Error::New(env, "hmsdk: native init failed").ThrowAsJavaScriptException();
    return exports;
  }
  Set(env, exports, "alloc", Alloc);
  Set(env, exports, "allocSegments", AllocSegments);
  Set(env, exports, "free", Free);
  exports.Set("placement", Napi::Function::New(env, Placement, "placement"));
  exports.Set("lastError", Napi::Function::New(env, LastError, "lastError"));
  exports.Set("where", Napi::Function::New(env, Where, "where"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("migrate", Napi::Function::New(env, Migrate, "migrate"));
  exports.Set("naiveAlloc", Napi::Function::New(env, NaiveAlloc, "naiveAlloc"));
  exports.Set("naiveFree", Napi::Function::New(env, NaiveFree, "naiveFree"));
  exports.Set("trim", Napi::Function::New(env, Trim, "trim"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace

NODE_API_MODULE(hmsdk, Init)
