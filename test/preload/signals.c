/* Counts SIGINT and SIGTERM; prints its pid and "ready", exits after the
 * second SIGTERM or after 10 s, printing "INT=<n> TERM=<n> PIPE=<disposition>". */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t ints, terms;

static void on_signal(int sig) {
  if (sig == SIGINT) ints++;
  else terms++;
}

int main(void) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGPIPE, NULL, &old);
  printf("pid=%d pgid=%d ready\n", (int)getpid(), (int)getpgrp());
  fflush(stdout);
  for (int i = 0; i < 1000 && terms < 1; i++) usleep(10000);
  usleep(200000); /* a duplicate delivery would arrive meanwhile */
  printf("INT=%d TERM=%d PIPE=%s\n", (int)ints, (int)terms, old.sa_handler == SIG_IGN ? "ignored" : "default");
  return 3;
}
