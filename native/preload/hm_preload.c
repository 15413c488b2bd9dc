/*
 * hm_preload: transparent placement. An LD_PRELOAD library that puts the
 * large allocations of an unmodified program on chosen NUMA nodes (DRAM or
 * CXL/EXMEM) and leaves every other allocation to glibc.
 *
 * Overview
 * --------
 * The library interposes malloc, calloc, realloc, reallocarray, free,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc and
 * malloc_usable_size (C++ new/delete end up here too). A request below the
 * configured threshold is a size compare and a tail call to glibc's
 * function, found with dlsym(RTLD_NEXT): no lock, no atomic, no counter
 * (free: a page-offset test and a range test, then a tail call). A request at or above the threshold is
 * *placed*: it gets its own anonymous mapping, mbind()'d (result checked)
 * under the configured policy, and a 64-byte header that lets free, realloc
 * and malloc_usable_size recognise it later.
 *
 * Bootstrap
 * ---------
 * dlsym itself may call calloc/malloc. While the real functions are being
 * resolved, requests are served from a small static bump buffer (never
 * freed: free() recognises the buffer's address range and ignores it). The
 * configuration is parsed in the library constructor (environ is valid
 * there); until then the threshold is "infinite" and everything passes
 * through. Parsing uses static buffers only: no malloc, no stdio.
 *
 * Recognising our blocks ("is it ours")
 * -------------------------------------
 * Two layouts:
 *   STD      mapping = [header 64 B][user ...], the mapping is page aligned,
 *            so the user pointer is at page offset 64 exactly.
 *   ALIGNED  (memalign & co with alignment > 64) mapping = [one header page
 *            whose last 64 bytes are the header][user ...]: the user pointer
 *            is page aligned (offset 0), header at ptr - 64.
 * free(p) looks at p's page offset:
 *   offset 64: read the 64 bytes at the start of p's page (same page as p,
 *            so it is mapped and readable for any valid pointer) and accept
 *            only if  magic == HM_MAGIC  and  check == mix(header address ^
 *            secret key), where the 64-bit key is drawn from getrandom() at
 *            start-up. A glibc chunk at that offset has, before it, its own
 *            16-byte chunk header and the tail of another chunk's user data.
 *            For it to be misread the program would have to have written,
 *            at exactly that address, our magic followed by a keyed hash of
 *            that address under a key it never sees. Stale headers cannot
 *            survive either: we unmap our blocks, and any memory the kernel
 *            maps there again (glibc heap or mmap chunk) starts zeroed. The
 *            header also stores the user pointer, which must equal p.
 *   offset 0: page-aligned pointers are also what glibc's memalign returns,
 *            and the page before one may not be readable, so no header is
 *            read: a lock-free open-addressing registry of our ALIGNED user
 *            pointers gives a definitive answer (probed only while it holds
 *            at least one entry).
 *   anything else: not ours, straight to glibc's free.
 *
 * Placement
 * ---------
 * Policies: bind, preferred (preferred-many when several nodes and the
 * kernel has it), interleave (kernel MPOL_INTERLEAVE), weighted: a
 * userspace stripe: the mapping is cut into rounds of sum(w) * stripe bytes,
 * node i getting w_i consecutive stripes per round (each range mbind'd
 * MPOL_BIND to its node); the last partial round is split in proportion at
 * page granularity, so any block size gets the ratios on any kernel, with
 * no dependence on the global sysfs weights. The stripe grows for huge
 * blocks so that one block never needs more than 4096 ranges (VMAs; the
 * default vm.max_map_count is 65530).
 *
 * Caps, full nodes and overflow
 * -----------------------------
 * `cap` limits the LIVE placed bytes (mapping lengths, headers included):
 * a compare-and-swap on the live counter reserves the bytes, free returns
 * them. For bind and weighted, the free memory of each target node is read
 * from /sys/devices/system/node/nodeN/meminfo (cached 100 ms; bytes placed
 * since the reading are subtracted, and `reserve` bytes are kept free) and
 * the block is refused when its share does not fit: a strict policy on a
 * full node would otherwise end in a memory-policy OOM kill at first touch.
 * A refused block (cap, node full, mbind or populate error) goes to the
 * overflow policy: fail (NULL, errno ENOMEM), fallback (glibc's allocator),
 * interleave (kernel interleave over the fallback nodes, default: every
 * node with memory; accounted separately, not against the cap).
 * Known gap: without populate=1, blocks placed before the last meminfo
 * reading but not touched yet are invisible to the check; populate=1
 * faults pages in at allocation (MADV_POPULATE_WRITE) and closes it.
 *
 * Errors never end the program: a bad configuration prints one line and
 * disables placement; a failed placement follows the overflow policy.
 * mbind is a raw syscall so the library depends on libc alone (libnuma has
 * constructors that allocate, which would re-enter this file during start
 * up, and not every program to preload into has libnuma installed).
 *
 * Statistics are lock-free atomic counters, written with write(2) only (no
 * stdio, async-signal-safe) at exit (destructor) and/or on a signal.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* ---------------------------------------------------------------- limits */

#define HM_MAX_NODE_ID 1024 /* node ids 0..1023 (CONFIG_NODES_SHIFT <= 10) */
#define HM_MASK_WORDS (HM_MAX_NODE_ID / (8 * sizeof(unsigned long)))
#define HM_MAX_CONF_NODES 64
#define HM_HDR_OFF 64
#define HM_MAGIC 0x484d5052454c4f44ULL /* "HMPRELOD" */
#define HM_MAX_SEGMENTS 4096
#define HM_REG_SLOTS 16384 /* power of two */
#define HM_REG_TOMB ((uintptr_t)1)
#define HM_BUMP_SIZE (64 * 1024)
#define HM_PASS_BATCH 1024
#define HM_NODE_CACHE_NS (100ull * 1000 * 1000)

enum { POL_BIND, POL_PREFERRED, POL_INTERLEAVE, POL_WEIGHTED };
enum { OVF_FAIL, OVF_FALLBACK, OVF_INTERLEAVE };
enum { STATS_NONE = 0, STATS_EXIT = 1, STATS_SIGNAL = 2 };
enum { KIND_TARGET = 1, KIND_OVERFLOW = 2 };
enum { LAYOUT_STD = 0, LAYOUT_ALIGNED = 1 };
enum { MPOL_PREFERRED_ = 1, MPOL_BIND_ = 2, MPOL_INTERLEAVE_ = 3, MPOL_PREFERRED_MANY_ = 5 };

/* ------------------------------------------------------- real allocator */

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef void *(*valloc_fn)(size_t);
typedef size_t (*usable_fn)(void *);

/* What the fast paths read, on one cache line. */
static struct {
  size_t threshold; /* SIZE_MAX (everything passes) until configured */
  uintptr_t pagemask; /* 0 until resolved: every free takes the slow path */
  malloc_fn malloc;
  calloc_fn calloc;
  realloc_fn realloc;
  free_fn free;
} H __attribute__((aligned(64))) = {SIZE_MAX, 0, 0, 0, 0, 0};
#define real_malloc H.malloc
#define real_calloc H.calloc
#define real_realloc H.realloc
#define real_free H.free
#define g_threshold H.threshold
#define g_pagemask H.pagemask
static posix_memalign_fn real_posix_memalign;
static memalign_fn real_memalign;
static memalign_fn real_aligned_alloc;
static valloc_fn real_valloc;
static valloc_fn real_pvalloc;
static usable_fn real_usable;

static _Atomic int g_resolve_state; /* 0 not yet, 1 in progress, 2 done */
static size_t g_pagesize = 4096;

