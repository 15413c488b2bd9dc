/* hm_conf: the HMSDK_CONF key table and parser. See hm_conf.h. */
#include "hm_conf.h"

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "../prim/hm_prim.h"

enum { K_BYTES, K_UINT, K_ENUM, K_NODES, K_WEIGHTS, K_PATH, K_SIGNAL };

/* Flags of a K_BYTES key. */
#define PAGE_MULTIPLE 1

typedef struct key {
  const char *name;
  int kind;
  int slot;       /* keys sharing a slot are aliases: one of them, once */
  size_t offset;  /* field of hm_conf */
  uint64_t min, max;
  int flags;
  const char *values; /* K_ENUM: "a|b|c", the value is the index */
  const char *expect; /* shown after a bad value */
} key;

#define F(field) offsetof(hm_conf, field)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/* The one table. Bounds keep every later computation far from overflow. */
static const key KEYS[] = {
    {"threshold", K_BYTES, 0, F(threshold), 0, TiB, 0, 0, "bytes 0..1TiB, optional K/M/G/T suffix"},
    {"min_size", K_BYTES, 0, F(threshold), 0, TiB, 0, 0, "bytes 0..1TiB, optional K/M/G/T suffix"},
    {"nodes", K_NODES, 1, F(nodes), 0, 0, 0, 0, "a node list like 0,1 or 0-3"},
    {"policy", K_ENUM, 2, F(policy), 0, 0, 0, "bind|preferred|interleave|weighted", "bind, preferred, interleave or weighted"},
    {"weights", K_WEIGHTS, 3, F(weights), 1, 255, 0, 0, "node:weight pairs like 0:3,1:1, weights 1..255"},
    {"cap", K_BYTES, 4, F(cap), 1, 1ULL << 50, 0, 0, "bytes 1..1PiB, optional K/M/G/T suffix"},
    {"overflow", K_ENUM, 5, F(overflow), 0, 0, 0, "fail|fallback|interleave", "fail, fallback or interleave"},
    {"stats", K_ENUM, 6, F(stats), 0, 0, 0, "none|exit|signal|both", "exit, signal, both or none"},
    {"stats_file", K_PATH, 7, F(stats_file), 1, HM_CONF_PATH_MAX - 1, 0, 0, "a path of 1..399 bytes"},
    {"stats_signal", K_SIGNAL, 8, F(stats_signal), 0, 0, 0, 0, "a signal name like SIGUSR2 or a number"},
    {"stats_format", K_ENUM, 9, F(stats_json), 0, 0, 0, "kv|json", "kv or json"},
    {"stripe", K_BYTES, 10, F(stripe), 4096, GiB, PAGE_MULTIPLE, 0, "a multiple of the page size, 4KiB..1GiB"},
    {"verbose", K_UINT, 11, F(verbose), 0, 2, 0, 0, "0, 1 or 2"},
    {"reserve", K_BYTES, 12, F(reserve), 0, TiB, 0, 0, "bytes 0..1TiB, optional K/M/G/T suffix"},
    {"populate", K_UINT, 13, F(populate), 0, 1, 0, 0, "0 or 1"},
    {"fallback_nodes", K_NODES, 14, F(fb_nodes), 0, 0, 0, 0, "a node list like 0,1 or 0-3"},
    {"maps", K_UINT, 15, F(maps), 0, 1, 0, 0, "0 or 1"},
    {"maps_min", K_BYTES, 16, F(maps_min), 0, TiB, 0, 0, "bytes 0..1TiB, optional K/M/G/T suffix"},
    {"expect", K_UINT, 17, F(expect), 0, 100, 0, 0, "a percentage 0..100"},
    {"expect_min", K_BYTES, 18, F(expect_min), 0, TiB, 0, 0, "bytes 0..1TiB, optional K/M/G/T suffix"},
    {"cache", K_BYTES, 19, F(cache), 0, TiB, 0, 0, "bytes 0..1TiB, optional K/M/G/T suffix"},
    {"granule", K_BYTES, 20, F(granule), 0, GiB, PAGE_MULTIPLE, 0, "0 or a multiple of the page size up to 1GiB"},
};
#define NKEYS ((int)(sizeof KEYS / sizeof KEYS[0]))

int hm_conf_key_count(void) { return NKEYS; }
const char *hm_conf_key_name(int i) { return i >= 0 && i < NKEYS ? KEYS[i].name : NULL; }
const char *hm_conf_key_expect(int i) { return i >= 0 && i < NKEYS ? KEYS[i].expect : NULL; }

/* ---- messages ----------------------------------------------------------- */

typedef struct msg {
  char *p;
  size_t n, cap;
} msg;

static void put(msg *m, const char *s) {
  while (s && *s && m->n + 1 < m->cap) m->p[m->n++] = *s++;
  if (m->cap) m->p[m->n] = 0;
}

