/*
 * hm_coverage: where the program's anonymous memory really is, by the
 * kernel's word (/proc/self/numa_maps), and one line when less of it than
 * asked ended up on the target.
 *
 * Counted: every mapping numa_maps shows without a file= field (heap,
 * anonymous mappings, ours and the program's), minus the main stack; the
 * N<node>=<pages> fields times kernelpagesize_kB. A mapping whose policy
 * field is "default" is one no placement reached (memory from before the
 * preload started, raw system calls, thread stacks, glibc's own heap for
 * blocks below the threshold or refused by the cap); a placed mapping's
 * pages off the target fell back because the target was full.
 *
 * When: a program's peak is rarely its state at exit (python frees its
 * objects before exit handlers run), so the library also reads numa_maps
 * each time the memory it has seen mapped (the program's own anonymous
 * mappings, placed or not, and placed blocks) doubles past expect_min, and
 * keeps the reading with the most anonymous memory; the exit line reports
 * that one.
 *
 * Runs inside mmap, malloc, the exit path and a signal handler:
 * open/read/close only, a static buffer guarded by a flag (a reading that
 * finds it busy is skipped), no malloc.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "../prim/hm_prim.h"
#include "hm_preload.h"

static char buf[65536];
static _Atomic int reading;         /* buf in use */
static _Atomic uint64_t seen_bytes; /* mapped memory seen so far */
static _Atomic uint64_t next_reading; /* seen_bytes that triggers the next reading */
static hm_coverage peak;            /* the reading with the largest total (guarded by `reading`) */

static int is_target(int node) {
  for (int i = 0; i < hm_C.nnodes; i++)
    if (hm_C.nodes[i] == node) return 1;
  return 0;
}

static uint64_t number(const char *s, const char **end) {
  uint64_t v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (uint64_t)(*s++ - '0');
  *end = s;
  return v;
}

/* One numa_maps line (NUL-terminated, no newline). */
static void take_line(const char *line, hm_coverage *c) {
  const char *sp = strchr(line, ' ');
  if (!sp) return;
  const char *policy = sp + 1;
  if (strstr(policy, " file=") || strstr(policy, " stack")) return;
  int unplaced = !strncmp(policy, "default", 7);
  uint64_t page_kb = 4;
  const char *k = strstr(policy, " kernelpagesize_kB=");
  if (k) {
    const char *e;
    page_kb = number(k + 19, &e);
  }
  for (const char *p = policy; (p = strstr(p, " N")) != NULL;) {
    const char *e;
    uint64_t node = number(p + 2, &e);
    if (e == p + 2 || *e != '=') {
      p += 2;
      continue;
    }
    uint64_t bytes = number(e + 1, &e) * page_kb * 1024;
    c->total += bytes;
    if (node < HM_MAX_NODES && is_target((int)node)) c->on_target += bytes;
    else if (unplaced) c->unplaced_off += bytes;
    else c->placed_off += bytes;
    p = e;
  }
}

int hm_coverage_read(hm_coverage *c) {
  memset(c, 0, sizeof *c);
  int idle = 0;
  if (!atomic_compare_exchange_strong(&reading, &idle, 1)) return -1;
  int fd = open("/proc/self/numa_maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    atomic_store(&reading, 0);
    return -1;
  }
  size_t have = 0;
  for (;;) {
    ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
    if (r <= 0) break;
    have += (size_t)r;
    buf[have] = 0;
    char *start = buf, *nl;
    while ((nl = strchr(start, '\n')) != NULL) {
      *nl = 0;
      take_line(start, c);
      start = nl + 1;
    }
    have = (size_t)(buf + have - start);
    memmove(buf, start, have);
    if (have == sizeof buf - 1) have = 0; /* a line longer than the buffer: drop it */
  }
  close(fd);
  if (c->total > peak.total) peak = *c;
  atomic_store(&reading, 0);
  return 0;
}

void hm_coverage_note(uint64_t bytes) {
  uint64_t seen = atomic_fetch_add_explicit(&seen_bytes, bytes, memory_order_relaxed) + bytes;
  uint64_t next = atomic_load_explicit(&next_reading, memory_order_relaxed);
  if (!hm_C.expect || seen < next || seen < hm_C.expect_min) return;
  if (!atomic_compare_exchange_strong(&next_reading, &next, seen * 2)) return;
  hm_coverage c;
  hm_coverage_read(&c);
}

void hm_coverage_check(void) {
  if (!hm_C.expect) return;
  hm_coverage c;
  hm_coverage_read(&c); /* at exit: the last reading, kept if it is the peak */
  c = peak;
  if (c.total < hm_C.expect_min || c.total == 0) return;
  uint64_t pct = c.on_target * 100 / c.total;
  if (pct >= (uint64_t)hm_C.expect) return;
  char a[24], t[24], asked[24], off1[24], off2[24], nodes[64];
  hm_u64_str(pct, a, sizeof a);
  hm_u64_str(c.total >> 20, t, sizeof t);
  hm_u64_str((uint64_t)hm_C.expect, asked, sizeof asked);
  hm_u64_str(c.unplaced_off >> 20, off1, sizeof off1);
  hm_u64_str(c.placed_off >> 20, off2, sizeof off2);
  size_t n = 0;
  for (int i = 0; i < hm_C.nnodes && n + 8 < sizeof nodes; i++) {
    char id[12];
    hm_u64_str((uint64_t)hm_C.nodes[i], id, sizeof id);
    if (i) nodes[n++] = ',';
    for (const char *s = id; *s; s++) nodes[n++] = *s;
  }
  nodes[n] = 0;
  const char *why_unplaced = hm_C.threshold ? " MiB in memory no placement reached (blocks below the threshold stay with glibc; raw system calls; thread stacks; memory from before start-up)"
                                            : " MiB in memory no placement reached (raw system calls; thread stacks; memory from before start-up; blocks the cap or a full node sent to glibc)";
  hm_say(a, "% of this process's anonymous memory (", t, " MiB, at its peak) is on node ", nodes, ", asked ", asked, "%: ", off1, why_unplaced, "; ", off2,
         " MiB of placed memory fell back to other nodes (target full)");
}
