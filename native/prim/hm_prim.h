/*
 * hm_prim: the OS-primitives layer. Every system call the native code makes
 * lives here: anonymous mappings, mbind, populate, move_pages, mincore, the
 * memfd objects of the shared store (hm_shm) and its lock file, the
 * per-node meminfo reader, the policy-mode probe and the clock. The shared
 * core (native/core), the N-API addon and the LD_PRELOAD library all call
 * the kernel through this file only.
 *
 * Constraints, because the preload library runs inside arbitrary programs
 * and interposes malloc: libc only (no libnuma: its constructors allocate),
 * raw syscalls for mbind / move_pages, no malloc, no stdio, no locks.
 * Functions return 0 (or a count) or a negative errno; they never print,
 * never exit.
 */
#ifndef HM_PRIM_H
#define HM_PRIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Node masks are fixed-size: 1024 bits covers every distro kernel
 * (CONFIG_NODES_SHIFT <= 10). mbind gets maxnode = HM_MAX_NODES + 1 because
 * the kernel reads maxnode - 1 bits. */
#define HM_MAX_NODES 1024
#define HM_MASK_WORDS (HM_MAX_NODES / (8 * sizeof(unsigned long)))

/* Kernel memory policy modes (linux/mempolicy.h). */
enum {
  HM_MPOL_DEFAULT = 0,
  HM_MPOL_PREFERRED = 1,
  HM_MPOL_BIND = 2,
  HM_MPOL_INTERLEAVE = 3,
  HM_MPOL_PREFERRED_MANY = 5,     /* 5.15+ */
  HM_MPOL_WEIGHTED_INTERLEAVE = 6 /* 6.9+ */
};

/* Mode flag: the nodes are physical ids, kept as given when the cpuset changes. */
#define HM_MPOL_F_STATIC_NODES (1 << 15)

/* mbind flag: move pages that do not conform to the new policy. */
#define HM_MF_MOVE (1u << 1)

typedef struct hm_nodemask {
  unsigned long bits[HM_MASK_WORDS];
} hm_nodemask;

void hm_mask_clear(hm_nodemask *m);
void hm_mask_set(hm_nodemask *m, int node);
int hm_mask_isset(const hm_nodemask *m, int node);

/* Parse a kernel node list ("0-3,5\n") into m. 0, or -1 on a syntax error
 * or an id >= HM_MAX_NODES. */
int hm_mask_parse(const char *s, hm_nodemask *m);

/* Read a kernel node-list file (e.g. /sys/devices/system/node/has_memory)
 * into m. 0 or -errno. */
int hm_read_nodelist(const char *path, hm_nodemask *m);

/* System page size, cached. */
size_t hm_page_size(void);
size_t hm_round_pages(size_t n);

/* Anonymous private read/write mapping; NULL on failure (errno set). */
void *hm_map(size_t len);
void hm_unmap(void *addr, size_t len);

/* The mapping calls as raw system calls, libc's return conventions
 * (MAP_FAILED / -1 with errno), for the preload's interposed mmap family. */
void *hm_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int hm_sys_munmap(void *addr, size_t len); /* 0 or -errno */
void *hm_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);

/* set_mempolicy(mode, mask): the calling thread's policy, inherited by the
 * threads it creates and kept across execve. 0 or -errno. */
int hm_set_task_policy(int mode, const hm_nodemask *mask);

/* Become `path` (execve), as the launcher of `hmsdk run`: the task policy
 * first when mode is not HM_MPOL_DEFAULT, every signal back to its default
 * disposition, an empty signal mask, stdio blocking. Returns -errno only
 * when execve failed (all of that is then put back, the task policy reset
 * to the default). Not thread-safe (one static save area): the launcher's
 * last act. */
int hm_exec(const char *path, char *const argv[], char *const envp[], int mode, const hm_nodemask *mask);

/* mbind(addr, len, mode, mask) as a raw syscall; flags are MPOL_MF_*. 0 or -errno.
 * After hm_mbind_split(g), g > 0, a policy other than the default is set
 * granule by granule (address multiples of g), alternate granules with
 * MPOL_F_STATIC_NODES: the same placement (the flag only matters when a
 * cpuset's nodes change), but the kernel cannot merge neighbouring granules
 * into one VMA, so /proc/PID/smaps tells their accesses apart (the sampling
 * monitor of hmsdk tier, src/tiering/pages/sample.ts). When the process
 * reaches its VMA limit, the rest of a range gets one call. */
int hm_mbind(void *addr, size_t len, int mode, const hm_nodemask *mask, unsigned flags);
void hm_mbind_split(size_t granule);

/* Fault in every page of [addr, addr+len) for writing: MADV_POPULATE_WRITE
 * (5.14+), else one write per page. 0 or -errno (-ENOMEM when the policy's
 * nodes cannot supply the pages). */
int hm_populate(void *addr, size_t len);

/* Per-node page histogram of [addr, addr+len) from move_pages(..., NULL,
 * status): counts[node]++ for resident pages, *absent for never-touched
 * pages (-ENOENT), *other for the zero page or otherwise unplaced pages.
 * counts must hold HM_MAX_NODES entries. 0 or -errno. */