/* Bootstrap bump buffer: serves dlsym's own allocations. Each block has a
 * 16-byte prefix holding its size (for realloc / malloc_usable_size). */
static char g_bump[HM_BUMP_SIZE] __attribute__((aligned(64)));
static _Atomic size_t g_bump_used;

static int in_bump(const void *p) {
  return (const char *)p >= g_bump && (const char *)p < g_bump + HM_BUMP_SIZE;
}

static void *bump_alloc(size_t n, size_t align) {
  if (align < 16) align = 16;
  if (n > HM_BUMP_SIZE || align > 4096) return NULL;
  size_t need = (n + 15) & ~(size_t)15;
  size_t cur = atomic_load(&g_bump_used);
  for (;;) {
    size_t start = (cur + 16 + align - 1) & ~(align - 1);
    size_t end = start + need;
    if (end > HM_BUMP_SIZE) return NULL;
    if (atomic_compare_exchange_weak(&g_bump_used, &cur, end)) {
      *(size_t *)(g_bump + start - sizeof(size_t)) = n;
      return g_bump + start; /* static storage: already zero */
    }
  }
}

static size_t bump_size(const void *p) { return *(const size_t *)((const char *)p - sizeof(size_t)); }

/* Resolve glibc's functions. Returns 1 when resolved; 0 while another call
 * (possibly on this very thread, from inside dlsym) is resolving: the
 * caller then uses the bump buffer. */
static int resolve(void) {
  int s = atomic_load_explicit(&g_resolve_state, memory_order_acquire);
  if (LIKELY(s == 2)) return 1;
  int expected = 0;
  if (s == 0 && atomic_compare_exchange_strong(&g_resolve_state, &expected, 1)) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0) g_pagesize = (size_t)ps;
    real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
    real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
    real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
    real_free = (free_fn)dlsym(RTLD_NEXT, "free");
    real_posix_memalign = (posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
    real_memalign = (memalign_fn)dlsym(RTLD_NEXT, "memalign");
    real_aligned_alloc = (memalign_fn)dlsym(RTLD_NEXT, "aligned_alloc");
    real_valloc = (valloc_fn)dlsym(RTLD_NEXT, "valloc");
    real_pvalloc = (valloc_fn)dlsym(RTLD_NEXT, "pvalloc");
    real_usable = (usable_fn)dlsym(RTLD_NEXT, "malloc_usable_size");
    g_pagemask = g_pagesize - 1;
    atomic_store_explicit(&g_resolve_state, 2, memory_order_release);
    return 1;
  }
  return atomic_load_explicit(&g_resolve_state, memory_order_acquire) == 2;
}

/* ----------------------------------------------------------- configuration */

struct conf {
  size_t threshold;
  int nnodes;
  int nodes[HM_MAX_CONF_NODES];
  int weights[HM_MAX_CONF_NODES];
  int policy;
  size_t cap; /* 0 = none */
  int overflow;
  int nfb;
  int fb_nodes[HM_MAX_CONF_NODES];
  int stats;
  int stats_json;
  char stats_file[512];
  int stats_signal;
  size_t stripe;
  int verbose;
  size_t reserve;
  int populate;
};

static struct conf C;
static int g_active;                  /* placement configured and valid */
static uint64_t g_key;
static unsigned long g_target_mask[HM_MASK_WORDS];
static unsigned long g_fb_mask[HM_MASK_WORDS];
static int g_target_mode; /* kernel mode used for bind/preferred/interleave */

/* ------------------------------------------------------------- tiny I/O */

struct wbuf {
  char *p;
  size_t n, cap;
};

static void w_str(struct wbuf *b, const char *s) {
  while (*s && b->n + 1 < b->cap) b->p[b->n++] = *s++;
  b->p[b->n] = 0;
}

