/*
 * hm_prim: system calls. See hm_prim.h for the contract (libc only, no
 * malloc, no stdio, raw syscalls for the NUMA calls).
 *
 * mbind's result is always checked by the callers: libnuma's
 * numa_alloc_onnode() returns unbound memory when mbind fails; we return
 * the error instead.
 */
#include "hm_prim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define BITS_PER_WORD (8 * sizeof(unsigned long))
#define PAGE_BATCH 1024

void hm_mask_clear(hm_nodemask *m) { memset(m, 0, sizeof *m); }

void hm_mask_set(hm_nodemask *m, int node) { m->bits[node / BITS_PER_WORD] |= 1UL << (node % BITS_PER_WORD); }

int hm_mask_isset(const hm_nodemask *m, int node) {
  return (int)((m->bits[node / BITS_PER_WORD] >> (node % BITS_PER_WORD)) & 1UL);
}

static int parse_id(const char **sp, long *out) {
  const char *s = *sp;
  if (*s < '0' || *s > '9') return -1;
  long v = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (*s++ - '0');
    if (v >= HM_MAX_NODES) return -1;
  }
  *sp = s;
  *out = v;
  return 0;
}

int hm_mask_parse(const char *s, hm_nodemask *m) {
  hm_mask_clear(m);
  while (*s == ' ' || *s == '\n') s++;
  if (!*s) return 0;
  for (;;) {
    long a, b;
    if (parse_id(&s, &a) != 0) return -1;
    b = a;
    if (*s == '-') {
      s++;
      if (parse_id(&s, &b) != 0 || b < a) return -1;
    }
    for (long i = a; i <= b; i++) hm_mask_set(m, (int)i);
    if (*s == ',') {
      s++;
      continue;
    }
    while (*s == ' ' || *s == '\n') s++;
    return *s ? -1 : 0;
  }
}

static size_t page_size_cache;

size_t hm_page_size(void) {
  if (!page_size_cache) {
    long ps = sysconf(_SC_PAGESIZE);
    page_size_cache = ps > 0 ? (size_t)ps : 4096;
  }
  return page_size_cache;
}

size_t hm_round_pages(size_t n) {
  size_t ps = hm_page_size();
  return (n + ps - 1) & ~(ps - 1);
}

/* Raw system calls, not libc's mmap/munmap: inside the preload those names
 * are the interposed functions (hm_mmap.c), which would place the core's
 * own metadata and extents a second time. */
void *hm_map(size_t len) {
  long p = syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
  return p < 0 && p > -4096 ? NULL : (void *)p;
}

void hm_unmap(void *addr, size_t len) {
  if (addr && len) syscall(SYS_munmap, addr, len);
}

void *hm_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off) {
  return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int hm_sys_munmap(void *addr, size_t len) { return syscall(SYS_munmap, addr, len) == 0 ? 0 : -errno; }

void *hm_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr) {
  return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

int hm_set_task_policy(int mode, const hm_nodemask *mask) {
  long r = syscall(SYS_set_mempolicy, mode, mask ? mask->bits : NULL, mask ? (unsigned long)HM_MAX_NODES + 1 : 0UL);
  return r == 0 ? 0 : -errno;
}

int hm_exec(const char *path, char *const argv[], char *const envp[], int mode, const hm_nodemask *mask) {
  if (mode != HM_MPOL_DEFAULT) {
    int r = hm_set_task_policy(mode, mask);
    if (r != 0) return r;
  }
  /* What a launcher changed must not reach the program: ignored signals
   * (Node ignores SIGPIPE) and a blocked mask survive execve; handlers do
   * not. Stdio as the shell gave it: inherited (Node marks 0-2
   * close-on-exec at start-up) and blocking. All of it is put back when
   * execve fails: the caller goes on. */
  static struct sigaction saved[NSIG];
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, &saved[sig]);
  sigset_t none, mask_before;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, &mask_before);
  int fd_flags[3], fl[3];
  for (int fd = 0; fd <= 2; fd++) {
    fd_flags[fd] = fcntl(fd, F_GETFD);
    if (fd_flags[fd] >= 0 && (fd_flags[fd] & FD_CLOEXEC)) fcntl(fd, F_SETFD, fd_flags[fd] & ~FD_CLOEXEC);
    fl[fd] = fcntl(fd, F_GETFL);
    if (fl[fd] >= 0 && (fl[fd] & O_NONBLOCK)) fcntl(fd, F_SETFL, fl[fd] & ~O_NONBLOCK);
  }
  execve(path, argv, envp);
  int e = errno;
  for (int fd = 0; fd <= 2; fd++) {
    if (fl[fd] >= 0) fcntl(fd, F_SETFL, fl[fd]);
    if (fd_flags[fd] >= 0) fcntl(fd, F_SETFD, fd_flags[fd]);
  }
  sigprocmask(SIG_SETMASK, &mask_before, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &saved[sig], NULL);
  if (mode != HM_MPOL_DEFAULT) hm_set_task_policy(HM_MPOL_DEFAULT, NULL);
  return -e;
}

