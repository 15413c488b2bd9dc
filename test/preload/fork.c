/* fork() under the preload while other threads are placing and freeing
 * large blocks: every child must place a block of its own and exit; a core
 * lock held across the fork would hang it. Prints "fork ok N". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;

static void *churn(void *arg) {
  unsigned seed = (unsigned)(size_t)arg;
  while (!stop) {
    size_t n = (size_t)(64 + rand_r(&seed) % 4096) * 1024;
    char *p = malloc(n);
    if (p) {
      p[0] = 1;
      p[n - 1] = 2;
      free(p);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 200;
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, churn, (void *)(size_t)(i + 1));
  int ok = 0;
  for (int i = 0; i < forks; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      char *p = malloc(8 << 20);
      if (!p) _exit(3);
      memset(p, 7, 8 << 20);
      free(p);
      _exit(0);
    }
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) ok++;
  }
  stop = 1;
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  printf("fork ok %d\n", ok);
  return ok == forks ? 0 : 1;
}