int hm_where(const void *addr, size_t len, uint64_t *counts, uint64_t *absent, uint64_t *other);

/* Pages of [addr, addr+len) on the nodes of `mask` (move_pages). -errno on error. */
int64_t hm_pages_on(const void *addr, size_t len, const hm_nodemask *mask);

/* Resident pages of [addr, addr+len) (mincore). -errno on error. */
int64_t hm_resident_pages(const void *addr, size_t len);

/* MemTotal / MemFree of a node, bytes, from
 * /sys/devices/system/node/nodeN/meminfo. 0 or -errno (-ENOENT: no such node). */
int hm_node_meminfo(int node, uint64_t *total, uint64_t *free_bytes);

/* Free RAM of the whole system, bytes (sysinfo: one cheap syscall, no file). */
uint64_t hm_system_free(void);

/* Does the kernel accept this mbind mode? Probed once on a scratch page. */
int hm_mode_supported(int mode);

/* CLOCK_MONOTONIC_COARSE in nanoseconds (vDSO: no syscall). */
uint64_t hm_now_ns(void);


/* ---- shared memory objects (hm_shm) ---------------------------------- */

/* memfd seals (linux/fcntl.h F_SEAL_*). */
#define HM_SEAL_SHRINK 0x0002
#define HM_SEAL_GROW 0x0004

/* memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING) sized to len bytes
 * and sealed against shrinking and growing (a truncation would SIGBUS
 * every mapper). fd or -errno. */
int hm_memfd(const char *name, uint64_t len);

/* Add the write seals at seal time: F_SEAL_WRITE when no writable shared
 * mapping is left, else F_SEAL_FUTURE_WRITE (5.1+); then F_SEAL_SEAL.
 * 0 or -errno. */
int hm_memfd_seal(int fd);

/* Map len bytes of fd: shared read/write (the creator) or private
 * copy-on-write (readers: a write copies the page into this process
 * only). NULL on failure (errno set). */
void *hm_map_fd(int fd, size_t len, int shared);

/* Replace [addr, addr+len) with a fresh private anonymous mapping
 * (MAP_FIXED, nothing faulted): drops the mapping's reference to its
 * object at once while the range stays writable, so a write still in
 * flight lands in memory nobody reads. 0 or -errno. */
int hm_map_placeholder(void *addr, size_t len);

/* Fault the pages of a mapping in for reading (MADV_POPULATE_READ, 5.14+):
 * page-table entries only, no copy. 0 or -errno (-EINVAL before 5.14). */
int hm_populate_read(void *addr, size_t len);

/* open(path, O_RDONLY | O_CLOEXEC): fd or -errno. */
int hm_open_ro(const char *path);

/* Identity of an open file: inode, device and size (fstat), and its memfd
 * seals (F_GET_SEALS; -1 when it is no memfd). 0 or -errno. */
int hm_fd_ident(int fd, uint64_t *ino, uint64_t *dev, uint64_t *size, int *seals);

void hm_close(int fd);

/* Open (creating, mode 0600) and flock(LOCK_EX | LOCK_NB) a lock file: fd,
 * or -EWOULDBLOCK while another open file holds it, or -errno. The lock
 * goes away with the fd (close, exit, SIGKILL). */
int hm_lock_file(const char *path);
/* Transparent huge page size on x86-64 (PMD): the unit the kernel migrates
 * a THP in. */
#define HM_HUGE_BYTES (2u * 1024 * 1024)

/* Anonymous private read/write mapping of len bytes whose address is a
 * multiple of `align` (a power of two, a multiple of the page size): over-map
 * by align and unmap the excess. NULL on failure (errno set). */
void *hm_map_aligned(size_t len, size_t align);

/* madvise(MADV_NOHUGEPAGE) on a page-aligned range. 0 or -errno (-EINVAL on
 * kernels without THP, where there is nothing to prevent). */
int hm_nohugepage(void *addr, size_t len);

/* move_pages on another process (or 0: this one) for the npages pages from
 * addr: node < 0 asks where they are, node >= 0 moves them there
 * (MPOL_MF_MOVE: only pages mapped by that process alone). Either way
 * status[i] ends as the page's node after the call, or -errno for that page
 * (-ENOENT never touched, -EFAULT unmapped or the zero page, -EBUSY/-ENOMEM
 * not moved). 0 or -errno (-EPERM / -ESRCH for the process). */
int hm_move_pages(int pid, uintptr_t addr, size_t npages, int node, int *status);

/* process_madvise(MADV_COLD) over n ranges of process pid: the kernel
 * clears the accessed bit of their pages *and flushes their TLB entries*
 * (clear_refs and DAMON clear the bit without a flush, so a page whose
 * translation stays cached is not marked again), and moves them to the
 * inactive LRU. Pages mapped by other processes too are left alone. n = 0
 * checks the right to do it. 0 or -errno (-EPERM without CAP_SYS_NICE,
 * -ENOSYS before 5.10, -ESRCH for the process). */
int hm_madvise_cold(int pid, const uintptr_t *starts, const size_t *lens, size_t n);

#ifdef __cplusplus
}
#endif

#endif
