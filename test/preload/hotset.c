/*
 * A program with a hot set: mallocs TOTAL MiB, writes all of it once (so
 * every page is resident where the placement put it), then for SECONDS
 * reads only HOT MiB of it starting at OFFSET MiB, one 8-byte load per
 * cache line, over and over. Reads only: a monitor that sees writes alone
 * (soft-dirty) finds no hot set here.
 *
 * stdout, one line once the memory is written:
 *   ready <buffer address> <hot start address> <hot bytes>
 * and at the end "passes <n> sum <s>".
 * usage: hotset TOTAL_MIB HOT_MIB OFFSET_MIB SECONDS
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: hotset TOTAL_MIB HOT_MIB OFFSET_MIB SECONDS\n");
    return 2;
  }
  size_t mib = (size_t)1 << 20;
  size_t total = (size_t)strtoul(argv[1], NULL, 10) * mib;
  size_t hot = (size_t)strtoul(argv[2], NULL, 10) * mib;
  size_t offset = (size_t)strtoul(argv[3], NULL, 10) * mib;
  double seconds = strtod(argv[4], NULL);
  if (total == 0 || hot == 0 || offset + hot > total) {
    fprintf(stderr, "hotset: the hot range must lie inside the buffer\n");
    return 2;
  }
  unsigned char *buf = malloc(total);
  if (!buf) {
    perror("malloc");
    return 1;
  }
  memset(buf, 0x5a, total);
  printf("ready %p %p %zu\n", (void *)buf, (void *)(buf + offset), hot);
  fflush(stdout);
  volatile uint64_t sum = 0;
  unsigned long passes = 0;
  double end = now() + seconds;
  while (now() < end) {
    const uint64_t *p = (const uint64_t *)(buf + offset);
    for (size_t i = 0; i < hot / sizeof *p; i += 64 / sizeof *p) sum += p[i];
    passes++;
  }
  printf("passes %lu sum %llu\n", passes, (unsigned long long)sum);
  free(buf);
  return 0;
}
