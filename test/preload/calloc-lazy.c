/*
 * calloc-lazy: calloc blocks that together exceed a node's free memory
 * WITHOUT touching them, then touch them all, then ask the kernel where
 * every page of every block is (move_pages). For test/numa/preload-full.test.ts,
 * run under the hmsdk preload library (hmsdk run --nodes N).
 *
 * The pause between two callocs is longer than the preload's meminfo cache
 * (100 ms), so each calloc sees a fresh MemFree reading that does not yet
 * show the earlier, untouched blocks: the case the preload must still
 * account for.
 *
 * The program raises its own oom_score_adj to 1000 so that, if the strict
 * placement ends in a memory-policy OOM kill, the victim is this program
 * (exit by SIGKILL, seen by the test) and not the test runner.
 *
 * Usage: calloc-lazy NBLOCKS BLOCK_MIB PAUSE_MS
 * Prints one JSON line:
 *   {"pageSize":4096,"blocks":[{"pages":N,"nodes":{"0":n,"1":n},"absent":n,"other":n,"zero":1},...]}
 * and exits 0; exits 1 if a calloc returned NULL (printed as "calloc NULL").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAXB 256
#define MAXN 64
#define BATCH 4096

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: calloc-lazy NBLOCKS BLOCK_MIB PAUSE_MS\n");
    return 2;
  }
  int nb = atoi(argv[1]);
  size_t size = (size_t)atol(argv[2]) << 20;
  long pause_ms = atol(argv[3]);
  if (nb < 1 || nb > MAXB || size == 0) return 2;
  int fd = open("/proc/self/oom_score_adj", O_WRONLY);
  if (fd >= 0) {
    if (write(fd, "1000", 4) != 4) perror("oom_score_adj");
    close(fd);
  }
  long ps = sysconf(_SC_PAGESIZE);
  unsigned char *blk[MAXB];
  for (int i = 0; i < nb; i++) {
    blk[i] = calloc(1, size);
    if (!blk[i]) {
      printf("calloc NULL at block %d errno %d\n", i, errno);
      return 1;
    }
    struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  fprintf(stderr, "calloc-lazy: %d blocks of %zu bytes allocated, touching\n", nb, size);
  /* calloc memory must read as zero; then write every page */
  int zero[MAXB];
  for (int i = 0; i < nb; i++) {
    zero[i] = 1;
    for (size_t off = 0; off < size; off += (size_t)ps) {
      if (blk[i][off] != 0 || blk[i][off + (size_t)ps - 1] != 0) zero[i] = 0;
      blk[i][off] = (unsigned char)(1 + i);
    }
  }
  fprintf(stderr, "calloc-lazy: touched\n");
  static void *pages[BATCH];
  static int status[BATCH];
  printf("{\"pageSize\":%ld,\"blocks\":[", ps);
  for (int i = 0; i < nb; i++) {
    long per[MAXN];
    long absent = 0, other = 0, total = 0;
    memset(per, 0, sizeof per);
    for (size_t off = 0; off < size;) {
      int n = 0;
      for (; n < BATCH && off < size; n++, off += (size_t)ps) pages[n] = blk[i] + off;
      long r = syscall(SYS_move_pages, 0, (unsigned long)n, pages, NULL, status, 0);
      if (r < 0) {
        printf("\nmove_pages failed errno %d\n", errno);
        return 1;
      }
      for (int k = 0; k < n; k++) {
        total++;
        if (status[k] >= 0 && status[k] < MAXN) per[status[k]]++;
        else if (status[k] == -ENOENT) absent++;
        else other++;
      }
    }
    printf("%s{\"pages\":%ld,\"nodes\":{", i ? "," : "", total);
    int first = 1;
    for (int n = 0; n < MAXN; n++) {
      if (!per[n]) continue;
      printf("%s\"%d\":%ld", first ? "" : ",", n, per[n]);
      first = 0;
    }
    printf("},\"absent\":%ld,\"other\":%ld,\"zero\":%d}", absent, other, zero[i]);
  }
  printf("]}\n");
  for (int i = 0; i < nb; i++) free(blk[i]);
  return 0;
}
