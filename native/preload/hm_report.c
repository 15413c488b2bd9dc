/*
 * hm_report: the preload's statistics and messages. Counters are lock-free
 * atomics; lines are built in stack buffers and written with write(2)
 * only (no stdio, no malloc: async-signal-safe), at exit and/or on a
 * signal, as key=value or JSON, to stderr or stats_file (%p = pid).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "../prim/hm_prim.h"
#include "hm_preload.h"

_Atomic uint64_t hm_st_live, hm_st_peak, hm_st_count, hm_st_frees;
_Atomic uint64_t hm_st_ovf_live, hm_st_ovf_peak, hm_st_ovf_count;
_Atomic uint64_t hm_st_fallback, hm_st_fail, hm_st_mbind_err, hm_st_populate_err, hm_st_reg_full;
_Atomic uint64_t hm_st_nodefull, hm_st_capfull, hm_st_realloc_inplace, hm_st_realloc_move;
_Atomic uint64_t hm_st_small_count, hm_st_small_frees, hm_st_bad_free;
_Atomic uint64_t hm_st_maps_placed, hm_st_maps_bytes, hm_st_maps_skipped, hm_st_maps_err;
static _Atomic uint64_t node_live[HM_MAX_NODES], node_peak[HM_MAX_NODES];

void hm_peak_max(_Atomic uint64_t *peak, uint64_t v) {
  uint64_t cur = atomic_load_explicit(peak, memory_order_relaxed);
  while (v > cur && !atomic_compare_exchange_weak_explicit(peak, &cur, v, memory_order_relaxed, memory_order_relaxed)) {
  }
}

void hm_node_add(int node, uint64_t bytes) {
  uint64_t v = atomic_fetch_add_explicit(&node_live[node], bytes, memory_order_relaxed) + bytes;
  hm_peak_max(&node_peak[node], v);
}

void hm_node_sub(int node, uint64_t bytes) { atomic_fetch_sub_explicit(&node_live[node], bytes, memory_order_relaxed); }

/* ---- tiny writer ----------------------------------------------------------- */

typedef struct wbuf {
  char *p;
  size_t n, cap;
} wbuf;

static void w_str(wbuf *b, const char *s) {
  while (*s && b->n + 1 < b->cap) b->p[b->n++] = *s++;
  b->p[b->n] = 0;
}

