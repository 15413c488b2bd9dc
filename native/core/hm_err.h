/* hm_err: how the core reports a failure (never by printing or exiting). */
#ifndef HM_ERR_H
#define HM_ERR_H

#include <stdint.h>

enum { HM_OK = 0, HM_E_NOMEM = 1, HM_E_SYS = 2, HM_E_NOTSUP = 3, HM_E_INVAL = 4 };

typedef struct hm_err {
  int code;            /* HM_E_* */
  int errnum;          /* errno for HM_E_SYS / HM_E_NOTSUP */
  const char *syscall; /* failing call for HM_E_SYS */
  int node;            /* node that could not hold the request (-1 if n/a) */
  uint64_t requested;  /* bytes requested */
  uint64_t available;  /* bytes the node(s) could give */
  uint64_t reserve;    /* bytes kept free on the node(s) */
  uint64_t committed;  /* bytes promised to lazy strict mappings, not yet faulted */
} hm_err;

static inline void hm_err_sys(hm_err *e, const char *call, int neg_errno) {
  e->code = HM_E_SYS;
  e->errnum = -neg_errno;
  e->syscall = call;
}

#endif
