/*
 * preload-small: the small-allocation fast path of the hmsdk preload.
 *
 * THREADS threads each run OPS iterations of: free one of 64 live blocks
 * and malloc a new one of 16..512 bytes (xorshift sizes, touched once so
 * the allocation is real). Allocations this small always pass through the
 * preload to glibc, so any difference to a run without LD_PRELOAD is the
 * interposition overhead (one size compare, an indirect call, a batched
 * thread-local counter; free's page-offset test). Prints
 * "ns_per_op=<wall> cpu_ns_per_op=<cpu> ops=<n>": wall time (CLOCK_MONOTONIC)
 * and process CPU time (CLOCK_PROCESS_CPUTIME_ID, robust when the machine
 * is shared) over the whole run, divided by the total operation count.
 *
 * Usage: preload-small THREADS OPS
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long g_ops;

static void *worker(void *arg) {
  uint64_t s = 88172645463325252ULL ^ (uint64_t)(uintptr_t)arg;
  void *live[64] = {0};
  for (long i = 0; i < g_ops; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    unsigned k = (unsigned)(s & 63);
    free(live[k]);
    size_t n = 16 + (size_t)((s >> 8) % 497);
    char *p = malloc(n);
    if (!p) abort();
    p[0] = (char)i;
    live[k] = p;
  }
  for (int k = 0; k < 64; k++) free(live[k]);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  g_ops = argc > 2 ? atol(argv[2]) : 5000000;
  if (threads < 1 || threads > 256 || g_ops < 1) return 2;
  pthread_t t[256];
  struct timespec a, b, ca, cb;
  clock_gettime(CLOCK_MONOTONIC, &a);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
  double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
  double cns = (double)(cb.tv_sec - ca.tv_sec) * 1e9 + (double)(cb.tv_nsec - ca.tv_nsec);
  double total = (double)g_ops * threads;
  printf("ns_per_op=%.3f cpu_ns_per_op=%.3f ops=%ld\n", ns / total, cns / total, g_ops * threads);
  return 0;
}
