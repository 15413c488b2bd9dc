/*
 * A program with a hot set: mallocs TOTAL MiB, writes all of it once (so
 * every page is resident where the placement put it), then for SECONDS
 * reads only HOT MiB of it starting at OFFSET MiB, one 8-byte load per
 * cache line, over and over. Reads only: a monitor that sees writes alone
 * (soft-dirty) finds no hot set here.
 *
 * With SHIFT_MIB, SIGUSR1 moves the hot set: from then on it reads HOT MiB
 * at SHIFT_MIB instead (a hot set that changes).
 *
 * stdout, one line once the memory is written:
 *   ready <buffer address> <hot start address> <hot bytes>
 * one at the shift ("shift <new hot start address>") and at the end
 * "passes <n> sum <s>".
 * usage: hotset TOTAL_MIB HOT_MIB OFFSET_MIB SECONDS [SHIFT_MIB]
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t shift_asked;

static void on_usr1(int sig) {
  (void)sig;
  shift_asked = 1;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: hotset TOTAL_MIB HOT_MIB OFFSET_MIB SECONDS [SHIFT_MIB]\n");
    return 2;
  }
  size_t mib = (size_t)1 << 20;
  size_t total = (size_t)strtoul(argv[1], NULL, 10) * mib;
  size_t hot = (size_t)strtoul(argv[2], NULL, 10) * mib;
  size_t offset = (size_t)strtoul(argv[3], NULL, 10) * mib;
  double seconds = strtod(argv[4], NULL);
  size_t shift = argc == 6 ? (size_t)strtoul(argv[5], NULL, 10) * mib : offset;
  if (total == 0 || hot == 0 || offset + hot > total || shift + hot > total) {
    fprintf(stderr, "hotset: the hot range must lie inside the buffer\n");
    return 2;
  }
  unsigned char *buf = malloc(total);
  if (!buf) {
    perror("malloc");
    return 1;
  }
  signal(SIGUSR1, on_usr1);
  memset(buf, 0x5a, total);
  printf("ready %p %p %zu\n", (void *)buf, (void *)(buf + offset), hot);
  fflush(stdout);
  volatile uint64_t sum = 0;
  unsigned long passes = 0;
  double end = now() + seconds;
  while (now() < end) {
    if (shift_asked == 1) {
      shift_asked = 2;
      offset = shift;
      printf("shift %p\n", (void *)(buf + offset));
      fflush(stdout);
    }
    const uint64_t *p = (const uint64_t *)(buf + offset);
    for (size_t i = 0; i < hot / sizeof *p; i += 64 / sizeof *p) sum += p[i];
    passes++;
  }
  printf("passes %lu sum %llu\n", passes, (unsigned long long)sum);
  free(buf);
  return 0;
}
