/* uaccess.h: validated access to guest user memory from syscall handlers. */
#ifndef PDVM_UACCESS_H
#define PDVM_UACCESS_H

#include "types.h"

struct domain;

/* All return 0 on success or -EFAULT; the guest range must be mapped user
 * memory (and writable for copy_to_user), exactly as Linux checks it. */
int copy_from_user(struct domain *d, void *dst, gva_t src, size_t n);
/* The same for record/replay's own look at the memory: not an access of
 * the calling thread (no page-table view changes hands, vmm/crew.c). */
int peek_user(struct domain *d, void *dst, gva_t src, size_t n);
int copy_to_user(struct domain *d, gva_t dst, const void *src, size_t n);
int clear_user(struct domain *d, gva_t dst, size_t n);

/* Copies a NUL-terminated string of at most max-1 bytes plus NUL.
 * Returns its length, -EFAULT, or -ENAMETOOLONG when no NUL within max. */
long strncpy_from_user(struct domain *d, char *dst, gva_t src, size_t max);

/* Host pointer to guest memory for [gva, gva+len) when the whole range lies
 * in one contiguous guest-physical run with the needed access; NULL otherwise.
 * Only valid until the next memory-map change (hold the domain lock). */
void *user_ptr(struct domain *d, gva_t gva, size_t len, bool write);

#endif