/* Write the NULL-terminated parts into err; returns -1. */
static int fail_parts(char *err, size_t cap, const char *first, ...) {
  msg m = {err, 0, cap};
  va_list ap;
  va_start(ap, first);
  for (const char *s = first; s; s = va_arg(ap, const char *)) put(&m, s);
  va_end(ap);
  return -1;
}
#define fail(err, cap, ...) fail_parts(err, cap, __VA_ARGS__, (const char *)0)

/* ---- value parsers ------------------------------------------------------- */

static int digits(const char **sp, uint64_t max, uint64_t *out) {
  const char *s = *sp;
  if (*s < '0' || *s > '9') return -1;
  uint64_t v = 0;
  while (*s >= '0' && *s <= '9') {
    uint64_t d = (uint64_t)(*s++ - '0');
    if (d > max || v > (max - d) / 10) return -1;
    v = v * 10 + d;
  }
  *sp = s;
  *out = v;
  return 0;
}

/* Bytes with an optional binary K/M/G/T suffix (and optional "iB"/"B"). */
static int parse_bytes(const char *s, uint64_t max, uint64_t *out) {
  uint64_t v;
  if (digits(&s, UINT64_MAX, &v) != 0) return -1;
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
  if (*s || v > (max >> shift)) return -1;
  *out = v << shift;
  return 0;
}

static int parse_nodes(const char *s, int *out) {
  hm_nodemask m;
  if (!*s || hm_mask_parse(s, &m) != 0) return -1;
  int n = 0;
  for (int i = 0; i < HM_MAX_NODES; i++)
    if (hm_mask_isset(&m, i)) {
      if (n == HM_CONF_MAX_NODES) return -1;
      out[n++] = i;
    }
  return n > 0 ? n : -1;
}

/* "0:3,1:1" -> nodes/weights in the order given; count or -1. */
static int parse_weights(const char *s, int *nodes, uint32_t *weights) {
  int n = 0;
  while (*s) {
    uint64_t node, w;
    if (digits(&s, HM_MAX_NODES - 1, &node) != 0 || *s++ != ':' || digits(&s, 255, &w) != 0 || w < 1) return -1;
    for (int i = 0; i < n; i++)
      if (nodes[i] == (int)node) return -1;
    if (n == HM_CONF_MAX_NODES) return -1;
    nodes[n] = (int)node;
    weights[n] = (uint32_t)w;
    n++;
    if (*s == ',') {
      if (!*++s) return -1;
    } else if (*s) {
      return -1;
    }
  }
  return n > 0 ? n : -1;
}

static int parse_signal(const char *s, int *out) {
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP},   {"WINCH", SIGWINCH},
               {"URG", SIGURG},   {"PWR", SIGPWR},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}};
  if (!strncmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(s, names[i].name)) {
      *out = names[i].sig;
      return 0;
    }
  uint64_t v;
  const char *p = s;
  if (digits(&p, 64, &v) == 0 && !*p && v >= 1 && v != SIGKILL && v != SIGSTOP && v != SIGSEGV && v != SIGBUS) {
    *out = (int)v;
    return 0;
  }
  return -1;
}

static int parse_enum(const char *s, const char *values, int *out) {
  size_t len = strlen(s);
  int index = 0;
  for (const char *v = values;; index++) {
    const char *bar = strchr(v, '|');
    size_t vl = bar ? (size_t)(bar - v) : strlen(v);
    if (vl == len && !strncmp(v, s, len)) {
      *out = index;
      return 0;
    }
    if (!bar) return -1;
    v = bar + 1;
  }
}

/* ---- the parser ---------------------------------------------------------- */

static int is_key_start(const char *p) {
  const char *q = p;
  while ((*q >= 'a' && *q <= 'z') || *q == '_') q++;
  return q > p && *q == '=';
}

static int set_value(const key *k, const char *val, hm_conf *c, int *count) {
  char *field = (char *)c + k->offset;
  uint64_t v;
  switch (k->kind) {
  case K_BYTES:
    if (parse_bytes(val, k->max, &v) != 0 || v < k->min) return -1;
    if ((k->flags & PAGE_MULTIPLE) && v % hm_page_size()) return -1;
    *(uint64_t *)field = v;
    return 0;
  case K_UINT: {
    const char *p = val;
    if (digits(&p, k->max, &v) != 0 || *p || v < k->min) return -1;
    *(int *)field = (int)v;
    return 0;
  }
  case K_ENUM: return parse_enum(val, k->values, (int *)field);
  case K_NODES: return (*count = parse_nodes(val, (int *)field)) > 0 ? 0 : -1;
  case K_WEIGHTS: return -1; /* handled by the caller (two arrays) */
  case K_PATH: {
    size_t n = strlen(val);
    if (n < k->min || n > k->max) return -1;
    memcpy(field, val, n + 1);
    return 0;
  }
  default: return parse_signal(val, (int *)field);
  }
}