static void w_u64(struct wbuf *b, uint64_t v) {
  char t[24];
  int i = 0;
  do {
    t[i++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (i && b->n + 1 < b->cap) b->p[b->n++] = t[--i];
  b->p[b->n] = 0;
}

static void w_i64(struct wbuf *b, int64_t v) {
  if (v < 0) {
    w_str(b, "-");
    w_u64(b, (uint64_t)(-(v + 1)) + 1);
  } else {
    w_u64(b, (uint64_t)v);
  }
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

/* One line on stderr: "hmsdk-preload: " + the parts (NULL-terminated). */
static void say_parts(const char *first, ...) {
  char line[1024];
  struct wbuf w = {line, 0, sizeof line};
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
#define say(...) say_parts(__VA_ARGS__, (const char *)0)

/* Read a small sysfs file into buf (NUL-terminated). Length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return -e;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  return (ssize_t)n;
}

/* ---------------------------------------------------------------- masks */

static void mask_set(unsigned long *m, int node) {
  m[node / (8 * sizeof(unsigned long))] |= 1UL << (node % (8 * sizeof(unsigned long)));
}
static int mask_isset(const unsigned long *m, int node) {
  return (m[node / (8 * sizeof(unsigned long))] >> (node % (8 * sizeof(unsigned long)))) & 1UL;
}

/* Parse a sysfs/numactl node list "0-3,5" into mask; 0 or -1. */
static int parse_list_into_mask(const char *s, unsigned long *m) {
  while (*s == ' ' || *s == '\n') s++;
  if (!*s) return 0;
  for (;;) {
    if (*s < '0' || *s > '9') return -1;
    long a = 0;
    while (*s >= '0' && *s <= '9') {
      a = a * 10 + (*s++ - '0');
      if (a >= HM_MAX_NODE_ID) return -1;
    }
    long b = a;
    if (*s == '-') {
      s++;
      if (*s < '0' || *s > '9') return -1;
      b = 0;
      while (*s >= '0' && *s <= '9') {
        b = b * 10 + (*s++ - '0');
        if (b >= HM_MAX_NODE_ID) return -1;
      }
      if (b < a) return -1;
    }
    for (long i = a; i <= b; i++) mask_set(m, (int)i);
    if (*s == ',') {
      s++;
      continue;
    }
    while (*s == ' ' || *s == '\n') s++;
    return *s ? -1 : 0;
  }
}

/* ------------------------------------------------------------- the parser */

static char g_conf_buf[4096];

static int streq(const char *a, const char *b) { return strcmp(a, b) == 0; }

/* Bytes with optional K/M/G/T suffix (binary), optional "iB"/"B". */
static int parse_bytes(const char *s, size_t *out) {
  if (*s < '0' || *s > '9') return -1;
  unsigned long long v = 0;
  while (*s >= '0' && *s <= '9') {
    unsigned long long d = (unsigned long long)(*s++ - '0');
    if (v > (~0ULL - d) / 10) return -1;
    v = v * 10 + d;
  }
  unsigned shift = 0;
  switch (*s) {
  case 'k': case 'K': shift = 10; s++; break;
  case 'm': case 'M': shift = 20; s++; break;
  case 'g': case 'G': shift = 30; s++; break;
  case 't': case 'T': shift = 40; s++; break;
  default: break;
  }
  if (shift && (*s == 'i' || *s == 'I')) {
    s++;
    if (*s != 'b' && *s != 'B') return -1;
    s++;
  } else if (*s == 'b' || *s == 'B') {
    s++;
  }
  if (*s) return -1;
  if (shift && v > (~0ULL >> shift)) return -1;
  *out = (size_t)(v << shift);
  return 0;
}

static int parse_uint(const char *s, long max, long *out) {
  if (*s < '0' || *s > '9') return -1;
  long v = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (*s++ - '0');
    if (v > max) return -1;
  }
  if (*s) return -1;
  *out = v;
  return 0;
}

/* Node list "0,1" or "0-2" into array; returns count or -1. */
static int parse_nodes(const char *s, int *out) {
  unsigned long m[HM_MASK_WORDS];
  memset(m, 0, sizeof m);
  if (!*s || parse_list_into_mask(s, m) != 0) return -1;
  int n = 0;
  for (int i = 0; i < HM_MAX_NODE_ID; i++)
    if (mask_isset(m, i)) {
      if (n == HM_MAX_CONF_NODES) return -1;
      out[n++] = i;
    }
  return n;
}

/* "0:3,1:1" → nodes/weights (kept in the order given); count or -1. */
static int parse_weights(const char *s, int *nodes, int *weights) {
  int n = 0;
  while (*s) {
    long node = 0, w = 0;
    if (*s < '0' || *s > '9') return -1;
    while (*s >= '0' && *s <= '9') {
      node = node * 10 + (*s++ - '0');
      if (node >= HM_MAX_NODE_ID) return -1;
    }
    if (*s++ != ':') return -1;
    if (*s < '0' || *s > '9') return -1;
    while (*s >= '0' && *s <= '9') {
      w = w * 10 + (*s++ - '0');
      if (w > 255) return -1;
    }
    if (w < 1) return -1;
    for (int i = 0; i < n; i++)
      if (nodes[i] == node) return -1;
    if (n == HM_MAX_CONF_NODES) return -1;
    nodes[n] = (int)node;
    weights[n] = (int)w;
    n++;
    if (*s == ',') {
      s++;
      if (!*s) return -1;
    } else if (*s) {
      return -1;
    }
  }
  return n;
}

static int parse_signal(const char *s, int *out) {
  if (s[0] == 'S' && s[1] == 'I' && s[2] == 'G') s += 3;
  static const struct { const char *name; int sig; } names[] = {
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"WINCH", SIGWINCH},
      {"URG", SIGURG}, {"PWR", SIGPWR}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (streq(s, names[i].name)) {
      *out = names[i].sig;
      return 0;
    }
  long v;
  if (parse_uint(s, 64, &v) == 0 && v >= 1 && v != SIGKILL && v != SIGSTOP && v != SIGSEGV && v != SIGBUS) {
    *out = (int)v;
    return 0;
  }
  return -1;
}

static int is_key_start(const char *p) {
  const char *q = p;
  while ((*q >= 'a' && *q <= 'z') || *q == '_') q++;
  return q > p && *q == '=';
}

#define CONF_ERR(...) do { say(__VA_ARGS__); return -1; } while (0)

/* Parse HMSDK_CONF into C. The value of a key runs to the next ',' that is
 * followed by `name=` (so node lists and weight pairs may contain commas).
 * 0 on success, -1 after printing one line. */
static int parse_conf(const char *env) {
  static const char *suffix = " in HMSDK_CONF; memory placement disabled";
  if (strlen(env) >= sizeof g_conf_buf) CONF_ERR("HMSDK_CONF is longer than 4095 bytes", suffix);
  strcpy(g_conf_buf, env);
  memset(&C, 0, sizeof C);
  C.threshold = 1u << 20;
  C.policy = -1;
  C.overflow = OVF_FALLBACK;
  C.stats = STATS_NONE;
  C.stats_signal = SIGUSR2;
  C.stripe = 2u << 20;
  C.reserve = 64u << 20;
  int have_nodes = 0, have_weights = 0, have_fb = 0;
  int wnodes[HM_MAX_CONF_NODES], wweights[HM_MAX_CONF_NODES], nw = 0;
  unsigned seen = 0;
  static const char *keys[] = {"threshold", "min_size", "nodes", "policy", "weights", "cap", "overflow", "stats",
                               "stats_file", "stats_signal", "stats_format", "stripe", "verbose", "reserve",
                               "populate", "fallback_nodes"};
  char *p = g_conf_buf;
  while (*p == ' ') p++;
  if (!*p) CONF_ERR("HMSDK_CONF is empty", suffix);
  while (*p) {
    char *key = p;
    char *eq = strchr(p, '=');
    char *comma = strchr(p, ',');
    if (!eq || (comma && comma < eq)) {
      if (comma) *comma = 0;
      CONF_ERR("expected key=value, got '", key, "'", suffix);
    }
    *eq = 0;
    char *val = eq + 1;
    char *end = val;
    for (;;) {
      char *c = strchr(end, ',');
      if (!c) {
        end = val + strlen(val);
        p = end;
        break;
      }
      if (is_key_start(c + 1)) {
        *c = 0;
        end = c;
        p = c + 1;
        break;
      }
      end = c + 1;
    }
    int ki = -1;
    for (int i = 0; i < (int)(sizeof keys / sizeof keys[0]); i++)
      if (streq(key, keys[i])) ki = i;
    if (ki < 0) CONF_ERR("unknown key '", key, "'", suffix);
    int slot = ki == 1 ? 0 : ki; /* min_size is threshold */
    if (seen & (1u << slot)) CONF_ERR("key '", key, "' given twice", suffix);
    seen |= 1u << slot;
    int bad = 0;
    const char *expect = "";
    long v = 0;
    switch (ki) {
    case 0:
    case 1:
      bad = parse_bytes(val, &C.threshold) != 0 || C.threshold < 4096;
      expect = " (expected bytes >= 4096, optional K/M/G/T suffix)";
      break;
    case 2:
      C.nnodes = parse_nodes(val, C.nodes);
      bad = C.nnodes <= 0;
      have_nodes = 1;
      expect = " (expected a node list like 0,1 or 0-3)";
      break;
    case 3:
      if (streq(val, "bind")) C.policy = POL_BIND;
      else if (streq(val, "preferred")) C.policy = POL_PREFERRED;
      else if (streq(val, "interleave")) C.policy = POL_INTERLEAVE;
      else if (streq(val, "weighted")) C.policy = POL_WEIGHTED;
      else bad = 1;
      expect = " (expected bind, preferred, interleave or weighted)";
      break;
    case 4:
      nw = parse_weights(val, wnodes, wweights);
      bad = nw <= 0;
      have_weights = 1;
      expect = " (expected node:weight pairs like 0:3,1:1, weights 1..255)";
      break;
    case 5:
      bad = parse_bytes(val, &C.cap) != 0 || C.cap == 0;
      expect = " (expected bytes > 0, optional K/M/G/T suffix)";
      break;
    case 6:
      if (streq(val, "fail")) C.overflow = OVF_FAIL;
      else if (streq(val, "fallback")) C.overflow = OVF_FALLBACK;
      else if (streq(val, "interleave")) C.overflow = OVF_INTERLEAVE;
      else bad = 1;
      expect = " (expected fail, fallback or interleave)";
      break;
    case 7:
      if (streq(val, "exit")) C.stats = STATS_EXIT;
      else if (streq(val, "signal")) C.stats = STATS_SIGNAL;
      else if (streq(val, "both")) C.stats = STATS_EXIT | STATS_SIGNAL;
      else if (streq(val, "none")) C.stats = STATS_NONE;
      else bad = 1;
      expect = " (expected exit, signal, both or none)";
      break;
    case 8:
      bad = !*val || strlen(val) >= 400;
      if (!bad) strcpy(C.stats_file, val);
      expect = " (expected a path shorter than 400 bytes)";
      break;
    case 9:
      bad = parse_signal(val, &C.stats_signal) != 0;
      expect = " (expected a signal name like SIGUSR2 or a number)";
      break;
    case 10:
      if (streq(val, "kv")) C.stats_json = 0;
      else if (streq(val, "json")) C.stats_json = 1;
      else bad = 1;
      expect = " (expected kv or json)";
      break;
    case 11:
      bad = parse_bytes(val, &C.stripe) != 0 || C.stripe < g_pagesize || C.stripe % g_pagesize;
      expect = " (expected a multiple of the page size)";
      break;
    case 12:
      bad = parse_uint(val, 2, &v) != 0;
      C.verbose = (int)v;
      expect = " (expected 0, 1 or 2)";
      break;
    case 13:
      bad = parse_bytes(val, &C.reserve) != 0;
      expect = " (expected bytes, optional K/M/G/T suffix)";
      break;
    case 14:
      bad = parse_uint(val, 1, &v) != 0;
      C.populate = (int)v;
      expect = " (expected 0 or 1)";
      break;
    case 15:
      C.nfb = parse_nodes(val, C.fb_nodes);
      bad = C.nfb <= 0;
      have_fb = 1;
      expect = " (expected a node list like 0,1 or 0-3)";
      break;
    }
    if (bad) CONF_ERR("bad value '", val, "' for key '", key, "'", expect, suffix);
  }

  /* Cross-key checks. */
  if (have_weights) {
    if (C.policy == -1) C.policy = POL_WEIGHTED;
    if (C.policy != POL_WEIGHTED) CONF_ERR("'weights' needs policy=weighted", suffix);
    if (have_nodes) {
      if (C.nnodes != nw) CONF_ERR("'nodes' and 'weights' name different nodes", suffix);
      for (int i = 0; i < nw; i++) {
        int found = 0;
        for (int j = 0; j < C.nnodes; j++) found |= C.nodes[j] == wnodes[i];
        if (!found) CONF_ERR("'nodes' and 'weights' name different nodes", suffix);
      }
    }
    C.nnodes = nw;
    memcpy(C.nodes, wnodes, sizeof wnodes);
    memcpy(C.weights, wweights, sizeof wweights);
  } else if (C.policy == POL_WEIGHTED) {
    CONF_ERR("policy=weighted needs 'weights' (node:weight pairs)", suffix);
  }
  if (C.nnodes == 0) CONF_ERR("'nodes' (or 'weights') is required", suffix);
  if (C.policy == -1) C.policy = POL_BIND;

  /* Nodes must exist and have memory. */
  char buf[4096];
  unsigned long has_mem[HM_MASK_WORDS];
  memset(has_mem, 0, sizeof has_mem);
  if (read_small("/sys/devices/system/node/has_memory", buf, sizeof buf) < 0 || parse_list_into_mask(buf, has_mem) != 0)
    CONF_ERR("cannot read /sys/devices/system/node/has_memory (kernel without NUMA?)", suffix);
  char num[24];
  for (int i = 0; i < C.nnodes; i++) {
    if (!mask_isset(has_mem, C.nodes[i])) {
      struct wbuf w = {num, 0, sizeof num};
      w_u64(&w, (uint64_t)C.nodes[i]);
      CONF_ERR("node ", num, " has no memory or does not exist", suffix);
    }
    mask_set(g_target_mask, C.nodes[i]);
  }
  if (have_fb) {
    for (int i = 0; i < C.nfb; i++) {
      if (!mask_isset(has_mem, C.fb_nodes[i])) {
        struct wbuf w = {num, 0, sizeof num};
        w_u64(&w, (uint64_t)C.fb_nodes[i]);
        CONF_ERR("fallback node ", num, " has no memory or does not exist", suffix);
      }
    }
  } else {
    C.nfb = 0;
    for (int i = 0; i < HM_MAX_NODE_ID && C.nfb < HM_MAX_CONF_NODES; i++)
      if (mask_isset(has_mem, i)) C.fb_nodes[C.nfb++] = i;
  }
  /* Overflow interleave spreads over the configured and fallback nodes. */
  for (int i = 0; i < C.nfb; i++) mask_set(g_fb_mask, C.fb_nodes[i]);
  for (int i = 0; i < C.nnodes; i++) mask_set(g_fb_mask, C.nodes[i]);
  return 0;
}

/* ------------------------------------------------------------ statistics */

static _Atomic uint64_t st_live, st_peak, st_count, st_frees;
static _Atomic uint64_t st_ovf_live, st_ovf_peak, st_ovf_count;
static _Atomic uint64_t st_fallback, st_fail, st_mbind_err, st_populate_err, st_pass, st_reg_full;
static _Atomic uint64_t st_nodefull, st_capfull, st_realloc_inplace, st_realloc_move;
static _Atomic uint64_t st_node_live[HM_MAX_NODE_ID], st_node_peak[HM_MAX_NODE_ID];

/* Counting the small calls costs ~1.1 ns per call on the fast path
 * (measured with bench/preload.js: a TLS increment per call), so it is a
 * build-time option: -DHM_PRELOAD_COUNT_PASS=1. Without it the stats line
 * reports passthrough_calls=-1 ("not counted"). */
#ifndef HM_PRELOAD_COUNT_PASS
#define HM_PRELOAD_COUNT_PASS 0
#endif
#if HM_PRELOAD_COUNT_PASS
#define COUNT_PASS() count_pass()
#else
#define COUNT_PASS() ((void)0)
#endif

static __thread unsigned t_pass __attribute__((tls_model("initial-exec")));

static inline __attribute__((unused)) void count_pass(void) {
  if (UNLIKELY(++t_pass >= HM_PASS_BATCH)) {
    atomic_fetch_add_explicit(&st_pass, t_pass, memory_order_relaxed);
    t_pass = 0;
  }
}

static void peak_max(_Atomic uint64_t *peak, uint64_t v) {
  uint64_t cur = atomic_load_explicit(peak, memory_order_relaxed);
  while (v > cur && !atomic_compare_exchange_weak_explicit(peak, &cur, v, memory_order_relaxed, memory_order_relaxed)) {
  }
}

static void node_add(int node, uint64_t bytes) {
  uint64_t v = atomic_fetch_add_explicit(&st_node_live[node], bytes, memory_order_relaxed) + bytes;
  peak_max(&st_node_peak[node], v);
}

static void node_sub(int node, uint64_t bytes) {
  atomic_fetch_sub_explicit(&st_node_live[node], bytes, memory_order_relaxed);
}

static const char *policy_name(int p) {
  switch (p) {
  case POL_BIND: return "bind";
  case POL_PREFERRED: return "preferred";
  case POL_INTERLEAVE: return "interleave";
  default: return "weighted";
  }
}

/* Format one statistics line (kv or JSON). Async-signal-safe. */
static size_t format_stats(char *out, size_t cap, const char *reason) {
  struct wbuf w = {out, 0, cap};
  struct { const char *k; uint64_t v; } f[] = {
      {"placed_count", atomic_load(&st_count)},
      {"free_count", atomic_load(&st_frees)},
      {"live_bytes", atomic_load(&st_live)},
      {"peak_bytes", atomic_load(&st_peak)},
      {"overflow_interleave_count", atomic_load(&st_ovf_count)},
      {"overflow_live_bytes", atomic_load(&st_ovf_live)},
      {"overflow_peak_bytes", atomic_load(&st_ovf_peak)},
      {"fallback_count", atomic_load(&st_fallback)},
      {"fail_count", atomic_load(&st_fail)},
      {"cap_hits", atomic_load(&st_capfull)},
      {"node_full_hits", atomic_load(&st_nodefull)},
      {"mbind_errors", atomic_load(&st_mbind_err)},
      {"populate_errors", atomic_load(&st_populate_err)},
      {"registry_full", atomic_load(&st_reg_full)},
      {"realloc_in_place", atomic_load(&st_realloc_inplace)},
      {"realloc_moved", atomic_load(&st_realloc_move)},
      {"threshold", C.threshold},
      {"cap", C.cap},
  };
  size_t nf = sizeof f / sizeof f[0];
  if (C.stats_json) {
    w_str(&w, "{\"hmsdk_preload\":1,\"pid\":");
    w_i64(&w, getpid());
    w_str(&w, ",\"reason\":\"");
    w_str(&w, reason);
    w_str(&w, "\",\"policy\":\"");
    w_str(&w, policy_name(C.policy));
    w_str(&w, "\"");
    for (size_t i = 0; i < nf; i++) {
      w_str(&w, ",\"");
      w_str(&w, f[i].k);
      w_str(&w, "\":");
      w_u64(&w, f[i].v);
    }
    w_str(&w, ",\"passthrough_calls\":");
    w_i64(&w, HM_PRELOAD_COUNT_PASS ? (int64_t)atomic_load(&st_pass) : -1);
    w_str(&w, ",\"nodes\":{");
    int first = 1;
    for (int n = 0; n < HM_MAX_NODE_ID; n++) {
      uint64_t pk = atomic_load(&st_node_peak[n]);
      if (!pk && !mask_isset(g_target_mask, n)) continue;
      w_str(&w, first ? "\"" : ",\"");
      first = 0;
      w_u64(&w, (uint64_t)n);
      w_str(&w, "\":{\"live_bytes\":");
      w_u64(&w, atomic_load(&st_node_live[n]));
      w_str(&w, ",\"peak_bytes\":");
      w_u64(&w, pk);
      w_str(&w, "}");
    }
    w_str(&w, "}}\n");
  } else {
    w_str(&w, "hmsdk-preload-stats pid=");
    w_i64(&w, getpid());
    w_str(&w, " reason=");
    w_str(&w, reason);
    w_str(&w, " policy=");
    w_str(&w, policy_name(C.policy));
    for (size_t i = 0; i < nf; i++) {
      w_str(&w, " ");
      w_str(&w, f[i].k);
      w_str(&w, "=");
      w_u64(&w, f[i].v);
    }
    w_str(&w, " passthrough_calls=");
    w_i64(&w, HM_PRELOAD_COUNT_PASS ? (int64_t)atomic_load(&st_pass) : -1);
    for (int n = 0; n < HM_MAX_NODE_ID; n++) {
      uint64_t pk = atomic_load(&st_node_peak[n]);
      if (!pk && !mask_isset(g_target_mask, n)) continue;
      w_str(&w, " node");
      w_u64(&w, (uint64_t)n);
      w_str(&w, "_live_bytes=");
      w_u64(&w, atomic_load(&st_node_live[n]));
      w_str(&w, " node");
      w_u64(&w, (uint64_t)n);
      w_str(&w, "_peak_bytes=");
      w_u64(&w, pk);
    }
    w_str(&w, "\n");
  }
  return w.n;
}

static void dump_stats(const char *reason) {
  char line[8192];
  size_t n = format_stats(line, sizeof line, reason);
  int fd = 2, close_it = 0;
  if (C.stats_file[0]) {
    char path[512];
    struct wbuf w = {path, 0, sizeof path};
    for (const char *s = C.stats_file; *s; s++) {
      if (s[0] == '%' && s[1] == 'p') {
        w_i64(&w, getpid());
        s++;
      } else {
        char ch[2] = {*s, 0};
        w_str(&w, ch);
      }
    }
    int e0 = errno;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    errno = e0;
    if (fd < 0) fd = 2;
    else close_it = 1;
  }
  int e0 = errno;
  write_all(fd, line, n);
  if (close_it) close(fd);
  errno = e0;
}

static void on_stats_signal(int sig) {
  (void)sig;
  dump_stats("signal");
}

/* ------------------------------------------------------------- registry */

static _Atomic uintptr_t g_reg[HM_REG_SLOTS];
static _Atomic long g_reg_count;

static inline size_t reg_hash(uintptr_t a) {
  return (size_t)(((a >> 12) * 0x9E3779B97F4A7C15ULL) >> (64 - 14)) & (HM_REG_SLOTS - 1);
}

static int reg_insert(uintptr_t a) {
  size_t h = reg_hash(a);
  for (size_t i = 0; i < HM_REG_SLOTS; i++) {
    _Atomic uintptr_t *s = &g_reg[(h + i) & (HM_REG_SLOTS - 1)];
    uintptr_t v = atomic_load(s);
    while (v == 0 || v == HM_REG_TOMB) {
      if (atomic_compare_exchange_weak(s, &v, a)) {
        atomic_fetch_add(&g_reg_count, 1);
        return 1;
      }
    }
  }
  return 0;
}

static _Atomic uintptr_t *reg_find(uintptr_t a) {
  size_t h = reg_hash(a);
  for (size_t i = 0; i < HM_REG_SLOTS; i++) {
    _Atomic uintptr_t *s = &g_reg[(h + i) & (HM_REG_SLOTS - 1)];
    uintptr_t v = atomic_load_explicit(s, memory_order_acquire);
    if (v == a) return s;
    if (v == 0) return NULL;
  }
  return NULL;
}

/* ---------------------------------------------------------------- header */

struct hm_hdr {
  uint64_t magic;
  uint64_t check;
  uintptr_t base;
  size_t maplen;
  size_t usable;
  uintptr_t user;
  uint32_t kind;
  uint32_t layout;
  uint64_t pad;
};
_Static_assert(sizeof(struct hm_hdr) == HM_HDR_OFF, "header is 64 bytes");

static inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* The header of p if p is one of our blocks, else NULL. See the file
 * comment for why a foreign pointer cannot pass. */
static inline struct hm_hdr *owned(const void *p) {
  uintptr_t a = (uintptr_t)p;
  uintptr_t off = a & g_pagemask;
  if (off == HM_HDR_OFF) {
    struct hm_hdr *h = (struct hm_hdr *)(a - HM_HDR_OFF);
    if (h->magic == HM_MAGIC && h->check == mix64((uintptr_t)h ^ g_key) && h->user == a) return h;
    return NULL;
  }
  if (off == 0 && a && atomic_load_explicit(&g_reg_count, memory_order_relaxed) > 0 && reg_find(a))
    return (struct hm_hdr *)(a - HM_HDR_OFF);
  return NULL;
}

/* --------------------------------------------------------- kernel calls */

static long sys_mbind(void *addr, size_t len, int mode, const unsigned long *mask) {
  long r = syscall(SYS_mbind, addr, len, mode, mask, (unsigned long)HM_MAX_NODE_ID + 1, 0UL);
  return r == 0 ? 0 : -errno;
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* MemFree of a node in bytes from sysfs, or -1. */
static int64_t read_node_free(int node) {
  char path[96], buf[4096], num[24];
  struct wbuf w = {path, 0, sizeof path};
  w_str(&w, "/sys/devices/system/node/node");
  struct wbuf wn = {num, 0, sizeof num};
  w_u64(&wn, (uint64_t)node);
  w_str(&w, num);
  w_str(&w, "/meminfo");
  if (read_small(path, buf, sizeof buf) <= 0) return -1;
  char *m = strstr(buf, "MemFree:");
  if (!m) return -1;
  m += 8;
  while (*m == ' ') m++;
  int64_t kb = 0;
  while (*m >= '0' && *m <= '9') kb = kb * 10 + (*m++ - '0');
  return kb * 1024;
}

struct nodestate {
  _Atomic int64_t free;   /* MemFree at the last reading */
  _Atomic int64_t since;  /* bytes we placed since that reading */
  _Atomic uint64_t stamp; /* mono ns of the reading, 0 = never */
  _Atomic int lock;
};
static struct nodestate g_ns[HM_MAX_CONF_NODES];

/* Bytes node C.nodes[idx] can still take under our reserve. */
static int64_t node_avail(int idx) {
  struct nodestate *s = &g_ns[idx];
  uint64_t now = mono_ns();
  uint64_t stamp = atomic_load(&s->stamp);
  if (stamp == 0 || now - stamp > HM_NODE_CACHE_NS) {
    if (!atomic_exchange(&s->lock, 1)) {
      int64_t f = read_node_free(C.nodes[idx]);
      if (f >= 0) {
        atomic_store(&s->free, f);
        atomic_store(&s->since, 0);
        atomic_store(&s->stamp, now ? now : 1);
      }
      atomic_store(&s->lock, 0);
    } else if (stamp == 0) {
      /* first reading in progress on another thread: read our own */
      int64_t f = read_node_free(C.nodes[idx]);
      return f < 0 ? -1 : f - (int64_t)C.reserve;
    }
  }
  return atomic_load(&s->free) - atomic_load(&s->since) - (int64_t)C.reserve;
}

/* ------------------------------------------------------------- placement */

static size_t round_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

/* Walk the weighted stripe of a mapping of len bytes: cb(node index, off,
 * len). The same walk drives mbind and the per-node accounting. */
typedef int (*seg_cb)(void *ctx, int idx, size_t off, size_t len);

static int weighted_walk(size_t len, seg_cb cb, void *ctx) {
  size_t ps = g_pagesize;
  uint64_t wsum = 0;
  for (int i = 0; i < C.nnodes; i++) wsum += (uint64_t)C.weights[i];
  size_t unit = C.stripe;
  /* at most HM_MAX_SEGMENTS ranges per block */
  size_t min_unit = round_up(len / (HM_MAX_SEGMENTS / 2) / (size_t)wsum + 1, ps);
  if (unit < min_unit) unit = min_unit;
  size_t round = (size_t)wsum * unit;
  size_t off = 0;
  while (len - off >= round) {
    for (int i = 0; i < C.nnodes; i++) {
      size_t l = (size_t)C.weights[i] * unit;
      int r = cb(ctx, i, off, l);
      if (r) return r;
      off += l;
    }
  }
  size_t rem = len - off;
  for (int i = 0; i < C.nnodes && rem; i++) {
    size_t l = i == C.nnodes - 1 ? len - off : (size_t)((rem / wsum) * (uint64_t)C.weights[i] + (rem % wsum) * (uint64_t)C.weights[i] / wsum) & ~(ps - 1);
    if (l == 0) continue;
    int r = cb(ctx, i, off, l);
    if (r) return r;
    off += l;
  }
  return 0;
}

struct share_ctx {
  uint64_t bytes[HM_MAX_CONF_NODES];
};
static int share_cb(void *ctx, int idx, size_t off, size_t len) {
  (void)off;
  ((struct share_ctx *)ctx)->bytes[idx] += len;
  return 0;
}

struct mbind_ctx {
  char *base;
};
static int mbind_cb(void *ctx, int idx, size_t off, size_t len) {
  unsigned long m[HM_MASK_WORDS];
  memset(m, 0, sizeof m);
  mask_set(m, C.nodes[idx]);
  long r = sys_mbind(((struct mbind_ctx *)ctx)->base + off, len, MPOL_BIND_, m);
  return r ? (int)r : 0;
}

/* Per configured node, the bytes a target block of len bytes puts there
 * (exact for weighted, single-node policies and kernel interleave up to one
 * page; an even split estimate for multi-node bind/preferred). */
static void target_shares(size_t len, uint64_t *bytes) {
  memset(bytes, 0, sizeof(uint64_t) * (size_t)C.nnodes);
  if (C.policy == POL_WEIGHTED) {
    struct share_ctx s;
    memset(&s, 0, sizeof s);
    weighted_walk(len, share_cb, &s);
    memcpy(bytes, s.bytes, sizeof(uint64_t) * (size_t)C.nnodes);
    return;
  }
  if (C.policy == POL_PREFERRED) {
    bytes[0] = len;
    return;
  }
  size_t pages = len / g_pagesize;
  for (int i = 0; i < C.nnodes; i++)
    bytes[i] = (uint64_t)(pages / (size_t)C.nnodes + ((size_t)i < pages % (size_t)C.nnodes)) * g_pagesize;
}

static void overflow_shares_apply(size_t len, int sign) {
  size_t pages = len / g_pagesize;
  int n = 0;
  for (int i = 0; i < HM_MAX_NODE_ID; i++) n += mask_isset(g_fb_mask, i);
  int k = 0;
  for (int i = 0; i < HM_MAX_NODE_ID; i++) {
    if (!mask_isset(g_fb_mask, i)) continue;
    uint64_t b = (uint64_t)(pages / (size_t)n + ((size_t)k < pages % (size_t)n)) * g_pagesize;
    k++;
    if (sign > 0) node_add(i, b);
    else node_sub(i, b);
  }
}

static int cap_take(size_t len) {
  uint64_t cur = atomic_load_explicit(&st_live, memory_order_relaxed);
  for (;;) {
    if (C.cap && (cur > C.cap || len > C.cap - cur)) return 0;
    if (atomic_compare_exchange_weak_explicit(&st_live, &cur, cur + len, memory_order_relaxed, memory_order_relaxed)) {
      peak_max(&st_peak, cur + len);
      return 1;
    }
  }
}

static void cap_give(size_t len) { atomic_fetch_sub_explicit(&st_live, len, memory_order_relaxed); }

/* Do the nodes of a strict policy have room for this block? */
static int nodes_fit(size_t len, const uint64_t *shares) {
  if (C.policy == POL_BIND) {
    int64_t total = 0;
    for (int i = 0; i < C.nnodes; i++) {
      int64_t a = node_avail(i);
      if (a > 0) total += a;
    }
    return total >= (int64_t)len;
  }
  if (C.policy == POL_WEIGHTED) {
    for (int i = 0; i < C.nnodes; i++)
      if (shares[i] && node_avail(i) < (int64_t)shares[i]) return 0;
  }
  return 1;
}

/* Map len bytes (+ room for alignment), returning the mapping base such
 * that base + ps is aligned to `align` for the ALIGNED layout. */
static void *map_block(size_t len, size_t align, int layout) {
  size_t ps = g_pagesize;
  if (layout == LAYOUT_STD || align <= ps) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
  }
  size_t extra = align - ps;
  if (len > SIZE_MAX - extra) return NULL;
  char *p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  uintptr_t user = round_up((uintptr_t)p + ps, align);
  char *base = (char *)(user - ps);
  size_t lead = (size_t)(base - p);
  if (lead) munmap(p, lead);
  size_t tail = extra - lead;
  if (tail) munmap(base + len, tail);
  return base;
}

static int apply_target_policy(char *base, size_t len) {
  if (C.policy == POL_WEIGHTED) {
    struct mbind_ctx m = {base};
    return weighted_walk(len, mbind_cb, &m);
  }
  return (int)sys_mbind(base, len, g_target_mode, g_target_mask);
}

static void log_place(const char *what, size_t size, size_t len) {
  char a[24], b[24];
  struct wbuf wa = {a, 0, sizeof a}, wb = {b, 0, sizeof b};
  w_u64(&wa, size);
  w_u64(&wb, len);
  say(what, " size=", a, " mapped=", b);
}

/* Place a block of `size` bytes with alignment `align`. Returns the user
 * pointer; or NULL with *fallback = 1 (caller uses glibc) or *fallback = 0
 * (fail: errno is ENOMEM). */
static void *place(size_t size, size_t align, int *fallback) {
  size_t ps = g_pagesize;
  *fallback = 0;
  int layout = align <= HM_HDR_OFF ? LAYOUT_STD : LAYOUT_ALIGNED;
  if (size > SIZE_MAX / 2) {
    atomic_fetch_add(&st_fail, 1);
    errno = ENOMEM;
    return NULL;
  }
  size_t len = layout == LAYOUT_STD ? round_up(HM_HDR_OFF + size, ps) : ps + round_up(size ? size : 1, ps);
  uint64_t shares[HM_MAX_CONF_NODES];
  target_shares(len, shares);
  int kind = KIND_TARGET;
  char *base = NULL;
  const char *why = NULL;
  if (!cap_take(len)) {
    why = "cap";
    atomic_fetch_add(&st_capfull, 1);
  } else if (!nodes_fit(len, shares)) {
    cap_give(len);
    why = "node full";
    atomic_fetch_add(&st_nodefull, 1);
  } else {
    base = map_block(len, align, layout);
    if (!base) {
      cap_give(len);
      atomic_fetch_add(&st_fail, 1);
      errno = ENOMEM;
      return NULL;
    }
    if (apply_target_policy(base, len) != 0) {
      munmap(base, len);
      base = NULL;
      cap_give(len);
      why = "mbind error";
      atomic_fetch_add(&st_mbind_err, 1);
    } else if (C.populate && madvise(base, len, MADV_POPULATE_WRITE) != 0 && errno != EINVAL) {
      munmap(base, len);
      base = NULL;
      cap_give(len);
      why = "populate error";
      atomic_fetch_add(&st_populate_err, 1);
    }
  }
  if (!base) {
    if (C.verbose >= 2) log_place(why, size, len);
    if (C.overflow == OVF_FAIL) {
      atomic_fetch_add(&st_fail, 1);
      errno = ENOMEM;
      return NULL;
    }
    if (C.overflow == OVF_FALLBACK) {
      atomic_fetch_add(&st_fallback, 1);
      *fallback = 1;
      return NULL;
    }
    base = map_block(len, align, layout);
    if (!base) {
      atomic_fetch_add(&st_fail, 1);
      errno = ENOMEM;
      return NULL;
    }
    if (sys_mbind(base, len, MPOL_INTERLEAVE_, g_fb_mask) != 0) {
      munmap(base, len);
      atomic_fetch_add(&st_mbind_err, 1);
      atomic_fetch_add(&st_fallback, 1);
      *fallback = 1;
      return NULL;
    }
    kind = KIND_OVERFLOW;
  }
  uintptr_t user = (uintptr_t)base + (layout == LAYOUT_STD ? HM_HDR_OFF : ps);
  if (layout == LAYOUT_ALIGNED && !reg_insert(user)) {
    munmap(base, len);
    if (kind == KIND_TARGET) cap_give(len);
    atomic_fetch_add(&st_reg_full, 1);
    atomic_fetch_add(&st_fallback, 1);
    *fallback = 1;
    return NULL;
  }
  struct hm_hdr *h = (struct hm_hdr *)(user - HM_HDR_OFF);
  h->base = (uintptr_t)base;
  h->maplen = len;
  h->usable = len - (user - (uintptr_t)base);
  h->user = user;
  h->kind = (uint32_t)kind;
  h->layout = (uint32_t)layout;
  h->check = mix64((uintptr_t)h ^ g_key);
  atomic_store_explicit((_Atomic uint64_t *)&h->magic, HM_MAGIC, memory_order_release);
  atomic_fetch_add_explicit(&st_count, 1, memory_order_relaxed);
  if (kind == KIND_TARGET) {
    for (int i = 0; i < C.nnodes; i++) {
      if (!shares[i]) continue;
      node_add(C.nodes[i], shares[i]);
      atomic_fetch_add(&g_ns[i].since, (int64_t)shares[i]);
    }
  } else {
    uint64_t v = atomic_fetch_add(&st_ovf_live, len) + len;
    peak_max(&st_ovf_peak, v);
    atomic_fetch_add(&st_ovf_count, 1);
    overflow_shares_apply(len, 1);
  }
  if (C.verbose >= 2) log_place(kind == KIND_TARGET ? "placed" : "overflow interleave", size, len);
  return (void *)user;
}

static void release(struct hm_hdr *h) {
  uintptr_t base = h->base;
  size_t len = h->maplen;
  int kind = (int)h->kind;
  if (h->layout == LAYOUT_ALIGNED) {
    _Atomic uintptr_t *s = reg_find(h->user);
    if (s) {
      atomic_store(s, HM_REG_TOMB);
      atomic_fetch_sub(&g_reg_count, 1);
    }
  }
  h->magic = 0;
  if (kind == KIND_TARGET) {
    uint64_t shares[HM_MAX_CONF_NODES];
    target_shares(len, shares);
    for (int i = 0; i < C.nnodes; i++)
      if (shares[i]) node_sub(C.nodes[i], shares[i]);
    cap_give(len);
  } else {
    atomic_fetch_sub(&st_ovf_live, len);
    overflow_shares_apply(len, -1);
  }
  atomic_fetch_add_explicit(&st_frees, 1, memory_order_relaxed);
  munmap((void *)base, len);
}

/* ------------------------------------------------------------ lifecycle */

static int g_mode_preferred_many = -1;

static int probe_mode(int mode) {
  size_t ps = g_pagesize;
  void *p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 0;
  int ok = sys_mbind(p, ps, mode, g_target_mask) == 0;
  munmap(p, ps);
  return ok;
}

__attribute__((constructor)) static void hm_init(void) {
  resolve();
  const char *env = getenv("HMSDK_CONF");
  if (!env) return;
  if (parse_conf(env) != 0) {
    memset(&C, 0, sizeof C);
    return;
  }
  /* Secret key for header checks. */
  uint64_t key = 0;
  if (syscall(SYS_getrandom, &key, sizeof key, 1 /* GRND_NONBLOCK */) != (long)sizeof key) {
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    if (r) memcpy(&key, r + 8, sizeof key);
    key ^= mix64((uint64_t)(uintptr_t)&key ^ mono_ns());
  }
  g_key = key | 1;
  switch (C.policy) {
  case POL_BIND: g_target_mode = MPOL_BIND_; break;
  case POL_INTERLEAVE: g_target_mode = MPOL_INTERLEAVE_; break;
  case POL_PREFERRED:
    if (C.nnodes > 1 && (g_mode_preferred_many = probe_mode(MPOL_PREFERRED_MANY_))) {
      g_target_mode = MPOL_PREFERRED_MANY_;
    } else {
      /* plain preferred takes one node: the first listed */
      g_target_mode = MPOL_PREFERRED_;
      memset(g_target_mask, 0, sizeof g_target_mask);
      mask_set(g_target_mask, C.nodes[0]);
      if (C.nnodes > 1) say("policy=preferred with several nodes: kernel lacks MPOL_PREFERRED_MANY, preferring the first");
      C.nnodes = 1;
    }
    break;
  default: g_target_mode = MPOL_BIND_; break;
  }
  if (!probe_mode(C.policy == POL_WEIGHTED ? MPOL_BIND_ : g_target_mode)) {
    say("mbind is not usable here (", strerror(errno), "); memory placement disabled");
    return;
  }
  if (C.stats & STATS_SIGNAL) {
    struct sigaction old, sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stats_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(C.stats_signal, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
      sigaction(C.stats_signal, &sa, NULL);
    else
      say("stats_signal: the signal already has a handler; not replacing it (stats on signal off)");
  }
  if (C.verbose) {
    char t[24], c[24];
    struct wbuf wt = {t, 0, sizeof t}, wc = {c, 0, sizeof c};
    w_u64(&wt, C.threshold);
    w_u64(&wc, C.cap);
    say("active: policy=", policy_name(C.policy), " threshold=", t, C.cap ? " (capped)" : "");
    (void)c;
  }
  g_active = 1;
  atomic_thread_fence(memory_order_seq_cst);
  g_threshold = C.threshold;
}

__attribute__((destructor)) static void hm_fini(void) {
  if (g_active && (C.stats & STATS_EXIT)) {
    if (t_pass) {
      atomic_fetch_add(&st_pass, t_pass);
      t_pass = 0;
    }
    dump_stats("exit");
  }
}

/* ------------------------------------------------------------ interface */

/* Fast paths: a compare and a tail call into glibc; everything else lives
 * in the out-of-line *_slow functions so the fast path needs no frame. */

static __attribute__((noinline)) void *malloc_slow(size_t n) {
  if (!resolve()) return bump_alloc(n, 16);
  if (n >= g_threshold && g_active) {
    int fb;
    void *p = place(n, 16, &fb);
    if (p || !fb) return p;
  }
  return real_malloc(n);
}

EXPORT void *malloc(size_t n) {
  malloc_fn f = real_malloc;
  if (LIKELY(n < g_threshold && f != NULL)) {
    COUNT_PASS();
    return f(n);
  }
  return malloc_slow(n);
}

static __attribute__((noinline)) void *calloc_slow(size_t a, size_t b) {
  size_t n;
  if (__builtin_mul_overflow(a, b, &n)) {
    errno = ENOMEM;
    return NULL;
  }
  if (!resolve()) return bump_alloc(n, 16); /* static: already zero */
  if (n >= g_threshold && g_active) {
    int fb;
    void *p = place(n, 16, &fb); /* fresh anonymous memory is zero */
    if (p || !fb) return p;
  }
  return real_calloc(a, b);
}

EXPORT void *calloc(size_t a, size_t b) {
  size_t n;
  calloc_fn f = real_calloc;
  if (LIKELY(!__builtin_mul_overflow(a, b, &n) && n < g_threshold && f != NULL)) {
    COUNT_PASS();
    return f(a, b);
  }
  return calloc_slow(a, b);
}

static __attribute__((noinline)) void free_slow(void *p) {
  if (g_active) {
    struct hm_hdr *h = owned(p);
    if (h) {
      release(h);
      return;
    }
  }
  if (!p || in_bump(p)) return;
  if (real_free == NULL && !resolve()) return; /* nothing but bump blocks can be live yet */
  real_free(p);
}

/* Our blocks sit at page offset 64 (header) or 0 (registry); so do bump
 * blocks only by chance, hence the range test. Before resolve() the page
 * mask is 0, so every pointer takes the slow path. */
EXPORT void free(void *p) {
  uintptr_t off = (uintptr_t)p & g_pagemask;
  free_fn f = real_free;
  if (LIKELY(off != HM_HDR_OFF && off != 0 && (uintptr_t)p - (uintptr_t)g_bump >= HM_BUMP_SIZE)) {
    f(p);
    return;
  }
  free_slow(p);
}

EXPORT void *realloc(void *p, size_t n) {
  if (!p) return malloc(n);
  if (UNLIKELY(in_bump(p))) {
    void *q = malloc(n);
    if (q) {
      size_t old = bump_size(p);
      memcpy(q, p, old < n ? old : n);
    }
    return q;
  }
  struct hm_hdr *h = g_active ? owned(p) : NULL;
  if (LIKELY(!h)) {
    if (LIKELY(n < g_threshold) || !g_active) {
      if (UNLIKELY(real_realloc == NULL) && !resolve()) return NULL;
      count_pass();
      return real_realloc(p, n);
    }
    /* glibc block growing across the threshold: place it */
    int fb;
    void *q = place(n, 16, &fb);
    if (!q) return fb ? real_realloc(p, n) : NULL;
    size_t old = real_usable(p);
    memcpy(q, p, old < n ? old : n);
    real_free(p);
    atomic_fetch_add(&st_realloc_move, 1);
    return q;
  }
  if (n == 0) {
    release(h);
    return NULL;
  }
  if (n <= h->usable && n >= g_threshold && n >= h->usable / 2) {
    atomic_fetch_add(&st_realloc_inplace, 1);
    return p;
  }
  void *q = NULL;
  if (n >= g_threshold) {
    int fb;
    q = place(n, 16, &fb);
    if (!q && !fb) return NULL; /* old block stays valid, errno ENOMEM */
  }
  if (!q) q = real_malloc(n);
  if (!q) return NULL;
  memcpy(q, p, h->usable < n ? h->usable : n);
  release(h);
  atomic_fetch_add(&st_realloc_move, 1);
  return q;
}

EXPORT void *reallocarray(void *p, size_t a, size_t b) {
  size_t n;
  if (__builtin_mul_overflow(a, b, &n)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(p, n);
}

static int pow2(size_t a) { return a && !(a & (a - 1)); }

EXPORT int posix_memalign(void **out, size_t align, size_t n) {
  if (!pow2(align) || align % sizeof(void *)) return EINVAL;
  if (n >= g_threshold && g_active && align <= ((size_t)1 << 30)) {
    int fb;
    void *p = place(n, align, &fb);
    if (p) {
      *out = p;
      return 0;
    }
    if (!fb) return ENOMEM;
  }
  if (!resolve()) {
    void *p = bump_alloc(n, align);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
  }
  return real_posix_memalign(out, align, n);
}

EXPORT void *memalign(size_t align, size_t n) {
  if (pow2(align) && n >= g_threshold && g_active && align <= ((size_t)1 << 30)) {
    int fb;
    void *p = place(n, align, &fb);
    if (p || !fb) return p;
  }
  if (!resolve()) return bump_alloc(n, align);
  return real_memalign(align, n);
}

EXPORT void *aligned_alloc(size_t align, size_t n) {
  if (pow2(align) && n >= g_threshold && g_active && align <= ((size_t)1 << 30)) {
    int fb;
    void *p = place(n, align, &fb);
    if (p || !fb) return p;
  }
  if (!resolve()) return bump_alloc(n, align);
  return real_aligned_alloc(align, n);
}

EXPORT void *valloc(size_t n) {
  if (!resolve()) return bump_alloc(n, 4096);
  if (n >= g_threshold && g_active) {
    int fb;
    void *p = place(n, g_pagesize, &fb);
    if (p || !fb) return p;
  }
  return real_valloc(n);
}

EXPORT void *pvalloc(size_t n) {
  if (!resolve()) return bump_alloc(n, 4096);
  size_t r = round_up(n ? n : 1, g_pagesize);
  if (r >= g_threshold && g_active) {
    int fb;
    void *p = place(r, g_pagesize, &fb);
    if (p || !fb) return p;
  }
  return real_pvalloc(n);
}

EXPORT size_t malloc_usable_size(void *p) {
  if (!p) return 0;
  if (in_bump(p)) return bump_size(p);
  if (g_active) {
    struct hm_hdr *h = owned(p);
    if (h) return h->usable;
  }
  if (!resolve()) return 0;
  return real_usable(p);
}