static int mbind_once(uintptr_t addr, size_t len, int mode, const hm_nodemask *mask, unsigned flags) {
  long r = syscall(SYS_mbind, addr, len, mode, mask ? mask->bits : NULL, mask ? (unsigned long)HM_MAX_NODES + 1 : 0UL,
                   (unsigned long)flags);
  return r == 0 ? 0 : -errno;
}

static size_t mbind_granule; /* 0: one call per range */

void hm_mbind_split(size_t granule) { mbind_granule = granule; }

int hm_mbind(void *addr, size_t len, int mode, const hm_nodemask *mask, unsigned flags) {
  size_t g = mbind_granule;
  uintptr_t a = (uintptr_t)addr, end = a + len;
  if (g == 0 || mode == HM_MPOL_DEFAULT) return mbind_once(a, len, mode, mask, flags);
  while (a < end) {
    uintptr_t next = (a / g + 1) * g;
    if (next > end) next = end;
    int r = mbind_once(a, next - a, mode | (int)((a / g) & 1) * HM_MPOL_F_STATIC_NODES, mask, flags);
    if (r == -ENOMEM) return mbind_once(a, end - a, mode, mask, flags); /* out of VMAs: one for the rest */
    if (r != 0) return r;
    a = next;
  }
  return 0;
}

static int populate_madvise_works = 1;

int hm_populate(void *addr, size_t len) {
  if (populate_madvise_works) {
    for (;;) {
      if (madvise(addr, len, MADV_POPULATE_WRITE) == 0) return 0;
      /* A pending signal interrupts the populate; retry. */
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (errno != EINVAL) return -errno;
    populate_madvise_works = 0; /* kernel < 5.14 */
  }
  size_t ps = hm_page_size();
  volatile char *p = (volatile char *)addr;
  for (size_t off = 0; off < len; off += ps) p[off] = p[off];
  return 0;
}

/* move_pages(0, n, pages, NULL, status, 0) over [addr, addr+len) in
 * batches; calls visit(status, n, ctx) per batch. */
static int query_pages(const void *addr, size_t len, void (*visit)(const int *, unsigned long, void *), void *ctx) {
  size_t ps = hm_page_size();
  uintptr_t start = (uintptr_t)addr & ~(uintptr_t)(ps - 1);
  uintptr_t end = ((uintptr_t)addr + len + ps - 1) & ~(uintptr_t)(ps - 1);
  void *pages[PAGE_BATCH];
  int status[PAGE_BATCH];
  for (uintptr_t a = start; a < end;) {
    unsigned long n = 0;
    while (n < PAGE_BATCH && a < end) {
      pages[n++] = (void *)a;
      a += ps;
    }
    if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0) != 0) return -errno;
    visit(status, n, ctx);
  }
  return 0;
}