static void w_u64(wbuf *b, uint64_t v) {
  char t[24];
  int i = 0;
  do {
    t[i++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (i && b->n + 1 < b->cap) b->p[b->n++] = t[--i];
  b->p[b->n] = 0;
}

void hm_u64_str(uint64_t v, char *out, size_t cap) {
  wbuf w = {out, 0, cap};
  w_u64(&w, v);
}

static void write_all(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t r = write(fd, s, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return;
    }
    s += r;
    n -= (size_t)r;
  }
}

void hm_say_parts(const char *first, ...) {
  char line[1024];
  wbuf w = {line, 0, sizeof line};
  w_str(&w, "hmsdk-preload: ");
  va_list ap;
  va_start(ap, first);
  for (const char *s = first; s; s = va_arg(ap, const char *)) w_str(&w, s);
  va_end(ap);
  w_str(&w, "\n");
  int e0 = errno;
  write_all(2, line, w.n);
  errno = e0;
}

/* ---- the statistics line ------------------------------------------------- */

static const char *policy_name(int p) {
  switch (p) {
  case HM_POL_BIND: return "bind";
  case HM_POL_PREFERRED: return "preferred";
  case HM_POL_INTERLEAVE: return "interleave";
  default: return "weighted";
  }
}

static int is_target(int node) {
  for (int i = 0; i < hm_C.nnodes; i++)
    if (hm_C.nodes[i] == node) return 1;
  return 0;
}

static size_t format_stats(char *out, size_t cap, const char *reason) {
  wbuf w = {out, 0, cap};
  hm_coverage cov;
  if (hm_coverage_read(&cov) != 0) memset(&cov, 0, sizeof cov);
  struct {
    const char *k;
    uint64_t v;
  } f[] = {
      {"placed_count", atomic_load(&hm_st_count)},
      {"free_count", atomic_load(&hm_st_frees)},
      {"live_bytes", atomic_load(&hm_st_live)},
      {"peak_bytes", atomic_load(&hm_st_peak)},
      {"overflow_interleave_count", atomic_load(&hm_st_ovf_count)},
      {"overflow_live_bytes", atomic_load(&hm_st_ovf_live)},
      {"overflow_peak_bytes", atomic_load(&hm_st_ovf_peak)},
      {"fallback_count", atomic_load(&hm_st_fallback)},
      {"fail_count", atomic_load(&hm_st_fail)},
      {"cap_hits", atomic_load(&hm_st_capfull)},
      {"node_full_hits", atomic_load(&hm_st_nodefull)},
      {"mbind_errors", atomic_load(&hm_st_mbind_err)},
      {"populate_errors", atomic_load(&hm_st_populate_err)},
      {"registry_full", atomic_load(&hm_st_reg_full)},
      {"realloc_in_place", atomic_load(&hm_st_realloc_inplace)},
      {"realloc_moved", atomic_load(&hm_st_realloc_move)},
      {"threshold", hm_C.threshold},
      {"cap", hm_C.cap},
      {"small_count", atomic_load(&hm_st_small_count)},
      {"small_frees", atomic_load(&hm_st_small_frees)},
      {"bad_frees", atomic_load(&hm_st_bad_free)},
      {"maps_placed", atomic_load(&hm_st_maps_placed)},
      {"maps_placed_bytes", atomic_load(&hm_st_maps_bytes)},
      {"maps_skipped", atomic_load(&hm_st_maps_skipped)},
      {"maps_errors", atomic_load(&hm_st_maps_err)},
      {"anon_bytes", cov.total},
      {"anon_target_bytes", cov.on_target},
      {"anon_unplaced_off_bytes", cov.unplaced_off},
      {"anon_fallback_bytes", cov.placed_off},
  };
  size_t nf = sizeof f / sizeof f[0];
  int json = hm_C.stats_json;
  w_str(&w, json ? "{\"hmsdk_preload\":1,\"pid\":" : "hmsdk-preload-stats pid=");
  w_u64(&w, (uint64_t)getpid());
  w_str(&w, json ? ",\"reason\":\"" : " reason=");
  w_str(&w, reason);
  w_str(&w, json ? "\",\"policy\":\"" : " policy=");
  w_str(&w, policy_name(hm_C.policy));
  if (json) w_str(&w, "\"");
  for (size_t i = 0; i < nf; i++) {
    w_str(&w, json ? ",\"" : " ");
    w_str(&w, f[i].k);
    w_str(&w, json ? "\":" : "=");
    w_u64(&w, f[i].v);
  }
  /* Small calls are not counted (a TLS increment per call costs ~1 ns). */
  w_str(&w, json ? ",\"passthrough_calls\":-1,\"nodes\":{" : " passthrough_calls=-1");
  int first = 1;
  for (int n = 0; n < HM_MAX_NODES; n++) {
    uint64_t pk = atomic_load(&node_peak[n]);
    if (!pk && !is_target(n)) continue;
    if (json) {
      w_str(&w, first ? "\"" : ",\"");
      w_u64(&w, (uint64_t)n);
      w_str(&w, "\":{\"live_bytes\":");
      w_u64(&w, atomic_load(&node_live[n]));
      w_str(&w, ",\"peak_bytes\":");
      w_u64(&w, pk);
      w_str(&w, "}");
    } else {
      w_str(&w, " node");
      w_u64(&w, (uint64_t)n);
      w_str(&w, "_live_bytes=");
      w_u64(&w, atomic_load(&node_live[n]));
      w_str(&w, " node");
      w_u64(&w, (uint64_t)n);
      w_str(&w, "_peak_bytes=");
      w_u64(&w, pk);
    }
    first = 0;
  }
  w_str(&w, json ? "}}\n" : "\n");
  return w.n;
}

void hm_report_dump(const char *reason) {
  char line[8192];
  size_t n = format_stats(line, sizeof line, reason);
  int fd = 2, close_it = 0, e0 = errno;
  if (hm_C.stats_file[0]) {
    char path[HM_CONF_PATH_MAX + 24];
    wbuf w = {path, 0, sizeof path};
    for (const char *s = hm_C.stats_file; *s; s++) {
      if (s[0] == '%' && s[1] == 'p') {
        w_u64(&w, (uint64_t)getpid());
        s++;
      } else {
        char ch[2] = {*s, 0};
        w_str(&w, ch);
      }
    }
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) fd = 2;
    else close_it = 1;
  }
  write_all(fd, line, n);
  if (close_it) close(fd);
  errno = e0;
}

static void on_stats_signal(int sig) {
  (void)sig;
  hm_report_dump("signal");
}

void hm_report_init(void) {
  if (!(hm_C.stats & HM_STATS_SIGNAL)) return;
  struct sigaction old, sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stats_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(hm_C.stats_signal, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
    sigaction(hm_C.stats_signal, &sa, NULL);
  else
    hm_say("stats_signal: the signal already has a handler; not replacing it (stats on signal off)");
}
