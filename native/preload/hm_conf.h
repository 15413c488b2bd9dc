/*
 * hm_conf: HMSDK_CONF, the transparent mode's configuration. One table of
 * keys (hm_conf.c) and one parser, compiled into the preload library AND
 * the N-API addon: `hmsdk run` validates the string it builds with the
 * very code the preload will run (addon confCheck), so the CLI and the
 * library cannot disagree on a key, a bound or a message.
 *
 * Syntax: key=value pairs separated by ','; a value runs to the next ','
 * that is followed by `name=` (so node lists and weight pairs may contain
 * commas). Every numeric value is bounded; arithmetic is overflow-checked.
 * The parser allocates nothing and calls no stdio: it runs inside the
 * preload's constructor, before the program's main.
 */
#ifndef HM_CONF_H
#define HM_CONF_H

#include <stddef.h>
#include <stdint.h>

#define HM_CONF_MAX_NODES 64
#define HM_CONF_MAX_TEXT 4095
#define HM_CONF_PATH_MAX 400

enum { HM_POL_BIND, HM_POL_PREFERRED, HM_POL_INTERLEAVE, HM_POL_WEIGHTED };
enum { HM_OVF_FAIL, HM_OVF_FALLBACK, HM_OVF_INTERLEAVE };
enum { HM_STATS_NONE = 0, HM_STATS_EXIT = 1, HM_STATS_SIGNAL = 2 };

typedef struct hm_conf {
  uint64_t threshold; /* smaller blocks stay with glibc (0: every block is placed) */
  int nnodes;
  int nodes[HM_CONF_MAX_NODES];
  uint32_t weights[HM_CONF_MAX_NODES]; /* policy weighted: aligned with nodes */
  int policy;
  uint64_t cap; /* 0 = none */
  int overflow;
  int nfb; /* 0 = every node with memory */
  int fb_nodes[HM_CONF_MAX_NODES];
  int stats;
  int stats_json;
  char stats_file[HM_CONF_PATH_MAX];
  int stats_signal;
  uint64_t stripe; /* 0 = adaptive (native/core/hm_stripe.h) */
  int verbose;
  uint64_t reserve; /* used when reserve_set; else the core's reserve rule */
  int reserve_set;
  int populate;
  int maps;          /* place the program's own anonymous mmaps (hm_mmap.c); default 1, 0 with a cap */
  uint64_t maps_min; /* ... of at least this length */
  int expect;        /* percent of anonymous memory expected on the target (hm_coverage.c) */
  uint64_t expect_min; /* ... checked once the process has this much */
  uint64_t cache;      /* freed large blocks kept for reuse, per placement */
  uint64_t granule;    /* placed memory in VMAs of at most this size (hm_mbind_split; hmsdk tier's sampler) */
} hm_conf;

/* Parse `text` into *c. 0, or -1 with one line (no newline) in err. */
int hm_conf_parse(const char *text, hm_conf *c, char *err, size_t err_cap);

/* The non-strict form of c's policy, for memory whose page faults cannot
 * fail (the program's own mappings, small blocks, a static program's task
 * policy): MPOL_BIND on a full node would be an OOM kill. Bind and
 * preferred become MPOL_PREFERRED on the first node, or
 * MPOL_PREFERRED_MANY over all of them where the kernel has it;
 * interleave stays; weighted is the kernel's MPOL_WEIGHTED_INTERLEAVE (its
 * sysfs weights) where it exists, else interleave. Returns the mode and
 * *n node ids in nodes (HM_CONF_MAX_NODES room). */
int hm_conf_lenient(const hm_conf *c, int *nodes, int *n);

/* The key table, for `hmsdk run` and the contract tests. */
int hm_conf_key_count(void);
const char *hm_conf_key_name(int i);
const char *hm_conf_key_expect(int i);

#endif