int hm_move_pages(int pid, uintptr_t addr, size_t npages, int node, int *status) {
  size_t ps = hm_page_size();
  if (addr & (ps - 1) || node >= HM_MAX_NODES) return -EINVAL;
  void *pages[PAGE_BATCH];
  int nodes[PAGE_BATCH];
  for (size_t i = 0; i < PAGE_BATCH; i++) nodes[i] = node;
  for (size_t done = 0; done < npages;) {
    unsigned long n = npages - done < PAGE_BATCH ? (unsigned long)(npages - done) : PAGE_BATCH;
    for (unsigned long k = 0; k < n; k++) pages[k] = (void *)(addr + (done + k) * ps);
    /* A move returns the count of pages it could not move (>= 0 is success
     * for the call; status has each page's outcome). */
    if (syscall(SYS_move_pages, pid, n, pages, node < 0 ? NULL : nodes, status + done, node < 0 ? 0 : HM_MF_MOVE) < 0)
      return -errno;
    if (node >= 0) /* status of a moved page is its node; ask for those the call left with an error */
      for (unsigned long k = 0; k < n; k++)
        if (status[done + k] < 0 && status[done + k] != -ENOENT && status[done + k] != -EFAULT) {
          int s;
          if (syscall(SYS_move_pages, pid, 1UL, &pages[k], NULL, &s, 0) == 0 && s >= 0) status[done + k] = s;
        }
    done += n;
  }
  return 0;
}

int hm_madvise_cold(int pid, const uintptr_t *starts, const size_t *lens, size_t n) {
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return -errno;
  struct iovec iov[PAGE_BATCH]; /* PAGE_BATCH (1024) is also UIO_MAXIOV */
  int r = 0;
  size_t done = 0;
  do {
    size_t k = n - done < PAGE_BATCH ? n - done : PAGE_BATCH;
    for (size_t i = 0; i < k; i++) iov[i] = (struct iovec){(void *)starts[done + i], lens[done + i]};
    /* Partial progress (a range unmapped meanwhile: ENOMEM) is fine: the
     * rest of the batch is only unsampled this once. */
    if (syscall(SYS_process_madvise, pidfd, iov, k, MADV_COLD, 0U) < 0 && errno != ENOMEM && errno != EINVAL) {
      r = -errno;
      break;
    }
    done += k;
  } while (done < n);
  close(pidfd);
  return r;
}

struct where_ctx {
  uint64_t *counts, *absent, *other;
};

static void where_visit(const int *status, unsigned long n, void *p) {
  struct where_ctx *c = p;
  for (unsigned long i = 0; i < n; i++) {
    int s = status[i];
    if (s >= 0 && s < HM_MAX_NODES) c->counts[s]++;
    else if (s == -ENOENT) (*c->absent)++;
    else (*c->other)++;
  }
}

int hm_where(const void *addr, size_t len, uint64_t *counts, uint64_t *absent, uint64_t *other) {
  struct where_ctx c = {counts, absent, other};
  return query_pages(addr, len, where_visit, &c);
}

struct on_ctx {
  const hm_nodemask *mask;
  int64_t on;
};

static void on_visit(const int *status, unsigned long n, void *p) {
  struct on_ctx *c = p;
  for (unsigned long i = 0; i < n; i++)
    if (status[i] >= 0 && status[i] < HM_MAX_NODES && hm_mask_isset(c->mask, status[i])) c->on++;
}

int64_t hm_pages_on(const void *addr, size_t len, const hm_nodemask *mask) {
  struct on_ctx c = {mask, 0};
  int r = query_pages(addr, len, on_visit, &c);
  return r != 0 ? r : c.on;
}

int64_t hm_resident_pages(const void *addr, size_t len) {
  size_t ps = hm_page_size();
  size_t npages = (len + ps - 1) / ps;
  unsigned char vec[PAGE_BATCH];
  int64_t resident = 0;
  for (size_t i = 0; i < npages; i += PAGE_BATCH) {
    size_t n = npages - i < PAGE_BATCH ? npages - i : PAGE_BATCH;
    if (mincore((char *)addr + i * ps, n * ps, vec) != 0) return -errno;
    for (size_t k = 0; k < n; k++) resident += vec[k] & 1;
  }
  return resident;
}

/* Read a small file into buf (NUL-terminated): length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return -e;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  return (ssize_t)n;
}

int hm_read_nodelist(const char *path, hm_nodemask *m) {
  char buf[4096];
  ssize_t r = read_small(path, buf, sizeof buf);
  if (r < 0) return (int)r;
  return hm_mask_parse(buf, m) == 0 ? 0 : -EINVAL;
}

/* The kB value after `key` in a meminfo text, in bytes; -1 if absent. */
static int64_t meminfo_field(const char *text, const char *key) {
  const char *m = strstr(text, key);
  if (!m) return -1;
  m += strlen(key);
  while (*m == ' ') m++;
  if (*m < '0' || *m > '9') return -1;
  int64_t kb = 0;
  while (*m >= '0' && *m <= '9' && kb < (INT64_MAX / 1024 - 10) / 10) kb = kb * 10 + (*m++ - '0');
  return kb * 1024;
}

