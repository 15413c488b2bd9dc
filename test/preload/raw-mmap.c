/* Maps and touches 96 MiB with a raw mmap system call (no libc mmap, so no
 * interposition sees it), prints "ready", waits for stdin to close. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  size_t len = 96u << 20;
  char *p = (char *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
  if (p == MAP_FAILED) return 1;
  for (size_t i = 0; i < len; i += 4096) p[i] = 1;
  printf("ready %d\n", p[len - 4096]);
  fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  return 0;
}
