/*
 * preload-churn: large-block churn of an unmodified program, the workload
 * of case 13 (bench/cases/preload-churn.js).
 *
 * Keeps 64 blocks live. Each of ITERATIONS steps frees one of them (chosen
 * by a fixed-seed xorshift) and mallocs a replacement of a random size in
 * 64 KiB .. 4 MiB (byte granular, so sizes rarely repeat), then writes one
 * byte per 4 KiB page of it, the way a program fills a fresh buffer. Every
 * block is at or above the preload's 64 KiB threshold, so under hmsdk each
 * one is a placed allocation; under glibc they come from mmap until the
 * dynamic mmap threshold rises, then from the heap.
 *
 * Prints one line: "cpu_user_ns=.. cpu_sys_ns=.. wall_ns=.. minflt=.. checksum=..":
 * getrusage(RUSAGE_SELF) at the end of main (so the preload's constructor and
 * all allocation work count, and nothing of the launcher does), wall time of
 * the loop, and minor page faults.
 *
 * Usage: preload-churn ITERATIONS [SEED]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define LIVE 64
#define MIN_SIZE (64u << 10)
#define MAX_SIZE (4u << 20)
#define PAGE 4096

static uint64_t next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static long long ns_of(struct timeval tv) { return (long long)tv.tv_sec * 1000000000LL + (long long)tv.tv_usec * 1000LL; }

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 20000;
  uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 88172645463325252ULL;
  if (iterations < 1 || seed == 0) return 2;
  unsigned char *live[LIVE] = {0};
  unsigned long checksum = 0;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < iterations; i++) {
    uint64_t r = next(&seed);
    unsigned k = (unsigned)(r % LIVE);
    if (live[k]) checksum += live[k][0];
    free(live[k]);
    size_t n = MIN_SIZE + (size_t)((r >> 8) % (MAX_SIZE - MIN_SIZE + 1));
    unsigned char *p = malloc(n);
    if (!p) {
      fprintf(stderr, "preload-churn: malloc(%zu) failed at iteration %ld\n", n, i);
      return 1;
    }
    for (size_t off = 0; off < n; off += PAGE) p[off] = (unsigned char)i;
    live[k] = p;
  }
  for (unsigned k = 0; k < LIVE; k++) free(live[k]);
  clock_gettime(CLOCK_MONOTONIC, &b);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long long wall = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
  printf("cpu_user_ns=%lld cpu_sys_ns=%lld wall_ns=%lld minflt=%ld checksum=%lu\n", ns_of(ru.ru_utime), ns_of(ru.ru_stime), wall, ru.ru_minflt, checksum);
  return 0;
}