int hm_node_meminfo(int node, uint64_t *total, uint64_t *free_bytes) {
  if (node < 0 || node >= HM_MAX_NODES) return -EINVAL;
  char path[64] = "/sys/devices/system/node/node";
  char digits[8];
  int nd = 0, v = node;
  do {
    digits[nd++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  size_t at = strlen(path);
  while (nd) path[at++] = digits[--nd];
  memcpy(path + at, "/meminfo", sizeof "/meminfo");
  char buf[4096];
  ssize_t r = read_small(path, buf, sizeof buf);
  if (r < 0) return (int)r;
  int64_t t = meminfo_field(buf, "MemTotal:"), f = meminfo_field(buf, "MemFree:");
  if (t < 0 || f < 0) return -EINVAL;
  *total = (uint64_t)t;
  *free_bytes = (uint64_t)f;
  return 0;
}

uint64_t hm_system_free(void) {
  struct sysinfo si;
  if (sysinfo(&si) != 0) return 0;
  return (uint64_t)si.freeram * (uint64_t)si.mem_unit;
}

/* 0 = not probed, 1 = supported, 2 = not. Racy by design: every thread
 * computes the same answer. */
static int mode_probe[8];

int hm_mode_supported(int mode) {
  if (mode < 0 || mode >= 8) return 0;
  if (mode_probe[mode] == 0) {
    int ok = 0;
    hm_nodemask has_memory, m;
    hm_mask_clear(&m);
    /* Any node with memory works for the probe: take the first. */
    if (hm_read_nodelist("/sys/devices/system/node/has_memory", &has_memory) == 0) {
      for (int n = 0; n < HM_MAX_NODES; n++)
        if (hm_mask_isset(&has_memory, n)) {
          hm_mask_set(&m, n);
          break;
        }
    } else {
      hm_mask_set(&m, 0);
    }
    size_t ps = hm_page_size();
    void *p = hm_map(ps);
    if (p) {
      ok = hm_mbind(p, ps, mode, &m, 0) == 0;
      hm_unmap(p, ps);
    }
    mode_probe[mode] = ok ? 1 : 2;
  }
  return mode_probe[mode] == 1;
}

uint64_t hm_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- shared memory objects -------------------------------------------- */

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

int hm_memfd(const char *name, uint64_t len) {
  int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  if (ftruncate(fd, (off_t)len) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int hm_memfd_seal(int fd) {
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) != 0) {
    /* EBUSY: a writable shared mapping (or a pin) is left. */
    if (errno != EBUSY || fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) != 0) return -errno;
  }
  return fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == 0 ? 0 : -errno;
}

void *hm_map_fd(int fd, size_t len, int shared) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
  return p == MAP_FAILED ? NULL : p;
}

int hm_map_placeholder(void *addr, size_t len) {
  void *p = mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? -errno : 0;
}

int hm_populate_read(void *addr, size_t len) {
  for (;;) {
    if (madvise(addr, len, MADV_POPULATE_READ) == 0) return 0;
    if (errno != EINTR && errno != EAGAIN) return -errno;
  }
}

int hm_open_ro(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int hm_fd_ident(int fd, uint64_t *ino, uint64_t *dev, uint64_t *size, int *seals) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  *ino = (uint64_t)st.st_ino;
  *dev = (uint64_t)st.st_dev;
  *size = (uint64_t)st.st_size;
  *seals = fcntl(fd, F_GET_SEALS);
  return 0;
}

void hm_close(int fd) {
  if (fd >= 0) close(fd);
}

int hm_lock_file(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

void *hm_map_aligned(size_t len, size_t align) {
  char *p = hm_map(len + align); /* raw system calls, as hm_map */
  if (!p) return NULL;
  uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
  size_t head = a - (uintptr_t)p, tail = align - head;
  if (head) hm_unmap(p, head);
  if (tail) hm_unmap((char *)a + len, tail);
  return (void *)a;
}

int hm_nohugepage(void *addr, size_t len) {
  if (!len) return 0;
  return madvise(addr, len, MADV_NOHUGEPAGE) == 0 ? 0 : -errno;
}