int hm_conf_parse(const char *text, hm_conf *c, char *err, size_t cap) {
  static const char *off = " in HMSDK_CONF; memory placement disabled";
  char buf[HM_CONF_MAX_TEXT + 1];
  if (!text) return fail(err, cap, "HMSDK_CONF is not set", off);
  size_t len = strlen(text);
  if (len > HM_CONF_MAX_TEXT) return fail(err, cap, "HMSDK_CONF is longer than 4095 bytes", off);
  memcpy(buf, text, len + 1);
  memset(c, 0, sizeof *c);
  c->threshold = 0;
  c->maps = -1; /* 1, or 0 with a cap (see below) */
  c->expect = 95;
  c->expect_min = 32u << 20;
  c->cache = 64u << 20; /* the core's HM_CACHE_BYTES */
  c->policy = -1;
  c->overflow = HM_OVF_FALLBACK;
  c->stats_signal = SIGUSR2;
  int wnodes[HM_CONF_MAX_NODES], nw = 0, nnodes = 0, nfb = 0;
  uint32_t wweights[HM_CONF_MAX_NODES];
  unsigned seen = 0;
  char *p = buf;
  while (*p == ' ') p++;
  if (!*p) return fail(err, cap, "HMSDK_CONF is empty", off);
  while (*p) {
    char *name = p, *eq = strchr(p, '='), *comma = strchr(p, ',');
    if (!eq || (comma && comma < eq)) {
      if (comma) *comma = 0;
      return fail(err, cap, "expected key=value, got '", name, "'", off);
    }
    *eq = 0;
    char *val = eq + 1, *end = val;
    for (;;) {
      char *c2 = strchr(end, ',');
      if (!c2) {
        p = val + strlen(val);
        break;
      }
      if (is_key_start(c2 + 1)) {
        *c2 = 0;
        p = c2 + 1;
        break;
      }
      end = c2 + 1;
    }
    const key *k = NULL;
    for (int i = 0; i < NKEYS && !k; i++)
      if (!strcmp(name, KEYS[i].name)) k = &KEYS[i];
    if (!k) return fail(err, cap, "unknown key '", name, "'", off);
    if (seen & (1u << k->slot)) return fail(err, cap, "key '", name, "' given twice", off);
    seen |= 1u << k->slot;
    int ok;
    if (k->kind == K_WEIGHTS) ok = (nw = parse_weights(val, wnodes, wweights)) > 0;
    else ok = set_value(k, val, c, k->offset == F(nodes) ? &nnodes : &nfb) == 0;
    if (!ok) return fail(err, cap, "bad value '", val, "' for key '", name, "' (expected ", k->expect, ")", off);
    if (k->offset == F(reserve)) c->reserve_set = 1;
  }
  c->nnodes = nnodes;
  c->nfb = nfb;
  /* Cross-key rules. */
  if (nw) {
    if (c->policy == -1) c->policy = HM_POL_WEIGHTED;
    if (c->policy != HM_POL_WEIGHTED) return fail(err, cap, "'weights' needs policy=weighted", off);
    if (nnodes) {
      int same = nnodes == nw;
      for (int i = 0; i < nw && same; i++) {
        int found = 0;
        for (int j = 0; j < nnodes; j++) found |= c->nodes[j] == wnodes[i];
        same = found;
      }
      if (!same) return fail(err, cap, "'nodes' and 'weights' name different nodes", off);
    }
    c->nnodes = nw;
    memcpy(c->nodes, wnodes, sizeof wnodes);
    memcpy(c->weights, wweights, sizeof wweights);
  } else if (c->policy == HM_POL_WEIGHTED) {
    return fail(err, cap, "policy=weighted needs 'weights' (node:weight pairs)", off);
  }
  if (c->nnodes == 0) return fail(err, cap, "'nodes' (or 'weights') is required", off);
  if (c->policy == -1) c->policy = HM_POL_BIND;
  /* A cap counts blocks; the program's own mappings cannot be counted (their
   * length says nothing about their pages), so with a cap they stay where
   * the kernel puts them unless maps=1 asks otherwise. */
  if (c->maps < 0) c->maps = c->cap ? 0 : 1;
  if (c->stripe && c->policy != HM_POL_WEIGHTED) return fail(err, cap, "'stripe' needs policy=weighted", off);
  return 0;
}

int hm_conf_lenient(const hm_conf *c, int *nodes, int *n) {
  int mode;
  *n = c->nnodes;
  switch (c->policy) {
  case HM_POL_INTERLEAVE: mode = HM_MPOL_INTERLEAVE; break;
  case HM_POL_WEIGHTED: mode = hm_mode_supported(HM_MPOL_WEIGHTED_INTERLEAVE) ? HM_MPOL_WEIGHTED_INTERLEAVE : HM_MPOL_INTERLEAVE; break;
  default:
    mode = c->nnodes > 1 && hm_mode_supported(HM_MPOL_PREFERRED_MANY) ? HM_MPOL_PREFERRED_MANY : HM_MPOL_PREFERRED;
    if (mode == HM_MPOL_PREFERRED) *n = 1;
    break;
  }
  memcpy(nodes, c->nodes, (size_t)*n * sizeof *nodes);
  return mode;
}
